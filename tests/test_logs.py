"""util_logs / logs.py on logs the real LoadGen writes in the test, checked against the summary text."""

from __future__ import annotations

import json
import re

import pytest

from mlperf_vllm.cli import util_logs_main
from mlperf_vllm.config import Mode
from mlperf_vllm.engines.fake import InstantEngine, TimedEngine
from mlperf_vllm.mlperf import logs

from . import lg_helpers as h

pytestmark = pytest.mark.integration


def _summary_value(text: str, label: str) -> str:
    m = re.search(rf"^\s*{re.escape(label)}\s*:\s*(\S+)", text, re.M)
    assert m, label
    return m.group(1)


def _check_percentiles(record: dict, text: str) -> None:
    for p in logs.PERCENTILES:
        assert record["latency_ns"][p] == int(_summary_value(text, f"{p} percentile latency (ns)"))


def test_offline_valid(tmp_path):
    _, rec = h.run(InstantEngine(4), "Offline", Mode.PERFORMANCE, tmp_path, qps=1000, min_query_count=50)
    text = (tmp_path / logs.SUMMARY_FILE).read_text()
    assert rec["scenario"] == _summary_value(text, "Scenario") == "Offline"
    assert rec["mode"] == "PerformanceOnly"
    assert rec["result_validity"] == _summary_value(text, "Result is") == "VALID" and rec["valid"]
    assert rec["throughput"]["samples_per_s"] == pytest.approx(float(_summary_value(text, "Samples per second")), rel=1e-4)
    assert rec["throughput"]["tokens_per_s"] == pytest.approx(float(_summary_value(text, "Tokens per second")), rel=1e-4)
    assert rec["validity_checks"] == {"min_duration_met": True, "min_queries_met": True,
                                      "perf_constraints_met": None, "early_stopping_met": True}  # Offline has no latency limit
    assert rec["headline"]["name"] == "tokens_per_s" and rec["headline"]["value"] == rec["throughput"]["tokens_per_s"]
    _check_percentiles(rec, text)
    assert rec["num_errors"] == 0 and rec["errors"] == []
    assert rec["settings"]["effective_scenario"] == "Offline"
    assert rec["loadgen_version"].startswith("6.0.17")


def _timed_server(tmp_path, engine: TimedEngine, **settings) -> dict:
    try:
        return h.run(engine, "Server", Mode.PERFORMANCE, tmp_path, **settings)[1]
    finally:
        engine.shutdown()


def test_server_invalid_because_of_ttft(tmp_path):
    # A 40 ms TTFT against a 20 ms limit: LoadGen must call it INVALID on performance constraints.
    rec = _timed_server(tmp_path, TimedEngine(ttft_s=0.040, tpot_s=0.002, n_tokens=6), qps=300,
                        min_duration_ms=1000, min_query_count=100, ttft_ms=20, tpot_ms=100)
    text = (tmp_path / logs.SUMMARY_FILE).read_text()
    assert rec["result_validity"] == _summary_value(text, "Result is") == "INVALID"
    assert rec["validity_checks"]["perf_constraints_met"] is False
    assert _summary_value(text, "Performance constraints satisfied") == "NO"
    assert rec["throughput"]["completed_samples_per_s"] == pytest.approx(
        float(_summary_value(text, "Completed samples per second")), rel=1e-3)
    assert rec["throughput"]["completed_tokens_per_s"] == pytest.approx(
        float(_summary_value(text, "Completed tokens per second")), rel=1e-4)
    assert rec["throughput"]["scheduled_samples_per_s"] == pytest.approx(
        float(_summary_value(text, "Scheduled samples per second")), rel=1e-3)
    for p in logs.PERCENTILES:
        assert rec["ttft_ns"][p] == int(_summary_value(text, f"{p} percentile first token latency (ns)"))
        assert rec["tpot_ns"][p] == int(_summary_value(text, f"{p} percentile time to output token (ns)"))
    _check_percentiles(rec, text)
    assert rec["ttft_ns"]["99.00"] > 20e6
    assert rec["headline"]["name"] == "completed_tokens_per_s"
    assert rec["settings"]["requested_server_ttft_latency"] == 20_000_000
    # early stopping fails too, and the verdict says why: the p99 itself is over, not the run too short
    reasons = _reasons(rec)
    assert reasons[0] == ("early stopping not met: more than 1% of queries are over a latency limit "
                          "(no run length passes)")
    assert reasons[1].startswith("latency constraints not met")


def test_singlestream(tmp_path):
    engine = TimedEngine(ttft_s=0.002, tpot_s=0.001, n_tokens=5)
    try:
        _, rec = h.run(engine, "SingleStream", Mode.PERFORMANCE, tmp_path, min_query_count=60,
                       expected_latency_ms=6)
    finally:
        engine.shutdown()
    text = (tmp_path / logs.SUMMARY_FILE).read_text()
    assert rec["scenario"] == "SingleStream"
    p90 = int(_summary_value(text, "90.0th percentile latency (ns)"))
    assert rec["headline"]["name"] == "p90_latency_ms"
    assert rec["headline"]["value"] == pytest.approx(p90 / 1e6)
    assert rec["latency_ns"]["90.00"] == p90
    _check_percentiles(rec, text)
    assert rec["num_errors"] == 0


