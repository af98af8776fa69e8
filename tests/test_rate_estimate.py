"""Where a QPS search without an Offline ceiling starts: a burst's completion rate, and the search's way up."""

from __future__ import annotations

import pytest

from mlperf_vllm.mlperf import qps_search as qs
from mlperf_vllm.orchestrate import rate_estimate as re_
from mlperf_vllm.orchestrate import search


def _burst(n: int, batch: int, wave_s: float, issue_s: float = 2.0, finished: int | None = None) -> list[dict]:
    """A saturated engine: n requests issued evenly over issue_s, completed batch by batch, each batch
    wave_s after the one before (the first wave_s after the start); those after `finished` never complete."""
    rows = []
    for i in range(n):
        issued = i * issue_s * 1000 / n
        done = (i // batch + 1) * wave_s * 1000
        ok = finished is None or i < finished
        rows.append({"issued_ms": issued, "latency_ms": done - issued if ok else None, "error": None})
    return rows


def test_a_saturated_engine_completes_its_batch_per_wave():
    rate, completed, seconds = re_.completion_rate(_burst(1024, 256, 4.0))
    assert (completed, seconds) == (1024, 16.0) and rate == pytest.approx(64.0)
    # cut short by the burst's bound: what was finished, over the time it took, is the same rate
    rate, completed, seconds = re_.completion_rate(_burst(1024, 256, 4.0, finished=768))
    assert (completed, seconds) == (768, 12.0) and rate == pytest.approx(64.0)


def test_a_burst_that_finished_too_little_measures_nothing():
    assert re_.completion_rate(_burst(1024, 8, 4.0, finished=re_.MIN_COMPLETED - 1)) is None
    errors = [dict(r, error="engine failed") for r in _burst(64, 64, 1.0)]
    assert re_.completion_rate(errors) is None


def test_the_burst_fills_the_engine_batches():
    assert re_.burst_queries(512) == 4 * 512 and re_.burst_queries(None) == 4 * re_.DEFAULT_MAX_SEQS
    assert re_.burst_queries(256, engines=2) == 2 * 4 * 256  # data parallel: every engine full


def _threshold(break_qps: float, calls: list[float]):
    def probe(q: float) -> qs.ProbeResult:
        calls.append(q)
        return qs.ProbeResult(q, 1.0, 1.0, 1.0, 0, q <= break_qps, 1.0)
    return probe


def test_the_search_starts_under_the_estimate_and_probes_it_next():
    calls: list[float] = []
    r = qs.search(_threshold(37.0, calls), search.start_qps(None, 40.0), 0.05, estimate_qps=40.0)
    assert calls[:2] == [pytest.approx(34.0), 40.0]
    assert r.best_qps <= 37.0 < r.lowest_failing_qps and (r.lowest_failing_qps - r.best_qps) / 40.0 <= 0.05
    unguided: list[float] = []
    qs.search(_threshold(37.0, unguided), search.START_QPS, 0.05)
    assert len(calls) < len(unguided) - 3  # doubling from 2 QPS: 2, 4, ..., 64 before the bisection


def test_an_estimate_on_the_low_side_costs_a_doubling_never_a_lower_pick():
    calls: list[float] = []
    r = qs.search(_threshold(37.0, calls), search.start_qps(None, 10.0), 0.02, estimate_qps=10.0)
    assert calls[:4] == [pytest.approx(8.5), 10.0, 20.0, 40.0]
    assert 37.0 * 0.98 <= r.best_qps <= 37.0
    # an Offline ceiling still caps the search; the estimate is not used beside it
    assert search.start_qps(60.0, 10.0) == pytest.approx(51.0)
