"""The fixed facts of MLPerf Inference Llama-3.1-8B, each with its source in mlcommons/inference.

Nothing here is tunable: these are the rules a submission is checked against.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .config import Category, Scenario

# language/llama3.1-8b/download_cnndm.py, instruction_template["llama"]; no chat template is used.
PROMPT_TEMPLATE = (
    "Summarize the following news article in 128 tokens. Please output the summary only, "
    "without any other text.\n\nArticle:\n{input}\n\nSummary:"
)

# inference_rules.adoc (Llama3.1-8B): greedy, min 1 / max 128 new tokens; SUT_VLLM.py SamplingParams.
MAX_NEW_TOKENS = 128
MIN_NEW_TOKENS = 1

# Llama-3.1 EOS ids (generation_config.json of Llama-3.1-8B-Instruct): end_of_text, eom, eot.
LLAMA31_EOS_IDS = (128001, 128008, 128009)

# loadgen/mlperf.conf (performance_sample_count_override, Offline.min_query_count) and
# submission_checker constants.py ("dataset-size").
DATASET_SIZE = {Category.DATACENTER: 13368, Category.EDGE: 5000}

# loadgen/mlperf.conf model keys.
LOADGEN_MODEL_DATACENTER = "llama3_1-8b"
LOADGEN_MODEL_EDGE = "llama3_1-8b-edge"
LOADGEN_MODEL_INTERACTIVE = "llama3_1-8b-interactive"

# loadgen/mlperf.conf *.{Offline,Server,SingleStream}.min_duration; checker TEST_DURATION_MS.
MIN_DURATION_MS = 600_000

# Scenarios each category may run (submission_checker loader.py check_scenarios).
ALLOWED_SCENARIOS = {
    Category.DATACENTER: (Scenario.OFFLINE, Scenario.SERVER, Scenario.INTERACTIVE),
    Category.EDGE: (Scenario.OFFLINE, Scenario.SINGLESTREAM),
}


@dataclass(frozen=True)
class TokenLatencyLimits:
    """p99 limits a Server-type run must stay under (checker LLM_LATENCY_LIMITS, mlperf.conf)."""

    ttft_ms: float
    tpot_ms: float


TOKEN_LATENCY_LIMITS = {
    Scenario.SERVER: TokenLatencyLimits(ttft_ms=2000.0, tpot_ms=100.0),
    Scenario.INTERACTIVE: TokenLatencyLimits(ttft_ms=500.0, tpot_ms=30.0),
}


@dataclass(frozen=True)
class AccuracyReference:
    """BF16 reference scores (README "Accuracy Target"; checker "accuracy-target")."""

    rouge1: float
    rouge2: float
    rougeL: float
    rougeLsum: float
    gen_len: int
    gen_num: int


ACCURACY_REFERENCE = {
    Category.DATACENTER: AccuracyReference(38.7792, 15.9075, 24.4957, 35.793, 8167644, 13368),
    Category.EDGE: AccuracyReference(39.06, 16.1147, 24.6375, 36.124, 3051113, 5000),
}

ROUGE_KEYS = ("rouge1", "rouge2", "rougeL", "rougeLsum")
# Checker: every ROUGE >= 99% of the reference; gen_len within [90%, 110%] ("accuracy-upper-limit").
ROUGE_FRACTION = 0.99
HIGH_ACCURACY_ROUGE_FRACTION = 0.999  # stricter than MLPerf: no 99.9% variant exists for this model
GEN_LEN_LOW_FRACTION = 0.90
GEN_LEN_HIGH_FRACTION = 1.10


def loadgen_model_name(category: Category, scenario: Scenario) -> str:
    """The mlperf.conf model key for a category and scenario."""
    if scenario is Scenario.INTERACTIVE:
        return LOADGEN_MODEL_INTERACTIVE
    return LOADGEN_MODEL_EDGE if category is Category.EDGE else LOADGEN_MODEL_DATACENTER


# Seeds compiled into LoadGen's mlperf.conf per round (checker "seeds"; git log -- loadgen/mlperf.conf).
# The checker rejects logs whose seeds are not the round's: use a LoadGen build of that round.
ROUND_SEEDS = {
    "v5.1": (1780908523862526354, 14771362308971278857, 18209322760996052031),
    "v6.0": (2465351861681999779, 14276810075590677512, 3936089224930324775),
    "v6.1": (2085463073848966840, 2747215439041700203, 16159082839903944936),
}

# LoadGen (results.cc, early stopping for SingleStream's 90th percentile): "Need to process at least 64
# queries for early stopping"; a shorter SingleStream run is INVALID however fast it is.
SINGLESTREAM_EARLY_STOPPING_MIN_QUERIES = 64

# LoadGen's early stopping for Server-type runs (loadgen/results.cc EarlyStopping, early_stopping.cc): with t
# of the n queries over a latency limit, the run passes only if n >= h + t, where h is the fewest passing
# queries for which P(Binomial(h + t, 1 - percentile) <= t) < 1 - confidence (tolerance 0). With no query
# over the limit that is 459 queries; TTFT and TPOT are checked separately.
EARLY_STOPPING_PERCENTILE = 0.99
EARLY_STOPPING_CONFIDENCE = 0.99


def _binomial_cdf(k: int, n: int, p: float) -> float:
    """P(Binomial(n, p) <= k)."""
    log_p, log_q = math.log(p), math.log1p(-p)
    base = math.lgamma(n + 1)
    return min(1.0, sum(math.exp(base - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * log_p + (n - i) * log_q)
                        for i in range(0, min(k, n) + 1)))


def early_stopping_min_queries(over_limit: int, percentile: float = EARLY_STOPPING_PERCENTILE,
                               confidence: float = EARLY_STOPPING_CONFIDENCE) -> int:
    """The fewest queries with which LoadGen's early stopping passes when `over_limit` of them are over."""
    t = max(0, int(over_limit))
    lo, hi = 1, 1
    while _binomial_cdf(t, hi + t, 1 - percentile) >= 1 - confidence:
        lo, hi = hi + 1, hi * 2
    while lo < hi:  # the CDF falls as passing queries are added: bisect for the fewest
        mid = (lo + hi) // 2
        if _binomial_cdf(t, mid + t, 1 - percentile) < 1 - confidence:
            hi = mid
        else:
            lo = mid + 1
    return lo + t