def test_cli_prints_json_and_rejects_a_dir_without_logs(tmp_path, capsys):
    h.run(InstantEngine(3), "Offline", Mode.PERFORMANCE, tmp_path / "Performance", qps=1000, min_query_count=20)
    assert util_logs_main.main([str(tmp_path)]) == 0  # a run folder: its Performance/ is used
    out = json.loads(capsys.readouterr().out)
    assert out["scenario"] == "Offline" and out["log_dir"].endswith("Performance")
    assert util_logs_main.main([str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no LoadGen logs") and "Traceback" not in err


def test_truncated_detail_log_is_an_error(tmp_path):
    (tmp_path / logs.DETAIL_FILE).write_text(":::MLLOG {\"key\": \"trunc")
    with pytest.raises(logs.LogParseError, match="no LoadGen records"):
        logs.read_log_dir(tmp_path)


def test_util_logs_refuses_files_that_are_not_loadgen_logs(tmp_path, capsys):
    (tmp_path / "mlperf_log_summary.txt").write_text("hello: world\nnot a log\n")
    assert util_logs_main.main([str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "contain no LoadGen records" in err and len(err.splitlines()) == 1


def _cfg(*flags: str):
    from mlperf_vllm.cli import run_args

    return run_args.parse(["--model", "m", "--scenario", "server", "--server-target-qps", "10", *flags])[0]


def _reasons(record: dict, *flags: str, device: str = "cuda") -> list[str]:
    import dataclasses

    from mlperf_vllm.config import Device
    from mlperf_vllm.results.summary import validity_reasons

    return validity_reasons(dataclasses.replace(_cfg(*flags), device=Device(device)), record, {})


def test_a_tpot_miss_names_cuda_graphs_when_steps_outgrow_them():
    # The H200 A/B at 38 QPS: graphs up to 512 tokens gave p99 TPOT 31.1 ms (INVALID), up to 2,048 16.5 ms.
    record = {"validity_checks": {"perf_constraints_met": False}, "ttft_ns": {"99.00": 202_803_000},
              "tpot_ns": {"99.00": 31_051_517}, "latency_ns": {}, "num_errors": 0}
    interactive = ["--scenario", "interactive", "--preset", "h200-fp8"]
    before = ["--engine-arg", "max_cudagraph_capture_size=512"]  # the preset before it carried 2048
    [reason] = _reasons(record, *interactive, *before)
    assert reason == ("latency constraints not met (p99 TPOT 31.1 ms > 30 ms): lower --server-target-qps, or "
                      "capture CUDA graphs for every step: --engine-arg max_cudagraph_capture_size=2048 "
                      "(steps over 512 tokens ran without them)")
    own = ["--scenario", "interactive", "--max-num-batched-tokens", "2048", "--max-num-seqs", "128"]
    [reason] = _reasons(record, *own)
    assert reason.endswith("max_cudagraph_capture_size=2048 (steps over 256 tokens ran without them)")
    # the graphs already cover every step, or the engine is not a local vLLM on a GPU: nothing to add
    remote = ["--backend", "openai", "--endpoint", "http://127.0.0.1:8000"]
    sized = ["--engine-arg", "cudagraph_capture_sizes=[1,2,4]"]
    for flags in (interactive, [*interactive, *before, "--enforce-eager"], [*interactive, *before, *remote],
                  [*interactive, *before, *sized], ["--scenario", "interactive"]):  # the last: vLLM's own step budget
        [reason] = _reasons(record, *flags)
        assert reason.endswith("lower --server-target-qps"), flags
    assert _reasons(record, *interactive, *before, device="cpu")[0].endswith("lower --server-target-qps")
    # a TTFT miss alone is queueing, not step time
    ttft_only = {**record, "ttft_ns": {"99.00": 900_000_000}, "tpot_ns": {"99.00": 20_000_000}}
    assert _reasons(ttft_only, *interactive, *before)[0].endswith("lower --server-target-qps")


def test_early_stopping_too_few_queries_is_told_apart(tmp_path):
    # Every query well inside both limits, but 120 of them: fewer than LoadGen's early stopping needs at p99.
    rec = _timed_server(tmp_path, TimedEngine(ttft_s=0.002, tpot_s=0.001, n_tokens=5), qps=400,
                        min_duration_ms=300, min_query_count=120, ttft_ms=2000, tpot_ms=200)
    assert rec["validity_checks"]["early_stopping_met"] is False and rec["validity_checks"]["perf_constraints_met"]
    [reason] = _reasons(rec)
    asked = int(re.search(r"at least ([\d,]+) more", reason).group(1).replace(",", ""))
    text = (tmp_path / logs.DETAIL_FILE).read_text()
    assert f"at least {asked} more queries" in text  # LoadGen's own count, quoted
    assert reason.startswith("early stopping not met: too few queries")
    assert reason.endswith("run longer (--min-duration)")

