"""Parse LoadGen's mlperf_log_summary.txt and mlperf_log_detail.txt into one structured record.

LoadGen's numbers are the numbers: nothing here recomputes a metric; it only reads what LoadGen
wrote (the detail log's :::MLLOG JSON lines first, the summary text where the detail lacks a value).
Works for logs of any LoadGen run, not only this tool's.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SUMMARY_FILE = "mlperf_log_summary.txt"
DETAIL_FILE = "mlperf_log_detail.txt"
ACCURACY_FILE = "mlperf_log_accuracy.json"
PERCENTILES = ("50.00", "90.00", "95.00", "97.00", "99.00", "99.90")


class LogParseError(ValueError):
    """The directory does not hold readable LoadGen logs."""


@dataclass
class DetailLog:
    """The :::MLLOG records of a detail log: last value per key, plus errors and warnings, and the numbers of
    the :::MLLOG lines that are not LoadGen records (skipped)."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)


# Keys this module reads as text; every key it reads holds a single value (LoadGen writes no lists or objects).
TEXT_KEYS = ("effective_scenario", "effective_test_mode", "result_validity", "loadgen_version", "test_datetime")
_SCALAR = (str, int, float, bool, type(None))


def _record(line: str) -> tuple[str, Any, dict[str, Any], Any] | None:
    """(key, value, metadata, time_ms) of one :::MLLOG line, or None when it is not a LoadGen record: not
    JSON, not an object, no string "key" or no "value", or a value of a shape LoadGen never writes."""
    try:
        rec = json.loads(line[len(":::MLLOG"):].strip())
    except (json.JSONDecodeError, RecursionError):
        return None
    if not isinstance(rec, dict) or not isinstance(rec.get("key"), str) or "value" not in rec:
        return None
    key, value = rec["key"], rec["value"]
    if not isinstance(value, _SCALAR) or (key in TEXT_KEYS and not isinstance(value, str)):
        return None
    meta = rec.get("metadata")
    return key, value, meta if isinstance(meta, dict) else {}, rec.get("time_ms")


def parse_detail(text: str) -> DetailLog:
    """Read every `:::MLLOG {json}` line; a line that is not a LoadGen record is skipped and its number kept."""
    out = DetailLog()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.startswith(":::MLLOG"):
            continue
        rec = _record(line)
        if rec is None:
            out.skipped.append(number)
            continue
        key, value, meta, time_ms = rec
        if meta.get("is_error"):
            out.errors.append({"key": key, "value": value, "time_ms": time_ms})
        elif meta.get("is_warning"):
            out.warnings.append({"key": key, "value": value, "time_ms": time_ms})
        out.values[key] = value
    return out


_SUMMARY_LINE = re.compile(r"^\s*([^:]+?)\s*:\s*(.*?)\s*$")


def parse_summary(text: str) -> dict[str, str]:
    """`key : value` lines of the summary, first occurrence wins (sections repeat some keys)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("=") or line.startswith(" *"):
            continue
        m = _SUMMARY_LINE.match(line)
        if m and m.group(1) not in out:
            out[m.group(1)] = m.group(2)
    return out


def _num(value: Any) -> float | int | None:
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    try:
        f = float(str(value))
    except ValueError:
        return None
    return int(f) if f.is_integer() and "." not in str(value) and "e" not in str(value).lower() else f


def _yes(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if value is None:
        return None
    return str(value).strip().lower() in ("yes", "true", "1")


def _percentiles(v: dict[str, Any], fmt: str) -> dict[str, float | int | None]:
    return {p: _num(v.get(fmt.format(p=p))) for p in PERCENTILES}


def _scenario_metric(scenario: str, v: dict[str, Any]) -> dict[str, Any]:
    """The checker's headline metric (RESULT_FIELD_BENCHMARK_OVERWRITE for llama3.1-8b)."""
    if scenario == "Offline":
        return {"name": "tokens_per_s", "key": "result_tokens_per_second", "unit": "tokens/s",
                "value": _num(v.get("result_tokens_per_second"))}
    if scenario == "Server":
        return {"name": "completed_tokens_per_s", "key": "result_completed_tokens_per_second",
                "unit": "tokens/s", "value": _num(v.get("result_completed_tokens_per_second"))}
    if scenario == "SingleStream":
        p90 = _num(v.get("result_90.00_percentile_latency_ns"))
        return {"name": "p90_latency_ms", "key": "result_90.00_percentile_latency_ns", "unit": "ms",
                "value": None if p90 is None else p90 / 1e6}
    return {"name": None, "key": None, "unit": None, "value": None}


