"""A test's latencies minute by minute, and what probes of a few lengths saw of it (results/timeline.py),
on constructed timings and on the H200's 600 s Interactive run of 2026-12-02 (its sut_timings.csv is
kept under docs/gpu-evidence/), and the report's section built from them."""

from __future__ import annotations

import gzip
import shutil

import pytest

from mlperf_vllm.report import markdown, render
from mlperf_vllm.results import timeline

from .conftest import ROOT

H200_RUN = ROOT / "docs" / "gpu-evidence" / "h200-campaign-2026-12-02" / "results" / "20261202-082437-datacenter-interactive"


def _rows(seconds: int = 300, qps: int = 10, slow_from_s: int = 120, slow_for_s: int = 10) -> list[dict]:
    """qps queries a second at TPOT 10 ms, and one slow episode (TPOT 30 ms) of slow_for_s seconds."""
    rows = []
    for i in range(seconds * qps):
        t = i * 1000 / qps
        tpot = 30.0 if slow_from_s * 1000 <= t < (slow_from_s + slow_for_s) * 1000 else 10.0
        rows.append({"issued_ms": t, "ttft_ms": 50.0, "latency_ms": 50.0 + 99 * tpot, "tpot_ms": tpot})
    return rows


def test_one_slow_episode_sets_the_tail_and_only_windows_that_hold_it_see_it():
    t = timeline.analyse(_rows())
    assert [w["p99_tpot_ms"] for w in t["windows"]] == [10.0, 10.0, 30.0, 10.0, 10.0]
    assert t["all"]["p99_tpot_ms"] == 30.0 and t["all"]["queries"] == 3000
    assert t["windows"][0]["in_flight_end"] == 11  # 1.04 s latency at 10 queries/s
    w15 = t["probes"][0]
    # 38 windows of 15 s (sliding by 7.5 s); the 10 s episode lies in 3 of them
    assert (w15["seconds"], w15["windows"], w15["median"], w15["max"]) == (15, 38, 10.0, 30.0)
    assert w15["median_shortfall"] == pytest.approx(2 / 3)
    assert [p["seconds"] for p in t["probes"]] == [15, 30, 60, 140]  # 300 s windows need a 600 s test
    assert [p["first_s"] for p in t["prefixes"]] == [60, 120, 240]
    assert t["prefixes"][1]["p99_tpot_ms"] == 10.0 and t["prefixes"][2]["p99_tpot_ms"] == 30.0


def test_timings_without_latencies_are_counted_in_flight_not_in_the_percentiles():
    rows = _rows(seconds=130)
    rows[-1].update(latency_ms=None, tpot_ms=None)  # never completed
    t = timeline.analyse(rows)
    assert t["windows"][-1]["in_flight_end"] >= 1
    assert t["all"]["queries"] == 1300 and t["all"]["p99_tpot_ms"] == 30.0
    assert timeline.analyse([])["windows"] == [] and timeline.probe_windows([], 15)["windows"] == 0


def test_the_report_shows_the_run_minute_by_minute_with_the_probe_windows():
    text = "\n".join(markdown._through_the_run(timeline.analyse(_rows())))
    assert "## Latency through the run" in text
    assert "| 120 | 600 | 13.33 | 30.00 | 50.00 | 11 |" in text
    assert "| 15 | 38 | 10.00 | 10.00 | 30.00 | 67% |" in text
    assert markdown._through_the_run(timeline.analyse(_rows(seconds=50))) == []  # one window: nothing to show


def test_the_h200_run_its_tail_came_from_a_few_minutes(tmp_path):
    # Interactive, 40 QPS, 600 s, preset h200-fp8: LoadGen p99 TPOT 27.75 ms, VALID. Single minutes saw
    # 18.8-29.6 ms; a probe of 15 s at this rate sees a median p99 31% under the run's, one of 140 s 20%.
    run_dir = tmp_path / H200_RUN.name
    shutil.copytree(H200_RUN, run_dir)
    gz = run_dir / "Performance" / "sut_timings.csv.gz"
    (run_dir / "Performance" / "sut_timings.csv").write_bytes(gzip.decompress(gz.read_bytes()))
    rows = timeline.read_timings(run_dir / "Performance" / "sut_timings.csv")
    t = timeline.analyse(rows)
    minutes = [w["p99_tpot_ms"] for w in t["windows"][:11]]
    assert min(minutes) == pytest.approx(18.83, abs=0.01) and max(minutes) == pytest.approx(29.64, abs=0.01)
    assert t["all"]["p99_tpot_ms"] == pytest.approx(27.75, abs=0.01)  # the SUT's clock agrees with LoadGen's
    short = {p["seconds"]: p["median_shortfall"] for p in t["probes"]}
    assert short[15] == pytest.approx(0.31, abs=0.01) and short[140] == pytest.approx(0.20, abs=0.01)
    render.render_run(run_dir)
    report = (run_dir / "report.md").read_text()
    assert "| 120 | 2,384 | 13.89 | 29.64 |" in report and "| 15 | 87 | 14.11 | 19.20 | 30.35 | 31% |" in report
