"""The QPS search: pure logic against a known threshold, and real LoadGen against a fake engine."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from types import SimpleNamespace

import pytest

from mlperf_vllm.config import Category, Mode, Scenario
from mlperf_vllm.engines.fake import TimedEngine
from mlperf_vllm.mlperf import qps_search as qs
from mlperf_vllm.mlperf import qps_settle as qst

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
from mlperf_vllm.cli.run_main import main
from mlperf_vllm.mlperf import qps_search
qps_search.MAX_HALVINGS = 2  # keep the test short: 2, 1, 0.5 QPS
from mlperf_vllm.engines.fake import TimedEngine
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
    # no Offline run in the history: a burst placed the first probe, and each next one halved it
    estimate = search["rate_estimate"]
    assert estimate["completed"] == estimate["queries"] > 0 and search["start_qps"] == pytest.approx(0.85 * estimate["qps"])
    qps = [p["qps"] for p in search["probes"]]
    assert all(not p["passed"] for p in search["probes"]) and len(qps) == 3
    assert qps[0] == pytest.approx(search["start_qps"], rel=1e-5) and qps[1:] == pytest.approx([qps[0] / 2, qps[0] / 4], rel=1e-4)


def test_the_search_runs_the_qps_its_user_conf_says():
    from mlperf_vllm.orchestrate.search import as_written

    # a climb after a VALID confirmation (10.26 x 1.125...) gave 11.547448766621997, which LoadGen ran while
    # user.conf and LoadGen's own log said 11.5474
    assert as_written(11.547448766621997) == 11.5474 and as_written(40.0) == 40.0 and as_written(0.125) == 0.125


@pytest.mark.integration
def test_demo_server_search_confirms_a_valid_qps(tmp_path):
    import json

    from .conftest import run_tool

    r = run_tool("run.py", "--model", "demo", "--scenario", "server", "--mode", "performance",
                 "--total-sample-count", "32", "--min-duration", "5", "--max-new-tokens", "16",
                 "--server-target-qps", "search", "--search-tolerance", "0.1", "--search-probe-duration", "3",
                 "--results-dir", str(tmp_path),
                 timeout=1500)  # 5-12 minutes beside a busy loop; a more loaded machine takes longer, not a failure
    assert r.returncode == 0, r.stderr[-3000:]
    summary = json.loads(((tmp_path / "latest") / "summary.json").read_text())
    search = summary["qps_search"]
    loadgen = summary["run"]["performance"]["loadgen"]["settings"]
    assert loadgen["effective_target_qps"] == pytest.approx(search["confirmed_qps"], rel=1e-6)
    assert summary["validity"]["performance"] == "VALID"
    # the settle stage's long probes picked the rate: below what the short probes that failed bound it to
    # (qps_settle.bisection_bound), and a long probe within the limits near it
    assert search["settle_probes"] and search["settled_qps"] is not None
    assert all(p["log_dir"].startswith("Search/settle-") for p in search["settle_probes"])
    probes = [qs.ProbeResult(**{k: v for k, v in p.items() if k != "verdict"}) for p in search["probes"]]
    bound = qst.bisection_bound(probes, search["ceiling_qps"], search["limits"]["p99_ttft_ms"],
                                search["limits"]["p99_tpot_ms"])
    if bound is not None:
        assert search["confirmed_qps"] < bound
    assert search["confirmed_qps"] <= search["settled_qps"] * 1.0001
    # how long the probes and the full runs took, in the summary and the report
    assert search["probes_s"] > 0 and search["full_runs_s"] > 0
    report = ((tmp_path / "latest") / "report.md").read_text()
    assert "search plus confirmation" in report
    # no Offline run in the history: one burst on the engine measured where the probes start
    estimate = search["rate_estimate"]
    assert estimate["log_dir"] == "Search/estimate" and 0 < estimate["completed"] <= estimate["queries"]
    assert search["start_qps"] == pytest.approx(0.85 * estimate["qps"]) and search["ceiling_qps"] is None
    assert search["probes"][0]["qps"] == pytest.approx(search["start_qps"], rel=1e-5)
    assert f"from a burst's {estimate['qps']:,.4g} completed/s" in report
    assert ((tmp_path / "latest") / "Search" / "estimate" / "mlperf_log_summary.txt").is_file()
    said = [ln for ln in r.stderr.splitlines() if ln.startswith("QPS search: the engine completed")]
    assert len(said) == 1 and f"start at {search['start_qps']:.4g} QPS; then a full run of about" in said[0]
    assert all(f"| {p['verdict']} | {p['why']} |" in report for p in search["probes"] + search["settle_probes"])
    # numbered as their folders under Search/ (a probe repeated longer keeps only its last run in the list)
    assert all(f"| {int(p['log_dir'].split('/')[-1].split('-')[1])} | {p['qps']:,.4g} |" in report
               for p in search["probes"])
    assert ((tmp_path / "latest") / "plots" / "qps_search.png").is_file()
    # the run's user.conf holds the QPS LoadGen ran, so the run (and a submission of it) can be reproduced
    conf = ((tmp_path / "latest") / "user.conf").read_text()
    line = [ln for ln in conf.splitlines() if ln.startswith("llama3_1-8b.Server.target_qps")]
    assert len(line) == 1 and float(line[0].split("=")[1]) == pytest.approx(loadgen["effective_target_qps"], rel=1e-6)
    config = json.loads(((tmp_path / "latest") / "config.json").read_text())
    assert config["target_qps"] == search["confirmed_qps"] and config["qps_policy"] == "search"
    chosen = [c for c in search["confirmations"] if c["log_dir"] == "Performance"]
    assert len(chosen) == 1 and chosen[0]["qps"] == search["confirmed_qps"] and chosen[0]["valid"]
    assert ((tmp_path / "latest") / "Performance" / "user.conf").read_text() == conf
    # what the machine did during each probe (a reading a second; a probe lasts at least 3 s)
    assert all(p["machine"]["samples"] >= 2 and p["machine"]["cpu_busy_pct"] for p in search["probes"])
    for probe in search["probes"]:  # every probe keeps the user.conf it ran with
        probe_conf = (tmp_path / "latest" / probe["log_dir"] / "user.conf").read_text()
        assert f"target_qps = {probe['qps']:g}" in probe_conf


def _rows(n, gap_ms, latency_ms, ttft_ms=100.0, tpot_ms=30.0):
    """Requests issued every gap_ms; latency_ms(i) decides how long request i stays in flight."""
    return [{"issued_ms": i * gap_ms, "ttft_ms": ttft_ms, "tpot_ms": tpot_ms, "latency_ms": latency_ms(i)}
            for i in range(n)]


def _queue_rows(qps, seconds, latency_s, slots=None, seed=0):
    """A probe's SUT rows: Poisson arrivals at qps into `slots` servers (None: as many as needed) with
    lognormal service times around latency_s, first come first served."""
    import heapq
    import random

    rng = random.Random(seed)
    t, rows, free = 0.0, [], []
    while t < seconds:
        t += rng.expovariate(qps)
        service = latency_s * rng.lognormvariate(0, 0.3) / math.exp(0.045)
        start = t
        if slots is not None:
            if len(free) >= slots:
                start = max(t, heapq.heappop(free))
            heapq.heappush(free, start + service)
        rows.append({"issued_ms": t * 1000, "ttft_ms": (start - t + 0.05) * 1000, "tpot_ms": 20.0,
                     "latency_ms": (start - t + service) * 1000})
    return rows


@pytest.mark.parametrize("qps,latency_s", [(26.0, 1.2), (52.0, 2.0), (55.0, 8.0)])
def test_a_stationary_engine_is_not_judged_over_capacity(qps, latency_s):
    # 15-450 requests in flight, Poisson arrivals: the rise through a window is noise, never a backlog
    states = [qs.steady_state(_queue_rows(qps, 24.0, latency_s, seed=seed)) for seed in range(100)]
    assert not any(s.backlog_growing for s in states)
    assert sum(s.backlog_unsure for s in states) <= 5  # rarely even a longer probe


def test_an_engine_over_capacity_is_judged_so_once_the_probe_is_long_enough():
    # 60 slots of 2 s: capacity 30 QPS; at 36 QPS the queue grows by 6 requests a second
    short = [qs.steady_state(_queue_rows(36.0, 24.0, 2.0, slots=60, seed=s)) for s in range(50)]
    long = [qs.steady_state(_queue_rows(36.0, 90.0, 2.0, slots=60, seed=s)) for s in range(50)]
    assert sum(s.backlog_growing or s.backlog_unsure for s in short) >= 15  # a short probe may only doubt
    assert sum(s.backlog_growing for s in long) >= 45
    # its latency grows with the backlog, so it never looks long enough: at the longest probe it is decided
    verdicts = [qs.judge(s, None, None, 0, True, 2000, 100, longest=True) for s in long]
    assert sum(not j.passed and j.final for j in verdicts) >= 45
    # below capacity the same engine is stationary, however long the probe
    assert not any(qs.steady_state(_queue_rows(24.0, 90.0, 2.0, slots=60, seed=s)).backlog_growing for s in range(50))


def test_a_queue_near_capacity_wanders_for_longer_than_a_latency_and_is_not_a_backlog():
    # 60 slots of 2 s (capacity 30 QPS) at 29 QPS: a queue forms and drains over many latencies, so a
    # 150 s window's count scatters beyond the Poisson spread. Measured from the window itself (batch
    # means around its trend), the spread keeps most of those windows from reading as a growing backlog.
    states = [qs.steady_state(_queue_rows(29.0, 150.0, 2.0, slots=60, seed=s), ramp_ms=6000.0) for s in range(50)]
    assert all(s.batch_spread is not None for s in states)
    poisson_only = sum(dataclasses.replace(s, batch_spread=None).backlog_growing for s in states)
    assert poisson_only >= 8 and sum(s.backlog_growing for s in states) <= 3
    # short windows (fewer than 8 mean latencies) keep the Poisson spread alone
    assert qs.steady_state(_queue_rows(29.0, 24.0, 2.0, slots=60, seed=1)).batch_spread is None


def test_steady_state_window_and_length():
    stable = qs.steady_state(_rows(900, 20.0, lambda i: 2000.0))  # 50 QPS, 2 s each: 100 in flight
    assert stable.long_enough and not stable.backlog_growing and stable.growth_z == pytest.approx(0, abs=0.5)
    assert stable.inflight_early == pytest.approx(100, abs=2) and stable.inflight_late == pytest.approx(100, abs=2)
    assert stable.window_s == pytest.approx(9.0, abs=0.1) and stable.mean_latency_ms == 2000.0
    # Over capacity: each request waits a little longer than the one before; the p99 TTFT of the window
    # can still be within the limits while the number in flight climbs.
    growing = qs.steady_state(_rows(3600, 20.0, lambda i: 2000.0 + 4.0 * i))
    assert growing.backlog_growing and growing.growth_z > qs.Z_OVER
    # Requests lasting longer than half the probe: the window is still the ramp, the probe must be longer
    short = qs.steady_state(_rows(300, 20.0, lambda i: 4000.0))
    assert not short.long_enough
    assert qs.probe_seconds(10.0, 120.0, short.p90_latency_ms) == 24.0
    assert qs.probe_seconds(10.0, 120.0, 100.0) == 10.0 and qs.probe_seconds(10.0, 30.0, 60_000.0) == 30.0
    # Only requests issued after the ramp count towards the window's p99
    rows = _rows(400, 20.0, lambda i: 1000.0)
    for r in rows[:200]:
        r["ttft_ms"] = 5000.0  # a cold start
    assert qs.steady_state(rows).p99_ttft_ms == 100.0
    assert qs.steady_state(rows[:5]) is None


def _replayed(qps, seconds, ttft_ms, tpot_ms, early, late):
    """A probe as run.log recorded it (QPS, duration, steady p99s, mean in flight over the two halves).
    The mean latency follows from Little's law (in flight = QPS x latency); long enough as the search
    would judge it, STEADY_LATENCIES latencies (~p90) into the probe."""
    mean_latency_ms = 1000 * (early + late) / 2 / qps
    return qs.SteadyState(seconds * 500, int(qps * seconds / 2), ttft_ms, tpot_ms, 1.2 * mean_latency_ms, early, late,
                          long_enough=seconds >= qs.STEADY_LATENCIES * 1.2 * mean_latency_ms / 1000,
                          window_s=seconds / 2, mean_latency_ms=mean_latency_ms)


INTERACTIVE = (500.0, 30.0)
SERVER = (2000.0, 100.0)
# (limits, QPS, s, steady p99 TTFT ms, TPOT ms, in flight early, late, what the fixed full runs showed at that
# rate: True = it holds (VALID at or above it), False = it fails, None = between a VALID and an INVALID run).
REPLAYED_PROBES = [
    # One H200, Interactive 2048/256, 2026-11-30 (qps-search-evidence.md): 44.5 QPS the edge; 48 VALID with async
    (INTERACTIVE, 52.36, 10, 172, 22.3, 143, 130, False),
    (INTERACTIVE, 52.36, 17, 246, 30.0, 154, 222, False),
    (INTERACTIVE, 26.18, 24, 98, 12.3, 22.8, 38.6, True),
    (INTERACTIVE, 13.09, 24, 67, 5.6, 8.6, 8.1, True),
    (INTERACTIVE, 19.63, 24, 79, 7.9, 14.3, 15.3, True),
    (INTERACTIVE, 22.91, 24, 80, 8.0, 16.7, 21.4, True),
    (INTERACTIVE, 21.27, 24, 88, 7.7, 16.8, 17.3, True),
    (INTERACTIVE, 22.09, 24, 91, 9.0, 17.4, 21.0, True),
    (INTERACTIVE, 21.68, 24, 97, 8.5, 15.5, 20.2, True),
    # One H200, Server 8192/512, 2026-11-28 (docs/gpu-evidence/h200-campaign-2026-11-28): 55, 56 VALID, 57.6 not
    (SERVER, 52.34, 10, 198, 26.6, 183.8, 158.6, True),
    (SERVER, 61.58, 11, 503, 49.0, 292.4, 387.9, False),
    (SERVER, 56.96, 20, 782, 66.5, 382.6, 522.1, None),
    (SERVER, 54.65, 26, 363, 66.3, 400.6, 496.9, True),
    (SERVER, 53.50, 26, 689, 61.3, 352.0, 423.4, True),
    (SERVER, 52.92, 26, 328, 59.3, 368.9, 437.1, True),
    # Same day, Interactive: 44.5 VALID, 46.6 and above INVALID
    (INTERACTIVE, 52.34, 10, 150, 20.1, 138.3, 122.2, False),
    (INTERACTIVE, 61.58, 10, 1108, 34.3, 273.7, 291.6, False),
    (INTERACTIVE, 56.96, 15, 1615, 34.0, 297.5, 336.7, False),
    (INTERACTIVE, 54.65, 17, 324, 32.1, 211.6, 253.9, False),
    (INTERACTIVE, 53.50, 17, 257, 30.4, 176.3, 231.8, False),
    (INTERACTIVE, 52.92, 17, 291, 30.1, 190.9, 228.1, False),
    # The CPU demo, Server, 2026-11-30: 64 QPS held (a later full run at 72 met the limits)
    (SERVER, 32.0, 10, 41, 20.0, 45, 32, True),
    (SERVER, 64.0, 10, 799, 20.0, 146, 159, True),
    (SERVER, 64.0, 15, 1459, 20.0, 140, 164, True),
    (SERVER, 64.0, 20, 1776, 20.0, 226, 241, True),
    (SERVER, 128.0, 21, 23284, 20.0, 1046, 1444, False),
]


@pytest.mark.parametrize("limits,qps,seconds,ttft,tpot,early,late,holds", REPLAYED_PROBES)
def test_replayed_probes_are_judged_as_the_full_runs_showed(limits, qps, seconds, ttft, tpot, early, late, holds):
    steady = _replayed(qps, seconds, ttft, tpot, early, late)
    j = qs.judge(steady, ttft, tpot, 0, True, *limits, longest=False)
    if holds:  # never ruled over capacity or over the limits: at most repeated longer
        assert j.passed and not j.overloaded, j
    elif holds is False:  # never a final pass at this length
        assert not (j.passed and j.final), j
    # as long as a probe may be, it is decided; a rate that holds still passes
    last = qs.judge(steady, ttft, tpot, 0, True, *limits, longest=True)
    assert last.final and (last.passed or not holds)


def test_judge_final_and_not():
    limits = (2000.0, 100.0)
    ramp = _replayed(50.0, 10, 300, 40, 100, 160)  # 10 s at 2.6 s latency: before its steady state
    assert ramp.backlog_growing and not ramp.long_enough
    j = qs.judge(ramp, 300, 40, 0, True, *limits, longest=False)
    assert not j.passed and j.overloaded and not j.final and "backlog growing" in j.why
    assert qs.judge(ramp, 300, 40, 0, True, *limits, longest=True).final
    # latency over 90% of a limit, errors and an undrained backlog are final at any length
    slow = _replayed(50.0, 10, 1900, 40, 100, 160)
    assert qs.judge(slow, 1900, 40, 0, True, *limits, longest=False) == qs.Judgement(
        False, False, True, "p99 TTFT 1900 ms over 90% of the limit")
    # once in its steady state, a backlog that grew beside the latency is named; the latency stays the verdict
    # (H200, 2026-12-04: a 112 s probe at 50.24 QPS saw 33.1 ms of TPOT, in flight 137.9 -> 182.8, +7.3 spreads)
    j = qs.judge(slow, 1900, 40, 0, True, *limits, longest=True)
    assert (j.passed, j.overloaded, j.final) == (False, False, True)
    assert j.why.startswith("p99 TTFT 1900 ms over 90% of the limit; backlog growing as well: in flight 100.0 -> 160.0")
    assert not qs.judge(ramp, 300, 40, 2, True, *limits, longest=False).passed
    undrained = qs.judge(ramp, 300, 40, 0, False, *limits, longest=False)
    assert undrained.final and undrained.overloaded and not undrained.passed
    assert qs.ProbeResult(50.0, 300, 40, 1.0, 0, False, 12.0, drained=False).verdict == \
        "over capacity (backlog left at the end)"
    # stationary and long enough: a final pass
    steady = _replayed(20.0, 30, 100, 40, 40, 41)
    assert qs.judge(steady, 100, 40, 0, True, *limits, longest=False) == qs.Judgement(
        True, False, True, "stationary: in flight 40.0 -> 41.0 (+0.2 spreads)")


def test_early_stopping_query_counts_match_loadgen():
    from mlperf_vllm import rules

    # loadgen/early_stopping.cc: with none over the limit h = ceil(log(1 - 0.99) / log(0.99)) = 459
    assert rules.early_stopping_min_queries(0) == math.ceil(math.log(0.01) / math.log(0.99)) == 459
    assert rules.early_stopping_min_queries(1) == 662
    assert rules._binomial_cdf(1, 662, 0.01) < 0.01 <= rules._binomial_cdf(1, 661, 0.01)
    assert rules.early_stopping_queries_for_share(0.0) == 459
    n = rules.early_stopping_queries_for_share(0.005)
    assert 2000 < n < 2300 and n >= rules.early_stopping_min_queries(math.ceil(0.005 * n))
    with pytest.raises(ValueError):
        rules.early_stopping_queries_for_share(0.01)


def _es_record(query_count, early_stopping_met=False, perf=True):
    return {"query_count": query_count, "validity_checks": {"early_stopping_met": early_stopping_met,
            "perf_constraints_met": perf, "min_duration_met": True, "min_queries_met": True}}


def test_an_early_stopping_failure_is_told_apart_by_its_cause():
    from mlperf_vllm import rules

    limits = rules.TOKEN_LATENCY_LIMITS[Scenario.SERVER]
    # 360 queries, none over the limit (the CPU demo at 72 QPS x 5 s): too few, the same QPS longer
    rows = [{"ttft_ms": 50.0, "tpot_ms": 10.0}] * 360
    need, share = qs.early_stopping_rerun(_es_record(360), rows, limits, 8.0)
    assert share == 0 and need == rules.early_stopping_queries_for_share(0.005)
    # 0.8% over the limit in 3,000 queries: no run of <= 8x as many passes: a load failure
    rows = [{"ttft_ms": 50.0, "tpot_ms": 10.0}] * 2976 + [{"ttft_ms": 2500.0, "tpot_ms": 10.0}] * 24
    assert qs.early_stopping_rerun(_es_record(3000), rows, limits, 8.0) is None
    # not an early-stopping failure, or one beside a latency miss
    assert qs.early_stopping_rerun(_es_record(360, early_stopping_met=True), rows, limits, 8.0) is None
    assert qs.early_stopping_rerun(_es_record(360, perf=False), rows, limits, 8.0) is None


def _record(ttft_ms, tpot_ms, completed):
    return {"ttft_ns": {"99.00": ttft_ms * 1e6}, "tpot_ns": {"99.00": tpot_ms * 1e6},
            "throughput": {"completed_samples_per_s": completed}}


# Full runs of 13,368 samples on one H200 (BENCHMARKS.md): the next QPS after a failed run must land in
# the band the fixed full runs showed VALID, at >= 0.97 of the highest VALID fixed QPS.
@pytest.mark.parametrize("qps,ttft_ms,tpot_ms,completed,limits,highest_valid", [
    (52.34, 527.0, 37.9, 52.67, (500.0, 30.0), 44.5),  # Interactive, 2048/256: 44.5 VALID (29.6 ms)
    (48.75, 340.0, 34.4, 49.08, (500.0, 30.0), 44.5),
    (57.6, 4200.0, 70.5, 57.0, (2000.0, 100.0), 56.0),  # Server, 8192/512: 55 and 56 VALID, 57.6 not
])
def test_a_failed_full_run_steps_into_the_valid_band(qps, ttft_ms, tpot_ms, completed, limits, highest_valid):
    nxt, why = qs.next_confirmation_qps(qps, _record(ttft_ms, tpot_ms, completed), *limits, 0.02)
    assert 0.97 * highest_valid <= nxt <= highest_valid, (nxt, why)
    assert why.startswith("p99 T") and "step" in why


def test_confirmation_step_rules():
    # never above what the run completed (an overloaded run measures the capacity)
    assert qs.next_confirmation_qps(60.66, _record(15400.0, 70.0, 50.0), 2000.0, 100.0, 0.02)[0] == \
        pytest.approx(50.0 * 0.98)
    # INVALID without a latency miss (e.g. errors): twice the tolerance
    assert qs.next_confirmation_qps(40.0, _record(900.0, 50.0, 40.0), 2000.0, 100.0, 0.02)[0] == \
        pytest.approx(40.0 * 0.96)
    # the larger of the two steps wins; a step is at most MAX_STEP
    both = qs.next_confirmation_qps(50.0, _record(2100.0, 60.0, 50.0), 2000.0, 30.0, 0.02)
    assert "TPOT" in both[1] and both[0] == pytest.approx(50.0 * (1 - qs.MAX_STEP))


class _FakeRunner:
    """Full runs VALID up to `capacity`; the run completes at most 0.98 x capacity samples/s."""

    def __init__(self, tmp_path, capacity):
        from types import SimpleNamespace

        from mlperf_vllm import rules
        from mlperf_vllm.config import Scenario

        self.cfg = SimpleNamespace(search_tolerance=0.02)
        self.limits = rules.TOKEN_LATENCY_LIMITS[Scenario.SERVER]
        self.tmp, self.capacity, self.runs = tmp_path, capacity, []

    def queries_for_early_stopping(self, qps):
        return None

    def full_run(self, n, qps, min_queries=None):
        from mlperf_vllm.mlperf.harness import TestRun
        from mlperf_vllm.orchestrate.search import Attempt

        out = self.tmp / f"confirm-{n}"
        out.mkdir()
        self.runs.append(qps)
        valid = qps <= self.capacity
        record = {"valid": valid, "num_errors": 0, "result_validity": "VALID" if valid else "INVALID",
                  "ttft_ns": {"99.00": (500 if valid else 3000) * 1e6}, "tpot_ns": {"99.00": 50e6},
                  "throughput": {"completed_samples_per_s": min(qps, 0.98 * self.capacity)}}
        return Attempt(qps, out, record, TestRun(Mode.PERFORMANCE, out, 60.0, 100, []), [{"qps": qps}])


@pytest.mark.parametrize("capacity,n_runs,chosen_valid", [
    (60.0, 1, True),  # the search's pick holds at once
    (54.0, 3, True),  # steps down, VALID, climbs to the midpoint
    (0.0, 3, False),  # never VALID within the attempts
    (40.0, 3, True),  # far below: the completed rate sets the step; the climb back fails
])
def test_confirmation_keeps_the_highest_valid_attempt(tmp_path, capacity, n_runs, chosen_valid):
    from mlperf_vllm.orchestrate import search

    runner = _FakeRunner(tmp_path, capacity)
    c = search.confirm(runner, 55.22)
    assert len(c.attempts) == n_runs == len(runner.runs)
    if chosen_valid:
        assert c.chosen.valid and c.chosen.qps == max(q for q in runner.runs if q <= capacity)
    else:
        assert c.chosen is None
    rows = c.to_dict()
    assert [r["valid"] for r in rows] == [q <= capacity for q in runner.runs]
    assert all(r["log_dir"].startswith("Search/confirm-") for r in rows)
    if n_runs > 1:
        assert rows[0]["next"] and "step" in rows[0]["next"]


def test_a_run_invalid_for_a_reason_a_lower_qps_does_not_fix_stops_the_confirmation(tmp_path):
    from mlperf_vllm.orchestrate import search

    runner = _FakeRunner(tmp_path, 60.0)
    plain = runner.full_run

    def too_few_queries(n, qps, min_queries=None):
        a = plain(n, qps)
        a.record.update(valid=False, result_validity="INVALID",
                        validity_checks={"min_queries_met": False, "perf_constraints_met": True})
        return a

    runner.full_run = too_few_queries
    c = search.confirm(runner, 55.22)
    assert c.chosen is None and c.not_load and len(c.attempts) == 1
    from mlperf_vllm.orchestrate import search_step

    err = str(search_step.no_valid_run(SimpleNamespace(scenario=Scenario.SERVER), c))
    assert "met the latency limits but was INVALID (min_queries_met)" in err and "--total-sample-count" in err


def test_the_climb_back_stops_where_the_tpot_model_leaves_no_room():
    # Interactive on the H200: 44.5 QPS VALID at p99 TPOT 29.6 ms, below a failed 52.34: no room to climb
    assert qs.climb_target(44.5, _record(241.0, 29.6, 44.8), 52.34, 30.0) < 44.5 * 1.04
    # Server: TPOT far below its 100 ms limit: the midpoint
    assert qs.climb_target(54.3, _record(800.0, 68.0, 54.0), 57.6, 100.0) == pytest.approx((54.3 + 57.6) / 2)


def test_a_probe_judged_before_its_steady_state_is_repeated_longer():
    """As on the H200: a 26 s probe at 52.9 QPS saw its in-flight count still rising (the ramp), not a backlog."""
    from mlperf_vllm.orchestrate import search

    class Runner:
        cfg = SimpleNamespace(search_probe_s=10.0, search_tolerance=0.1, search_budget_min=60)

        def __init__(self):
            self.calls = []

        def probe(self, n, q, seconds, longest=False):
            self.calls.append((q, seconds))
            ramping = seconds < 60.0  # this engine needs a 60 s probe to reach its steady state
            tpot = 20.0 if q <= 50 else 95.0
            self.last_steady = qs.SteadyState(0.0, 100, 100.0, tpot, 10_000.0, 100.0, 150.0 if ramping else 101.0,
                                              long_enough=not ramping)
            j = qs.judge(self.last_steady, 100.0, tpot, 0, True, 2000.0, 100.0, longest)
            return qs.ProbeResult(q, 100.0, tpot, 1.0, 0, j.passed, seconds, overloaded=j.overloaded, final=j.final,
                                  why=j.why)

    runner = Runner()
    result = search.run_search(runner, 40.0, None)
    # the same QPS again, as long as 6 p90 latencies (10 s) of the probe within the limits
    assert runner.calls[0] == (40.0, 10.0) and runner.calls[1] == (40.0, 60.0)
    assert all(s == 60.0 for _, s in runner.calls[2:]) and result.best_qps is not None
    assert 0.9 * 50 <= result.best_qps <= 50
    # a probe over the limits is final at once and does not lengthen the probes (its latency is its backlog)
    assert [s for q, s in runner.calls if q > 50] and all(s == 60.0 for q, s in runner.calls if q > 50)


@pytest.mark.integration
def test_a_probe_far_over_capacity_is_cut_short_and_the_next_starts_idle(tmp_path):
    """Real LoadGen: a 4-slot engine (capacity 50 QPS) probed at 200 QPS for 2 s leaves ~300 queued; they
    are cancelled after the drain bound, the probe is over capacity, and the next probe finds the engine idle."""
    import mlperf_loadgen as lg

    from mlperf_vllm import rules
    from mlperf_vllm.mlperf.sut import SystemUnderTest
    from mlperf_vllm.orchestrate import search

    engine = TimedEngine(ttft_s=0.01, tpot_s=0.01, n_tokens=8, slots=4)
    data = h.samples(200)
    sut = SystemUnderTest(engine, data, stream=True, max_new_tokens=128, lg=lg)
    cfg = SimpleNamespace(scenario=Scenario.SERVER, category=Category.DATACENTER, search_probe_s=2.0,
                          search_tolerance=0.1, search_budget_min=5, gc_freeze=False)
    runner = search.LoadGenRunner(cfg, tmp_path, h.settings("Server", qps=1.0, min_query_count=1), sut, lg,
                                  len(data), lambda q, m: f"# {q} {m}\n", progress=False)
    idle_at_start = []
    wait_idle = sut.engine_idle

    def recording_idle(timeout_s):
        ok = wait_idle(timeout_s)
        idle_at_start.append(engine.outstanding())
        return ok

    sut.engine_idle = recording_idle
    try:
        over = runner.probe(1, 200.0, 2.0)
        cancelled = sut.cancelled
        under = runner.probe(2, 10.0, 2.0, longest=True)
    finally:
        engine.shutdown()
    assert not over.passed and not over.drained and over.verdict == "over capacity (backlog left at the end)"
    assert cancelled > 0 and engine.cancelled > 0 and over.errors == 0
    assert idle_at_start == [0, 0]  # each probe began on an idle engine
    assert under.passed and under.drained and under.errors == 0
    assert (tmp_path / "Search" / "probe-01-qps-200" / "mlperf_log_summary.txt").is_file()
    assert rules.TOKEN_LATENCY_LIMITS[Scenario.SERVER].ttft_ms == runner.limits.ttft_ms


@pytest.mark.integration
def test_each_probe_runs_a_schedule_of_its_own_and_a_full_run_the_official_one(tmp_path):
    """Real LoadGen: its seeds are fixed, so two tests at one QPS issue the same arrivals (on the H200 the
    official schedule's 10-30 s run 8-11% over the target, and every probe saw that burst). Probes run
    seeds of their own (LoadGen's summary says which), the settings keep the official ones, and a full run
    issues the official schedule and sample order."""
    import mlperf_loadgen as lg

    from mlperf_vllm.mlperf.logs import parse_summary
    from mlperf_vllm.mlperf.sut import SystemUnderTest
    from mlperf_vllm.orchestrate import search

    engine = TimedEngine(ttft_s=0.001, tpot_s=0.001, n_tokens=2)
    data = h.samples(100)
    sut = SystemUnderTest(engine, data, stream=True, max_new_tokens=128, lg=lg)
    cfg = SimpleNamespace(scenario=Scenario.SERVER, category=Category.DATACENTER, search_probe_s=1.0,
                          search_tolerance=0.1, search_budget_min=5, gc_freeze=False)
    settings = h.settings("Server", qps=50.0, min_query_count=50, min_duration_ms=1000, concat=False)
    settings.schedule_rng_seed, settings.sample_index_rng_seed = 2 ** 64 - 1, 7  # the official ones, here
    runner = search.LoadGenRunner(cfg, tmp_path, settings, sut, lg, len(data), lambda q, m: f"# {q} {m}\n",
                                  progress=False)

    def schedule() -> list[int]:  # the sample of every query, in the order issued (times jitter by a ms or so)
        return [int(r["qsl_idx"]) for r in sorted(sut.timing_rows(), key=lambda r: float(r["issued_ms"]))]

    def seeds(folder: str) -> tuple[str, str]:
        found = parse_summary((tmp_path / "Search" / folder / "mlperf_log_summary.txt").read_text())
        return found["schedule_rng_seed"], found["sample_index_rng_seed"]

    try:
        runner.probe(1, 50.0, 1.0, longest=True)
        first = schedule()
        runner.probe(2, 50.0, 1.0, longest=True)
        second = schedule()
        runner.full_run(1, 50.0)
        official = schedule()
        runner.full_run(2, 50.0)
        again = schedule()
    finally:
        engine.shutdown()
    assert official == again  # LoadGen's seeds: one sample order (and schedule) for every test that runs them
    assert first != second and official not in (first, second)
    assert (settings.schedule_rng_seed, settings.sample_index_rng_seed) == (2 ** 64 - 1, 7)  # restored
    assert seeds("probe-01-qps-50") == ("0", "8") and seeds("probe-02-qps-50") == ("1", "9")
    assert seeds("confirm-1-qps-50") == (str(2 ** 64 - 1), "7")
    conf = (tmp_path / "Search" / "probe-02-qps-50" / "user.conf").read_text()  # what LoadGen ran there
    assert conf.startswith("# 50.0 None\n") and "llama3_1-8b.Server.schedule_rng_seed = 1\n" in conf
    assert "llama3_1-8b.Server.sample_index_rng_seed = 9\n" in conf and ".min_duration = 1000\n" in conf
    assert "rng_seed" not in (tmp_path / "Search" / "confirm-1-qps-50" / "user.conf").read_text()



def _budget_runner(budget_min, n_samples=13368):
    from mlperf_vllm.orchestrate import search

    cfg = SimpleNamespace(scenario=Scenario.INTERACTIVE, category=Category.DATACENTER, search_probe_s=10.0,
                          search_tolerance=0.02, search_budget_min=budget_min, gc_freeze=False)
    settings = h.settings("Server", qps=1.0, min_duration_ms=600_000, min_query_count=100)
    return search, search.LoadGenRunner(cfg, Path("."), settings, None, None, n_samples, lambda q, m: "",
                                        progress=False)


def test_the_default_budget_and_what_the_search_says_it_will_take():
    from mlperf_vllm.orchestrate import search_step

    """Without --search-budget-min the probes get 8 minutes. Before the first probe the search says how long
    it expects: at 51.5 QPS (0.85 of a 60.6 samples/s Offline ceiling) on 13,368 samples the 600 s full run
    is three passes (40,104 queries, 779 s), at most about 21 minutes in all; without a ceiling, the run's minimum."""
    search, runner = _budget_runner(None)
    assert runner.budget_s == search.DEFAULT_BUDGET_S == 480 and search.budget_s(runner) == 480
    assert runner.full_run_seconds(48.5767) == pytest.approx(40104 / 48.5767)
    assert runner.full_run_seconds(100.0) == pytest.approx(66840 / 100.0)  # five passes
    line = search_step.expected_line(runner, 51.5, 60.6)
    assert line == ("probes for at most 8.0 min (the default; --search-budget-min), then a full run of about "
                    "13.0 min at the pick (as at 51.5 QPS): at most about 21 min in all when it is VALID (each further "
                    "full run, at most 2, adds as much)")
    assert "full run of at least 10.0 min" in search_step.expected_line(runner, 2.0, None)
    search, runner = _budget_runner(7.0, n_samples=1000)  # the flag is the probes' budget
    assert runner.budget_s == 420 and runner.full_run_seconds(66.0) == pytest.approx(40000 / 66.0)
    assert search_step.expected_line(runner, 66.0, 77.6).startswith("probes for at most 7.0 min (--search-budget-min)")
