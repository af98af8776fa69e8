"""summary.json: the versioned, self-contained record of one run (schema documented in the README)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import socket
from dataclasses import dataclass, field
from typing import Any

from .. import rule_checks, rules
from ..config import Backend, Device, Mode, QpsPolicy, RunConfig, Scenario

SCHEMA_VERSION = 1
_ENGINE_KEYS = ("model", "dtype", "quantization", "kv_cache_dtype", "tensor_parallel_size", "data_parallel_size",
                "max_num_seqs", "max_num_batched_tokens", "enforce_eager", "load_format", "extra")
# What bounds the rate a Server run can reach: the model, its numerics and the GPUs, not the scheduler knobs
# that each scenario's preset tunes differently.
_CEILING_KEYS = ("model", "dtype", "quantization", "kv_cache_dtype", "tensor_parallel_size", "data_parallel_size",
                 "load_format")


@dataclass(frozen=True)
class TestRecord:
    """One LoadGen test as the summary lists it."""

    mode: Mode
    log_dir: str  # relative to the run folder
    seconds: float
    samples_completed: int
    engine_errors: int
    error_causes: dict[str, int] = field(default_factory=dict)  # message (variable parts masked) -> samples
    gc: dict[str, Any] | None = None  # the garbage collector's pauses during the test (mlperf/gcpause.py)
    machine: dict[str, Any] | None = None  # the host's and GPUs' state during the test (mlperf/machine.py)


@dataclass
class RunOutcome:
    """What a run produced so far; only the orchestrator assembles it, from the values its steps return."""

    run_id: str
    started_at: str
    command: list[str]
    dataset: dict[str, Any]
    environment: dict[str, Any] = field(default_factory=dict)
    engine_start_s: float | None = None
    tests: list[TestRecord] = field(default_factory=list)
    performance: dict[str, Any] | None = None  # LoadGen's parsed record of Performance/
    accuracy: dict[str, Any] | None = None
    timings: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    search: dict[str, Any] | None = None
    compliance: dict[str, Any] | None = None
    repeats: list[dict[str, Any]] = field(default_factory=list)  # --repeat: the tests after the first
    tune: dict[str, Any] | None = None  # the run that confirms a tune (run.py --tune): what the tune measured


def repeat_entry(cfg: RunConfig, log_dir: str, record: dict[str, Any] | None, engine_errors: int) -> dict[str, Any]:
    """One repeat of the performance test as the summary lists it (its LoadGen verdict and headline metric)."""
    record = record or {}
    lat = {k: record.get(k) or {} for k in ("ttft_ns", "tpot_ns", "latency_ns")}
    return {"log_dir": log_dir, "valid": bool(record.get("valid")) and not engine_errors,
            "value": headline(cfg, record or None).get("value"), "engine_errors": engine_errors,
            "p99_ttft_ms": _ms(lat["ttft_ns"].get("99.00")),
            "p99_tpot_ms": _ms(lat["tpot_ns"].get("99.00")),
            "p90_latency_ms": _ms(lat["latency_ns"].get("90.00"))}


def _diff_pct(value: float | None, first: dict[str, Any] | None) -> float | None:
    base = (first or {}).get("headline", {}).get("value")
    return None if not base or value is None else round(100 * (value - base) / base, 3)


def repeats_section(first: dict[str, Any] | None, repeats: list[dict[str, Any]], first_valid: bool
                    ) -> dict[str, Any] | None:
    """--repeat: every repeat with its difference from the first test's metric, and the largest difference."""
    if not repeats:
        return None
    tests = [r | {"diff_pct": _diff_pct(r.get("value"), first)} for r in repeats]
    diffs = [abs(t["diff_pct"]) for t in tests if t["diff_pct"] is not None]
    return {"tests": tests, "count": len(tests) + 1, "all_valid": first_valid and all(t["valid"] for t in tests),
            "max_abs_diff_pct": max(diffs) if diffs else None}