def performance_record(detail: DetailLog, summary: dict[str, str]) -> dict[str, Any]:
    """One structured record of a LoadGen run (schema documented in the README)."""
    v = detail.values
    scenario = v.get("effective_scenario") or summary.get("Scenario")
    mode = v.get("effective_test_mode") or summary.get("Mode")
    validity = v.get("result_validity") or (summary.get("Result is") or None)
    record: dict[str, Any] = {
        "scenario": scenario,
        "mode": mode,
        "loadgen_version": v.get("loadgen_version"),
        "test_datetime": v.get("test_datetime"),
        "result_validity": validity,
        "valid": validity == "VALID" if validity else None,
        "validity_checks": {
            "min_duration_met": _yes(v.get("result_min_duration_met", summary.get("Min duration satisfied"))),
            "min_queries_met": _yes(v.get("result_min_queries_met", summary.get("Min queries satisfied"))),
            "perf_constraints_met": _yes(v.get("result_perf_constraints_met",
                                               summary.get("Performance constraints satisfied"))),
            "early_stopping_met": _yes(v.get("early_stopping_met", summary.get("Early stopping satisfied"))),
        },
        "early_stopping": {k: v.get(k) for k in ("early_stopping_result", "early_stopping_ttft_result",
                                                 "early_stopping_tpot_result", "early_stopping_latency_ss",
                                                 "early_stopping_latency_ms") if k in v},
        "throughput": {
            "samples_per_s": _num(v.get("result_samples_per_second", summary.get("Samples per second"))),
            "tokens_per_s": _num(v.get("result_tokens_per_second", summary.get("Tokens per second"))),
            "scheduled_samples_per_s": _num(v.get("result_scheduled_samples_per_sec")),
            "completed_samples_per_s": _num(v.get("result_completed_samples_per_sec",
                                                  summary.get("Completed samples per second"))),
            "completed_tokens_per_s": _num(v.get("result_completed_tokens_per_second",
                                                 summary.get("Completed tokens per second"))),
        },
        "latency_ns": {"min": _num(v.get("result_min_latency_ns")), "max": _num(v.get("result_max_latency_ns")),
                       "mean": _num(v.get("result_mean_latency_ns")),
                       **_percentiles(v, "result_{p}_percentile_latency_ns")},
        "ttft_ns": {"min": _num(v.get("result_first_token_min_latency_ns")),
                    "max": _num(v.get("result_first_token_max_latency_ns")),
                    "mean": _num(v.get("result_first_token_mean_latency_ns")),
                    **_percentiles(v, "result_first_token_{p}_percentile_latency_ns")},
        "tpot_ns": {"min": _num(v.get("result_time_to_output_token_min")),
                    "max": _num(v.get("result_time_to_output_token_max")),
                    "mean": _num(v.get("result_time_to_output_token_mean")),
                    **_percentiles(v, "result_time_per_output_token_{p}_percentile_ns")},
        "query_count": _num(v.get("result_query_count", v.get("generated_query_count"))),
        "generated_samples_per_query": _num(v.get("generated_samples_per_query")),
        "settings": {k: v[k] for k in sorted(v) if k.startswith(("effective_", "requested_use_token",
                                                                 "requested_server_ttft", "requested_server_tpot"))},
        "qsl_reported_total_count": _num(v.get("qsl_reported_total_count")),
        "qsl_reported_performance_count": _num(v.get("qsl_reported_performance_count")),
        "num_errors": _num(v.get("num_errors")),
        "errors": detail.errors,
        "warnings": detail.warnings,
        "skipped_lines": {"count": len(detail.skipped), "first": detail.skipped[:5]},  # not LoadGen records
    }
    record["headline"] = _scenario_metric(str(scenario), v)
    return record


def find_log_dir(path: Path) -> Path:
    """A directory holding mlperf_log_detail.txt: the path itself, or its Performance/ or Accuracy/ part."""
    path = Path(path)
    if path.is_file():
        path = path.parent
    for cand in (path, path / "Performance", path / "Accuracy"):
        if (cand / DETAIL_FILE).is_file() or (cand / SUMMARY_FILE).is_file():
            return cand
    raise LogParseError(f"no LoadGen logs ({DETAIL_FILE} / {SUMMARY_FILE}) in {path}")


def read_log_dir(path: Path) -> dict[str, Any]:
    """Parse the LoadGen logs of one directory into a performance record."""
    d = find_log_dir(path)
    detail_path, summary_path = d / DETAIL_FILE, d / SUMMARY_FILE
    detail = parse_detail(detail_path.read_text(errors="replace")) if detail_path.is_file() else DetailLog()
    summary = parse_summary(summary_path.read_text(errors="replace")) if summary_path.is_file() else {}
    if not detail.values and not ({"Scenario", "Result is"} & set(summary)):
        raise LogParseError(f"{d} holds files named like LoadGen's logs, but they contain no LoadGen records "
                            "(empty, truncated or another file); point at a LoadGen output directory.")
    record = performance_record(detail, summary)
    record["log_dir"] = str(d)
    return record