def early_stopping_queries_for_share(over_share: float) -> int:
    """The fewest queries with which early stopping passes when a share `over_share` of them is over a limit
    (must be below 1 - percentile: at the percentile itself no run length suffices)."""
    limit = round(1 - EARLY_STOPPING_PERCENTILE, 12)  # 0.01, not 0.010000000000000009
    if not 0 <= over_share < limit:
        raise ValueError(f"over_share must be in [0, {limit:g})")
    n = early_stopping_min_queries(0)
    for _ in range(10_000):  # converges in a few steps for any share below the limit
        need = early_stopping_min_queries(math.ceil(over_share * n))
        if n >= need:
            return n
        n = max(n + 1, need)
    raise ValueError(f"no run length passes early stopping with {over_share:.3%} of its queries over the limit")


# LoadGen's query count for a performance test (loadgen.cc GenerateQueries, test_settings_internal.cc). With
# sample_concatenate_permutation ("equal issue", on for this model in mlperf.conf) every test issues whole
# passes over the performance sample set: a Server-type schedule of 600 s at 40 QPS (24,000 queries) is
# padded to 26,736 (two passes of 13,368) and lasts about 668 s.
OFFLINE_SAMPLE_SLACK = 1.1  # Offline issues 1.1 x min_duration x expected QPS samples in its one query
SINGLESTREAM_QUERY_SLACK = 2.0


def performance_queries(scenario: Scenario, target_qps: float, min_duration_ms: int, min_query_count: int,
                        sample_count: int, equal_issue: bool) -> int:
    """How many queries (Offline: samples of its one query) LoadGen issues in a performance test.

    Server and Interactive: enough for min_duration at target_qps (the Poisson schedule's count, to within a
    few queries) and at least min_query_count, rounded up to whole passes over the sample set under equal
    issue. SingleStream: twice the duration at the expected latency, then a pass more (LoadGen adds a full
    pass even to a whole number of passes). The test also runs until min_duration has passed, so a slower
    system than expected runs longer, never shorter."""
    seconds = min_duration_ms / 1000
    n = max(1, sample_count)
    if scenario is Scenario.OFFLINE:
        queries = max(min_query_count, int(OFFLINE_SAMPLE_SLACK * seconds * target_qps))
    elif scenario is Scenario.SINGLESTREAM:
        queries = max(min_query_count, int(SINGLESTREAM_QUERY_SLACK * seconds * target_qps))
        return queries + n - queries % n if equal_issue else queries
    else:
        queries = max(min_query_count, math.ceil(seconds * target_qps))
    if equal_issue and queries % n:
        queries += n - queries % n
    return queries