def repeat_line(entry: dict[str, Any], first: dict[str, Any] | None) -> str:
    """'VALID, 7,890.10 (-0.30% from the first)' for run.log."""
    value, diff = entry.get("value"), _diff_pct(entry.get("value"), first)
    shown = "no metric" if value is None else f"{value:,.2f}"
    return f"{'VALID' if entry['valid'] else 'INVALID'}, {shown}" + ("" if diff is None else
                                                                    f" ({diff:+.2f}% from the first)")


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def engine_digest(cfg: RunConfig) -> str:
    """Identifies 'the same model and engine settings' across runs (for --server-target-qps auto)."""
    e = cfg.engine.to_dict()
    return _digest({k: e.get(k) for k in _ENGINE_KEYS} | {"max_new_tokens": cfg.max_new_tokens})


def ceiling_digest(cfg: RunConfig) -> str:
    """Identifies runs whose Offline rate bounds this run's Server rate (same model, numerics and GPUs)."""
    e = cfg.engine.to_dict()
    return _digest({k: e.get(k) for k in _CEILING_KEYS} | {"max_new_tokens": cfg.max_new_tokens})


# LoadGen reports a latency it could not compute (e.g. TPOT of a sample that failed with no tokens)
# as about INT64_MAX ns; anything past a day is such a value, not a measurement.
IMPOSSIBLE_NS = 86_400 * 10**9


def _ms(ns: Any) -> float | None:
    return None if ns is None or float(ns) >= IMPOSSIBLE_NS else round(float(ns) / 1e6, 3)


# A cause keeps what names it (an HTTP status, an errno: 429 and 500 are different causes) and masks what
# varies from sample to sample (ids, ports, counts, durations), which would split one cause into many.
_CAUSE_PARTS = re.compile(
    r"(?P<keep>\b(?:HTTP|[Ss]tatus(?: code)?|[Ee]rrno)[ =:/]*\d+\b)"
    r"|(?P<id>\b(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[\w-]{16,}\b)"  # request ids, uuids: letters and digits
    r"|\d+(?:\.\d+)?")


def _mask_cause(match: re.Match[str]) -> str:
    return match.group("keep") or "#"


def error_causes(messages: list[str]) -> dict[str, int]:
    """Failed samples counted by cause (the message with its variable parts masked), most frequent first."""
    counts: dict[str, int] = {}
    for message in messages:
        first = message.strip().splitlines()[0] if message.strip() else "unknown"
        key = _CAUSE_PARTS.sub(_mask_cause, first)[:160]
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def performance_section(cfg: RunConfig, record: dict[str, Any] | None) -> dict[str, Any] | None:
    """The seed's flat fields (tokens_per_sec, ...) plus LoadGen's full parsed record."""
    if record is None:
        return None
    t = record["throughput"]
    streaming = cfg.scenario is not Scenario.OFFLINE
    tokens = t["completed_tokens_per_s"] if streaming else t["tokens_per_s"]
    samples = t["completed_samples_per_s"] if streaming else t["samples_per_s"]
    return {
        "tokens_per_sec": tokens,
        "samples_per_sec": samples,
        "scheduled_samples_per_sec": t["scheduled_samples_per_s"],
        "p99_ttft_ms": _ms(record["ttft_ns"].get("99.00")),
        "p99_tpot_ms": _ms(record["tpot_ns"].get("99.00")),
        "p90_latency_ms": _ms(record["latency_ns"].get("90.00")),
        "p99_latency_ms": _ms(record["latency_ns"].get("99.00")),
        "result_validity": record["result_validity"],
        "loadgen": record,
    }


_MORE_QUERIES = re.compile(r"at least (\d+) more queries")


