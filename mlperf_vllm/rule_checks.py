"""Run settings that break an MLPerf rule the Llama-3.1-8B benchmark is judged by, found in the run's
configuration (flags, --preset, --engine-arg) and in the settings LoadGen reports it used.

The rules are mlcommons/inference_policies inference_rules.adoc. Two outcomes:
- refused before anything starts (exit 2): sampling settings given as --engine-arg, and settings the
  engine of --backend openai never sees. run.py sends MLPerf's greedy settings with every request itself,
  so these could only fail the engine start, do nothing, or mislead.
- run, but marked not valid for submission: settings that change the speed or the outputs in a way the
  rules forbid (prefix caching, speculative decoding, other weights, another output length). Measuring
  them is a fair experiment; summary.json, report.md and the console say which rule the run breaks, and
  --submission-dir never packs it.
Pure: configurations in (RunConfig.to_dict() or a summary's "config"), sentences out.
"""

from __future__ import annotations

import json
from typing import Any

from . import rules
from .errors import UsageError

# inference_rules.adoc, each with the section that says it.
CACHING = ("MLPerf forbids caching across queries (inference_rules.adoc, Model Equivalence: \"Caching queries or "
           "responses\" is disallowed; FAQ: a KV cache may be used only within a query)")
SPECULATIVE = ("speculative decoding is allowed only for DeepSeek-r1 and GPT-OSS-120B Interactive and Qwen3.6-27B "
               "Edge-Agentic, not for Llama3.1-8B (inference_rules.adoc, Model Equivalence)")
WEIGHTS = ("the closed division runs the reference model with its weights: no weight replacement, no pruning "
           "(inference_rules.adoc, Model Equivalence)")
GREEDY = "Llama3.1-8B uses greedy search over the model's own logits (inference_rules.adoc, FAQ on generation)"
TOKENS = (f"Llama3.1-8B generates at least {rules.MIN_NEW_TOKENS} and at most {rules.MAX_NEW_TOKENS} new tokens "
          "(inference_rules.adoc, Additional inference parameters)")
DURATION = (f"a performance run lasts at least {rules.MIN_DURATION_MS // 1000} s (loadgen/mlperf.conf; the checker's "
            "TEST_DURATION_MS)")
SAMPLES = "the whole data set is the performance sample set (mlperf.conf; the checker's performance-sample-count)"

# Sampling settings: SamplingParams fields, not engine arguments. MLPerf fixes them for this benchmark.
SAMPLING_KEYS = frozenset({
    "temperature", "top_p", "top_k", "min_p", "max_tokens", "min_tokens", "max_new_tokens", "min_new_tokens",
    "repetition_penalty", "presence_penalty", "frequency_penalty", "n", "best_of", "use_beam_search", "beam_width",
    "num_beams", "length_penalty", "do_sample", "ignore_eos", "stop", "stop_token_ids", "logit_bias",
    "allowed_token_ids", "bad_words",
})
# Engine arguments that only set sampling defaults, which requests with their own settings never use.
GENERATION_DEFAULT_KEYS = frozenset({"override_generation_config", "generation_config"})
# Engine arguments whose non-empty value breaks a rule (the vLLM EngineArgs fields), with the rule.
MARKED_KEYS = {
    "enable_prefix_caching": CACHING,
    "kv_offloading_size": CACHING,  # KV blocks kept in host memory for later requests with the same prefix
    "kv_offloading_backend": CACHING,
    "speculative_config": SPECULATIVE,
    "spec_method": SPECULATIVE,
    "spec_model": SPECULATIVE,
    "spec_tokens": SPECULATIVE,
    "hf_overrides": WEIGHTS,  # another model configuration (e.g. fewer layers) over the reference weights
    "logits_processors": GREEDY,
}
# KV connectors that keep KV blocks for reuse by later requests (LMCache, vLLM's offloading connector);
# disaggregated prefill (Nixl, P2P NCCL) moves one request's KV cache and is allowed.
CACHING_CONNECTORS = ("lmcache", "offload")
_OFF = ("", "0", "false", "no", "off", "none", "null")


def _on(value: Any) -> bool:
    """Whether an --engine-arg value turns its setting on (vLLM takes any truthy value as on)."""
    if isinstance(value, str):
        return value.strip().lower() not in _OFF
    return bool(value) if isinstance(value, (bool, int, float, list, dict)) else value is not None


