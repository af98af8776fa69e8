"""The Interactive search of 2026-12-04 19:52 on one H200, replayed from what it recorded.

Evidence: docs/gpu-evidence/h200-campaign-2026-12-04-interactive-settle2 (its summary.json and run.log). The
real search (orchestrate.search.run_search and settle) runs against a runner that answers each probe with
what the H200 measured there, and a clock that advances by how long each probe took: from these readings
the search must ask the same rates for the same lengths, in the same order, and pick the rate the H200
confirmed (48.58 QPS, VALID at 600 s: 6,248.48 tokens/s, p99 TPOT 28.2 ms).
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import shutil
import types
from pathlib import Path

import pytest

from mlperf_vllm.mlperf import qps_search as qs
from mlperf_vllm.mlperf import qps_settle as qst
from mlperf_vllm.orchestrate import plan as planning
from mlperf_vllm.orchestrate import search
from mlperf_vllm.results import timeline

EVIDENCE = Path(__file__).resolve().parent.parent / "docs" / "gpu-evidence"
RUN = EVIDENCE / "h200-campaign-2026-12-04-interactive-settle2" / "results" / "20261204-195251-datacenter-interactive"
# the newest VALID full run of this engine in the plan's history: it set the long probes' TPOT reference
HISTORY = EVIDENCE / "h200-campaign-2026-12-04-interactive-settle" / "results" / "20261204-173806-datacenter-interactive"

# Probe 1 was not final (before its steady state), so only run.log has it: 10 s at 51.53 QPS, 10.8 s with its drain.
PROBE_1 = dict(qps=51.5329, p99_ttft_ms=257.516839, p99_tpot_ms=26.016372, completed_tokens_per_s=None, errors=0,
               passed=True, seconds=10.8, steady_p99_ttft_ms=267.156289, steady_p99_tpot_ms=23.03290698425197,
               inflight=(172.9, 124.2), probe_s=10.0, growth_z=-2.8, final=False,
               why="before its steady state: in flight 172.9 -> 124.2 (-2.8 spreads)")
# p90 request latencies (ms) that size the next probes: probe 1's made the short probes 18.2 s (6 latencies);
# the bisection's best (50.24 QPS) made the long probes 112.4 s (40 latencies). The others' are not recorded
# and sized nothing (the probes only lengthen).
P90_MS = {51.5329: 18.2 / qs.STEADY_LATENCIES * 1000, 50.2393: 112.4 / qst.SETTLE_LATENCIES * 1000}
P90_OTHER_MS = 2800.0


def _result(rec: dict) -> qs.ProbeResult:
    names = {f.name for f in dataclasses.fields(qs.ProbeResult)} - {"machine"}
    fields = {k: v for k, v in rec.items() if k in names}
    if fields.get("inflight") is not None:
        fields["inflight"] = tuple(fields["inflight"])
    return qs.ProbeResult(**fields)


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def monotonic(self) -> float:
        return self.t


class ReplayRunner:
    """LoadGenRunner's probe interface answered from the H200's records, in the order they ran."""

    def __init__(self, summary: dict, clock: Clock, reference: planning.TailReference) -> None:
        q = summary["qps_search"]
        self.records = [("probe", PROBE_1), *(("probe", r) for r in q["probes"]),
                        *(("settle", r) for r in q["settle_probes"])]
        self.cfg = types.SimpleNamespace(search_probe_s=10.0, search_budget_min=7.0, search_tolerance=0.02)
        self.limits = types.SimpleNamespace(ttft_ms=500.0, tpot_ms=30.0)  # Interactive's
        self.clock, self.reference = clock, reference
        self.last_steady, self.started, self.p90_latency_ms = None, None, {}
        self.asked: list[tuple[str, float, float]] = []

    def tail_reference(self, seconds: float) -> planning.TailReference:
        assert seconds == self.reference.seconds
        return self.reference

    def probe(self, n, qps, seconds, longest=False, headroom=qs.PROBE_HEADROOM, ramp_ms=None, kind="probe",
              tpot_limit_ms=None):
        qps = search.as_written(qps)
        self.asked.append((kind, qps, seconds))
        assert self.records, f"the H200 ran no more probes; the search asked {kind} at {qps} QPS"
        want_kind, rec = self.records.pop(0)
        assert (kind, qps, seconds) == (want_kind, rec["qps"], rec["probe_s"])
        self.started = self.started or self.clock.t
        self.clock.t += rec["seconds"]
        p90 = P90_MS.get(qps, P90_OTHER_MS)
        self.p90_latency_ms[qps] = p90
        self.last_steady = qs.SteadyState(0.0, 500, rec["steady_p99_ttft_ms"], rec["steady_p99_tpot_ms"], p90,
                                          *rec["inflight"], True)
        return _result(rec)


@pytest.fixture(scope="module")
def summary() -> dict:
    return json.loads((RUN / "summary.json").read_text())


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> planning.TailReference:
    """What windows of the long probes' length missed of the history run's p99 TPOT, as the search read it."""
    path = tmp_path_factory.mktemp("history") / timeline.TIMINGS_FILE
    with gzip.open(HISTORY / "Performance" / (timeline.TIMINGS_FILE + ".gz"), "rb") as src, path.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    w = timeline.probe_windows(timeline.read_timings(path), 112.4)
    return planning.TailReference(HISTORY.name, 112.4, round(w["median_shortfall"], 4), w["windows"])


def test_the_history_run_sets_the_long_probes_tpot_reference_the_h200_used(reference):
    # run.log: "13 windows of 112 s saw a median p99 TPOT 2% under the run's; ... judged against 29.4 ms"
    assert reference.windows == 13 and round(100 * reference.shortfall) == 2
    assert f"{30.0 * (1 - reference.shortfall):.3g}" == "29.4"


def test_the_h200_search_replayed_asks_the_same_probes_and_picks_what_it_confirmed(summary, reference, monkeypatch):
    clock = Clock()
    monkeypatch.setattr(search, "time", clock)
    runner = ReplayRunner(summary, clock, reference)
    base = search.run_search(runner, search.start_qps(summary["qps_search"]["ceiling_qps"]), 60.6269)
    # 51.53 failed on TPOT alone; the law steps to 80% of the limit (46.36), then the bisection to 5%
    assert [q for kind, q, _ in runner.asked] == [51.5329, 51.5329, 46.3584, 48.9457, 50.2393]
    assert base.best_qps == 50.2393 and base.lowest_failing_qps == 51.5329 and base.stopped_by == "tolerance"
    result = search.settle(runner, base)
    # the first long probe at 50.24 QPS saw 33.1 ms; the law through it steps to 43.98, which passed (20.0 ms);
    # both pooled put 92% of 29.4 ms at 48.58; a third long probe would outlast the 7-minute budget
    assert [(kind, q) for kind, q, _ in runner.asked[5:]] == [("settle", 50.2393), ("settle", 43.9815)]
    assert not runner.records
    assert result.settled_qps == pytest.approx(summary["qps_search"]["settled_qps"], rel=1e-9)
    assert search.as_written(result.settled_qps) == summary["qps_search"]["confirmed_qps"] == 48.5767
    assert clock.t - runner.started == pytest.approx(summary["qps_search"]["probes_s"], abs=1.0)
    assert "57.89 QPS" in result.settle_why  # 51.53's TPOT-only failure capped nothing below the ceiling


def test_what_the_h200_confirmed_was_valid_at_mlperfs_duration(summary):
    (confirmation,) = summary["qps_search"]["confirmations"]
    assert confirmation["valid"] and confirmation["qps"] == 48.5767 and confirmation["query_count"] == 40104
    text = (RUN / "Performance" / "mlperf_log_summary.txt").read_text()
    assert "Result is : VALID" in text and "min_duration (ms): 600000" in text and "target_qps : 48.5767" in text