def _early_stopping_reason(record: dict[str, Any]) -> str:
    """Why LoadGen's early stopping failed: a p99 over its limit (no run length passes) or a run too short
    for the bound (LoadGen says how many more queries it would need)."""
    if record["validity_checks"].get("perf_constraints_met") is False:
        return "early stopping not met: more than 1% of queries are over a latency limit (no run length passes)"
    asked = [int(m.group(1)) for text in (record.get("early_stopping") or {}).values() if isinstance(text, str)
             for m in _MORE_QUERIES.finditer(text)]
    more = f" (LoadGen asks for at least {max(asked):,} more)" if asked else ""
    return (f"early stopping not met: too few queries for LoadGen's bound on the percentile{more}: "
            "run longer (--min-duration)")


VLLM_GRAPH_TOKENS = 512  # vLLM captures CUDA graphs for steps up to min(2 x max_num_seqs, 512) tokens by default
_GRAPH_KEYS = {"cudagraph_capture_sizes", "compilation_config"}  # the user sizes the graphs another way


def graph_hint(cfg: RunConfig) -> str:
    """The lever beside a lower rate when TPOT is over: steps larger than vLLM's CUDA graphs run launch by launch.

    Measured on an H200 in Interactive (BENCHMARKS.md): graphs up to the 2,048-token step budget instead of 512
    cut mean / p99 TPOT from 16.9 / 31.1 ms to 10.6 / 16.5 ms at the same rate.
    """
    engine = cfg.engine
    if cfg.backend is not Backend.VLLM or cfg.device is not Device.CUDA or engine.enforce_eager:
        return ""
    budget = engine.max_num_batched_tokens
    if not budget or _GRAPH_KEYS & engine.extra.keys():
        return ""
    captured = engine.extra.get("max_cudagraph_capture_size")
    if captured is None:
        captured = min(2 * engine.max_num_seqs, VLLM_GRAPH_TOKENS) if engine.max_num_seqs else VLLM_GRAPH_TOKENS
    if not isinstance(captured, int) or captured >= budget:
        return ""
    return (f", or capture CUDA graphs for every step: --engine-arg max_cudagraph_capture_size={budget} "
            f"(steps over {captured:,} tokens ran without them)")


def validity_reasons(cfg: RunConfig, record: dict[str, Any] | None, causes: dict[str, int]) -> list[str]:
    """Why a performance run is INVALID, in words, from LoadGen's own checks."""
    if record is None:
        return []
    reasons = []
    checks = record["validity_checks"]
    if checks.get("min_duration_met") is False:
        reasons.append("minimum duration not met: raise the expected QPS (Offline) or run longer")
    if checks.get("min_queries_met") is False:
        reasons.append("minimum query count not met")
    if checks.get("early_stopping_met") is False:
        reasons.append(_early_stopping_reason(record))
    if checks.get("perf_constraints_met") is False:
        limits = rules.TOKEN_LATENCY_LIMITS.get(cfg.scenario)
        ttft, tpot = _ms(record["ttft_ns"].get("99.00")), _ms(record["tpot_ns"].get("99.00"))
        detail = []
        if limits and ttft is not None and ttft > limits.ttft_ms:
            detail.append(f"p99 TTFT {ttft:,.1f} ms > {limits.ttft_ms:,.0f} ms")
        tpot_over = bool(limits and tpot is not None and tpot > limits.tpot_ms)
        if tpot_over:
            detail.append(f"p99 TPOT {tpot:,.1f} ms > {limits.tpot_ms:,.0f} ms")
        reasons.append("latency constraints not met" + (f" ({'; '.join(detail)})" if detail else "")
                       + ": lower --server-target-qps" + (graph_hint(cfg) if tpot_over else ""))
    if record.get("num_errors"):
        reasons.append(f"LoadGen logged {record['num_errors']} errors (see mlperf_log_detail.txt)")
    if causes:
        detail = "; ".join(f"{n} x {cause}" for cause, n in list(causes.items())[:3])
        more = f"; {len(causes) - 3} other causes (run.log)" if len(causes) > 3 else ""
        reasons.append(f"{sum(causes.values())} samples failed in the engine: {detail}{more}")
    if any(v is not None and float(v) >= IMPOSSIBLE_NS for key in ("ttft_ns", "tpot_ns", "latency_ns")
           for v in record[key].values()):
        reasons.append("some LoadGen percentiles are not measurements (failed samples have no tokens); "
                       "they are left out of the report")
    return reasons