def _shown(key: str, value: Any) -> str:
    return f"--engine-arg {key}={json.dumps(value) if not isinstance(value, str) else value}"


def refuse(config: dict[str, Any]) -> None:
    """UsageError (exit 2) for a setting that can only fail, do nothing or mislead; see the module doc."""
    engine = config.get("engine") or {}
    extra = engine.get("extra") or {}
    for key in sorted(extra):
        if key in SAMPLING_KEYS:
            raise UsageError(f"--engine-arg {key} is a sampling setting, not an engine argument: MLPerf fixes "
                             f"Llama3.1-8B's sampling to greedy search with {rules.MIN_NEW_TOKENS} to "
                             f"{rules.MAX_NEW_TOKENS} new tokens (inference_rules.adoc) and run.py sends exactly "
                             "that with every request; drop it (--max-new-tokens shortens outputs for experiments).")
        if key in GENERATION_DEFAULT_KEYS:
            raise UsageError(f"--engine-arg {key} would have no effect: it sets sampling defaults, and run.py sends "
                             "MLPerf's greedy settings (temperature 0, top_k 1, 1 to 128 new tokens) with every "
                             "request; drop it.")
    if config.get("backend") == "openai":
        checked = [k for k in sorted(extra) if k in MARKED_KEYS or k in ("kv_transfer_config", "load_format")]
        if checked:
            raise UsageError(f"--engine-arg {checked[0]} does not reach the servers of --backend openai (run.py only "
                             "sends them requests); drop it and set it where the servers start (prefix caching off: "
                             "vllm serve --no-enable-prefix-caching).")


def rule_breaks(config: dict[str, Any]) -> list[str]:
    """Each setting of this configuration that breaks a rule of the benchmark, with the rule, in words."""
    if not isinstance(config, dict):
        return []
    engine = config.get("engine") if isinstance(config.get("engine"), dict) else {}
    extra = engine.get("extra") if isinstance(engine.get("extra"), dict) else {}
    out = []
    for key in sorted(extra):
        value = extra[key]
        if key in MARKED_KEYS and _on(value):
            out.append(f"{_shown(key, value)}: {MARKED_KEYS[key]}")
        elif key == "kv_transfer_config" and any(c in json.dumps(value).lower() for c in CACHING_CONNECTORS):
            out.append(f"{_shown(key, value)}: keeps KV blocks for later requests; {CACHING}")
    if extra.get("load_format", engine.get("load_format")) == "dummy":
        shown = "--engine-arg load_format=dummy" if "load_format" in extra else "--load-format dummy"
        out.append(f"{shown} (random weights): {WEIGHTS}")
    max_new = config.get("max_new_tokens")
    if isinstance(max_new, int) and not isinstance(max_new, bool) and max_new != rules.MAX_NEW_TOKENS:
        out.append(f"--max-new-tokens {max_new}: {TOKENS}")
    return out


def loadgen_rule_breaks(config: dict[str, Any], settings: dict[str, Any]) -> list[str]:
    """Rules a --user-conf broke, from the settings LoadGen reports in its detail log (the values the
    submission checker reads). Without --user-conf, run.py wrote the user.conf from flags that are
    checked elsewhere (--min-duration, --total-sample-count)."""
    if not isinstance(config, dict) or not config.get("user_conf") or not isinstance(settings, dict):
        return []
    official = {c.value: n for c, n in rules.DATASET_SIZE.items()}.get(str(config.get("category")))

    def number(key: str) -> float | None:
        value = settings.get(key)
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None

    out = []
    duration = number("effective_min_duration_ms")
    if duration is not None and duration < rules.MIN_DURATION_MS:
        out.append(f"--user-conf sets min_duration {duration / 1000:g} s: {DURATION}")
    perf_count = number("effective_performance_sample_count")
    if official and perf_count is not None and perf_count < official:
        out.append(f"--user-conf sets performance_sample_count_override {perf_count:g} of {official}: {SAMPLES}")
    per_query = number("effective_samples_per_query")
    if official and config.get("scenario") == "offline" and per_query is not None and per_query < official:
        out.append(f"--user-conf makes Offline's query {per_query:g} samples, fewer than the {official} the checker "
                   "requires (OFFLINE_MIN_SPQ)")
    if settings.get("requested_use_token_latencies") is False:
        out.append("--user-conf turns use_token_latencies off: the checker requires token latencies for LLMs")
    return out
