"""The QPS search: pure logic against a known threshold, and real LoadGen against a fake engine."""

from __future__ import annotations

import math

import pytest

from mlperf_vllm.config import Mode
from mlperf_vllm.engines.fake import TimedEngine
from mlperf_vllm.mlperf import qps_search as qs

from . import lg_helpers as h


def _threshold_probe(break_qps: float, calls: list[float]):
    def probe(q: float) -> qs.ProbeResult:
        calls.append(q)
        ok = q <= break_qps
        return qs.ProbeResult(q, 100.0 if ok else 3000.0, 10.0, q * 100, 0, ok, 1.0)
    return probe


@pytest.mark.parametrize("break_qps,start", [(37.0, 1.0), (37.0, 500.0), (0.9, 1.0), (1234.5, 10.0)])
def test_finds_a_known_break_point_within_tolerance_in_few_probes(break_qps, start):
    calls: list[float] = []
    r = qs.search(_threshold_probe(break_qps, calls), start, tolerance=0.02)
    assert r.best_qps <= break_qps < r.lowest_failing_qps
    assert (r.lowest_failing_qps - r.best_qps) / r.lowest_failing_qps <= 0.02
    assert len(calls) <= abs(math.log2(break_qps / start)) + 2 + 7  # bracket + bisection


def test_ceiling_bounds_the_search():
    calls: list[float] = []
    r = qs.search(_threshold_probe(1000.0, calls), 40.0, ceiling_qps=50.0)
    assert r.best_qps == 50.0 and r.stopped_by == "ceiling" and max(calls) == 50.0
    calls.clear()
    r = qs.search(_threshold_probe(45.0, calls), 40.0, ceiling_qps=50.0)
    assert 45.0 * 0.98 <= r.best_qps <= 45.0 and max(calls) <= 50.0


def test_nothing_passes_ends_at_the_floor():
    r = qs.search(_threshold_probe(0.001, []), 10.0)
    assert r.best_qps is None and r.stopped_by == "floor"


def test_budget_stops_the_search_with_the_best_point_so_far():
    now = [0.0]

    def probe(q):
        now[0] += 10.0
        return qs.ProbeResult(q, 1, 1, 1, 0, q <= 37.0, 10.0)

    r = qs.search(probe, 1.0, budget_s=45.0, clock=lambda: now[0])
    assert r.stopped_by == "budget" and len(r.probes) == 4 and r.best_qps == 8.0


def test_passes_uses_strict_limits_and_errors():
    rec = {"ttft_ns": {"99.00": 2_000_000_000}, "tpot_ns": {"99.00": 1_000_000}, "num_errors": 0}
    assert qs.passes(rec, 2000, 100)[0] is False  # the checker's strict <
    rec["ttft_ns"]["99.00"] = 1_999_000_000
    assert qs.passes(rec, 2000, 100)[0] is True
    rec["num_errors"] = 3
    assert qs.passes(rec, 2000, 100)[0] is False


def _poisson_tail(m: float, c: int) -> float:
    """P(N > c) for N ~ Poisson(m)."""
    term, cdf = math.exp(-m), 0.0
    for k in range(c + 1):
        cdf += term
        term *= m / (k + 1)
    return 1.0 - cdf


@pytest.mark.integration
def test_finds_the_break_point_of_an_engine_whose_ttft_grows_with_concurrency(tmp_path):
    # TTFT is 5 ms while at most C requests are in flight, 300 ms beyond: p99 TTFT crosses a 100 ms
    # limit when P(in flight > C) > 1%. In flight ~ Poisson(qps x S) (M/G/inf), S = 5 ms + 7 x 20 ms.
    c, service_s = 12, 0.005 + 7 * 0.020
    m_star = max(m / 100 for m in range(100, 3000) if _poisson_tail(m / 100, c) <= 0.01)
    expected_qps = m_star / service_s
    engine = TimedEngine(ttft_s=0.005, tpot_s=0.020, n_tokens=8,
                         ttft_fn=lambda n: 0.005 if n <= c else 0.300)
    data = h.samples(500)
    k = [0]

    def probe(q: float) -> qs.ProbeResult:
        k[0] += 1
        _, rec = h.run(engine, "Server", Mode.PERFORMANCE, tmp_path / f"p{k[0]}", data, qps=q,
                       min_duration_ms=2500, min_query_count=250, ttft_ms=100, tpot_ms=100, concat=False)
        ok, ttft, tpot = qs.passes(rec, 100, 100)
        return qs.ProbeResult(q, ttft, tpot, rec["throughput"]["completed_tokens_per_s"], rec["num_errors"], ok, 2.5)

    try:
        r = qs.search(probe, start_qps=20.0, tolerance=0.08)
    finally:
        engine.shutdown()
    assert r.best_qps is not None
    assert expected_qps * 0.75 <= r.best_qps <= expected_qps * 1.25, (r.best_qps, expected_qps)
    assert len(r.probes) <= 10
    print(f"found {r.best_qps:.1f} QPS, expected {expected_qps:.1f}, {len(r.probes)} probes")