def submission_blockers(cfg: RunConfig, record: dict[str, Any] | None, accuracy_passed: bool | None) -> list[str]:
    """Why this run could not go into an MLPerf submission as it is (empty: nothing found)."""
    out = []
    official = rules.DATASET_SIZE[cfg.category]
    if cfg.total_sample_count < official:
        out.append(f"partial data set: {cfg.total_sample_count} of {official} samples")
    if not cfg.submittable_duration:
        out.append(f"--min-duration {cfg.min_duration_ms / 1000:g} s is below MLPerf's {rules.MIN_DURATION_MS // 1000} s")
    if cfg.dataset.value in ("synthetic", "demo"):
        out.append(f"--dataset {cfg.dataset.value} is not the official CNN/DailyMail set")
    if cfg.mode is not Mode.BOTH:
        out.append("a submission needs both the accuracy and the performance test")
    if accuracy_passed is False:
        out.append("accuracy gate failed")
    if cfg.category.value == "datacenter" and not cfg.compliance_test06:
        out.append("datacenter submissions need TEST06 (--compliance-test06)")
    if record is not None:
        settings = record.get("settings", {})
        seeds = (settings.get("effective_qsl_rng_seed"), settings.get("effective_sample_index_rng_seed"),
                 settings.get("effective_schedule_rng_seed"))
        if None not in seeds and tuple(int(s) for s in seeds) != rules.ROUND_SEEDS.get(cfg.version):
            out.append(f"LoadGen's seeds are not those of round {cfg.version}: use the LoadGen release of that round")
    return out


def headline(cfg: RunConfig, record: dict[str, Any] | None) -> dict[str, Any]:
    """The checker's metric for the scenario (tokens/s, or p90 latency for SingleStream)."""
    if record is None:
        return {"name": None, "value": None, "unit": None}
    h = dict(record["headline"])
    h.pop("key", None)
    return h


def build(cfg: RunConfig, out: RunOutcome, status: str, tool_version: str) -> dict[str, Any]:
    """The whole summary of a run from its configuration and what it produced."""
    record = out.performance
    gate = (out.accuracy or {}).get("gate")
    accuracy_passed = None if gate is None else bool(gate["passed"])
    # errors of the performance run whose logs are the result (not of attempts kept under Search/)
    causes: dict[str, int] = {}
    for t in out.tests:
        if t.mode is Mode.PERFORMANCE and t.log_dir == "Performance":
            for cause, n in t.error_causes.items():
                causes[cause] = causes.get(cause, 0) + n
    reasons = validity_reasons(cfg, record, causes)
    perf_verdict = None
    if record is not None:
        perf_verdict = "VALID" if record.get("valid") and not reasons else "INVALID"
    broken = rule_checks.rule_breaks(cfg.to_dict()) + rule_checks.loadgen_rule_breaks(
        cfg.to_dict(), (record or {}).get("settings") or {})
    blockers = broken + submission_blockers(cfg, record, accuracy_passed)
    t06 = (out.compliance or {}).get("TEST06")
    if t06 is not None and not t06["passed"]:
        blockers.append("TEST06 failed: " + ("; ".join(t06["problems"][:2]) or "audit.config not applied"))
    tests = [{"mode": t.mode.value, "seconds": round(t.seconds, 3), "samples_completed": t.samples_completed,
              "engine_errors": t.engine_errors, "error_causes": t.error_causes, "log_dir": t.log_dir, "gc": t.gc,
              "machine": t.machine}
             for t in out.tests]
    notes = list(out.notes)
    for t in out.tests:
        if t.mode is Mode.ACCURACY and t.error_causes:
            notes.append(f"accuracy test: {t.engine_errors} samples failed in the engine ("
                         + "; ".join(f"{n} x {c}" for c, n in t.error_causes.items()) + "); their outputs are empty")
    if cfg.qps_policy is QpsPolicy.AUTO:
        notes.append(f"target QPS is a guess ({cfg.target_qps_note}), not a measured maximum: "
                     "--server-target-qps search finds one")
    return {
        "schema_version": SCHEMA_VERSION,
        "status": status,
        "kind": "benchmark",
        "meta": {"run_id": out.run_id, "started_at": out.started_at,
                 "updated_at": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
                 "tool_version": tool_version, "command": out.command, "host": socket.gethostname(),
                 "pid": os.getpid()},
        "system": out.environment,
        "config": cfg.to_dict(),
        "config_digest": _digest(cfg.to_dict()),
        "engine_digest": engine_digest(cfg),
        "ceiling_digest": ceiling_digest(cfg),
        "loadgen_model": rules.loadgen_model_name(cfg.category, cfg.scenario),
        "dataset": out.dataset,
        "engine_start_s": out.engine_start_s,
        "tests": tests,
        "headline": headline(cfg, record),
        "run": {
            "performance": performance_section(cfg, record),
            "accuracy": None if out.accuracy is None else {
                "rouge": {k: out.accuracy["scores"][k] for k in rules.ROUGE_KEYS},
                "gen_len": out.accuracy["scores"]["gen_len"], "gen_num": out.accuracy["scores"]["gen_num"],
                "gate": gate},
        },
        "validity": {
            "performance": perf_verdict,
            "reasons": reasons,
            "accuracy": None if gate is None else gate["verdict"],
            "accuracy_indicative_only": None if gate is None else gate["indicative_only"],
            "submittable": status == "completed" and perf_verdict == "VALID" and not blockers,
            "not_submittable_because": blockers,
            "rule_breaks": broken,  # settings that break a rule of the benchmark: never packed
        },
        "limits": _limits(cfg),
        "qps_search": out.search,
        "tune": out.tune,
        "compliance": out.compliance,
        "repeats": repeats_section(record, out.repeats, perf_verdict == "VALID"),
        "sut_timing_stats": {k: sut_timing_stats(v) for k, v in out.timings.items()} if cfg.extra_metrics else None,
        "notes": notes,
        "paths": {"performance_logs": "Performance" if record else None,
                  "accuracy_logs": "Accuracy" if out.accuracy else None,
                  "report": "report.md", "plots": "plots", "run_log": "run.log"},
    }


def sut_timing_stats(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Percentiles of the SUT's own per-sample timings (ms, from issue; LoadGen's figures are official)."""
    import numpy as np

    out: dict[str, Any] = {"samples": len(rows), "errors": sum(1 for r in rows if r.get("error"))}
    for key in ("ttft_ms", "tpot_ms", "latency_ms"):
        vals = np.asarray([r[key] for r in rows if r.get(key) is not None], dtype=float)
        out[key] = None if not len(vals) else {
            "p50": round(float(np.percentile(vals, 50)), 3), "p90": round(float(np.percentile(vals, 90)), 3),
            "p99": round(float(np.percentile(vals, 99)), 3), "mean": round(float(vals.mean()), 3)}
    return out


def _limits(cfg: RunConfig) -> dict[str, Any]:
    lim = rules.TOKEN_LATENCY_LIMITS.get(cfg.scenario)
    return {"p99_ttft_ms": lim.ttft_ms if lim else None, "p99_tpot_ms": lim.tpot_ms if lim else None,
            "min_duration_ms": cfg.min_duration_ms if cfg.min_duration_ms is not None else rules.MIN_DURATION_MS}