@pytest.mark.integration
def test_an_engine_that_never_meets_the_limits_exits_5(tmp_path):
    from .conftest import run_python

    code = f"""
import sys
from mlperf_vllm import search_runner
from mlperf_vllm.cli.run_main import main
from mlperf_vllm.mlperf import qps_search
qps_search.MAX_HALVINGS = 2  # keep the test short: 2, 1, 0.5 QPS
from mlperf_vllm.engines.fake import TimedEngine
search_runner.PROBE_MIN_QUERIES = 4
sys.exit(main(["--model", "demo", "--scenario", "server", "--mode", "performance", "--total-sample-count", "16",
               "--server-target-qps", "search", "--search-probe-duration", "0.5", "--min-duration", "1",
               "--results-dir", {str(tmp_path)!r}],
              engine_factory=lambda cfg: TimedEngine(ttft_s=2.5, tpot_s=0.001, n_tokens=4)))
"""
    r = run_python(code, timeout=300)
    assert r.returncode == 5, r.stderr[-3000:]
    err = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(err) == 1 and "no QPS met p99 TTFT < 2000 ms" in err[0] and "Traceback" not in r.stderr
    import json
    summary = json.loads(((tmp_path / "latest") / "summary.json").read_text())
    search = summary["qps_search"]
    assert search["best_qps"] is None and search["stopped_by"] == "floor"
    assert all(not p["passed"] for p in search["probes"]) and [p["qps"] for p in search["probes"]] == [2.0, 1.0, 0.5]


@pytest.mark.integration
def test_demo_server_search_confirms_a_valid_qps(tmp_path):
    import json

    from .conftest import run_tool

    r = run_tool("run.py", "--model", "demo", "--scenario", "server", "--mode", "performance",
                 "--total-sample-count", "32", "--min-duration", "5", "--max-new-tokens", "32",
                 "--server-target-qps", "search", "--search-tolerance", "0.1", "--search-probe-duration", "3",
                 "--results-dir", str(tmp_path))
    assert r.returncode == 0, r.stderr[-3000:]
    summary = json.loads(((tmp_path / "latest") / "summary.json").read_text())
    search = summary["qps_search"]
    loadgen = summary["run"]["performance"]["loadgen"]["settings"]
    assert loadgen["effective_target_qps"] == pytest.approx(search["confirmed_qps"], rel=1e-6)
    assert summary["validity"]["performance"] == "VALID"
    passed = [p["qps"] for p in search["probes"] if p["passed"]]
    assert search["confirmed_qps"] <= max(passed)  # never above what a probe showed within limits
    assert ((tmp_path / "latest") / "plots" / "qps_search.png").is_file()


def test_a_probe_whose_batch_keeps_growing_is_over_capacity():
    from mlperf_vllm import rules, search_runner

    limits = rules.TOKEN_LATENCY_LIMITS[rules.Scenario.SERVER]  # 2000 ms TTFT, 100 ms TPOT

    def rows(ttft, tpot):
        return [{"issued_ms": i * 10.0, "ttft_ms": ttft(i), "tpot_ms": tpot(i)} for i in range(40)]

    steady = rows(lambda i: 150.0, lambda i: 30.0 + (i % 3))
    assert search_runner.over_capacity(steady, limits) is None
    # TTFT and TPOT well inside the limits, but TPOT climbs 30 -> 70 ms over the probe: the batch grows
    batch_growing = rows(lambda i: 150.0, lambda i: 30.0 + i)
    assert search_runner.over_capacity(batch_growing, limits) == {"ttft": 0.0, "tpot": 30.0}
    queue_growing = rows(lambda i: 150.0 + 20 * i, lambda i: 30.0)
    assert search_runner.over_capacity(queue_growing, limits)["ttft"] == 600.0
    assert search_runner.over_capacity(rows(lambda i: 150.0, lambda i: None), limits) is None  # no TPOT data


@pytest.mark.parametrize("capacity,confirmed,validity", [
    # step down to 0.98 x the completed rate (0.98 x 0.98 x capacity here), then try the midpoint
    (54.0, pytest.approx((0.98 * 0.98 * 54.0 + 55.22) / 2), ["INVALID", "VALID", "VALID"]),  # the climb holds
    (53.0, pytest.approx(0.98 * 0.98 * 53.0), ["INVALID", "VALID", "INVALID"]),  # it fails: back to the VALID
    (60.0, 55.22, ["VALID"]),  # the search's pick holds at once
])
def test_full_runs_step_down_then_climb_back_and_keep_the_highest_valid(tmp_path, capacity, confirmed, validity):
    """As on the H200: the search picked 55.22 QPS, the full run there was INVALID at ~52.9 completed."""
    from types import SimpleNamespace

    from mlperf_vllm import search_runner
    from mlperf_vllm.config import Scenario
    from mlperf_vllm.mlperf.harness import TestRun

    ctx = SimpleNamespace(cfg=SimpleNamespace(search_tolerance=0.02, scenario=Scenario.SERVER), run_dir=tmp_path,
                          search={"confirmations": []}, tests=[], timings={}, performance=None)

    def run_perf(qps, log_dir):
        log_dir.mkdir()
        (log_dir / "qps.txt").write_text(str(qps))
        ctx.tests.append(TestRun(Mode.PERFORMANCE, log_dir, 60.0, 100, []))
        ctx.timings["performance"] = [{"qps": qps}]
        valid = qps <= capacity
        ctx.performance = {"valid": valid, "num_errors": 0, "result_validity": "VALID" if valid else "INVALID",
                           "throughput": {"completed_samples_per_s": min(qps, 0.98 * capacity)}, "qps": qps}
        return ctx.performance

    search_runner.confirm_or_step_down(ctx, run_perf, 55.22)
    assert [c["result_validity"] for c in ctx.search["confirmations"]] == validity
    assert ctx.search["confirmed_qps"] == confirmed
    final = tmp_path / "Performance"
    assert float((final / "qps.txt").read_text()) == ctx.search["confirmed_qps"]  # Performance/ holds it
    q = ctx.search["confirmed_qps"]
    assert ctx.performance["qps"] == q and ctx.timings["performance"] == [{"qps": q}]
    assert [t.log_dir for t in ctx.tests].count(final) == 1
    kept = sorted(p.name for p in (tmp_path / "Search").iterdir()) if len(validity) > 1 else []
    assert len(kept) == len(validity) - 1  # every other attempt is kept under Search/
