"""The GPU-campaign helpers under benchmarks/: the evidence pack keeps the per-query timings, and the
latency-over-time view reads them back."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import tarfile

from mlperf_vllm.results.folder import TIMING_FIELDS, write_timings_csv

from .conftest import ROOT


def _rows(n: int = 1200) -> list[dict]:
    # 10 queries/s for 120 s; TPOT 10 ms in the first minute and 20 ms in the second
    return [{"qsl_idx": i, "issued_ms": i * 100.0, "ttft_ms": 50.0, "latency_ms": 50.0 + 99 * (10 if i < 600 else 20),
             "tpot_ms": 10.0 if i < 600 else 20.0, "n_tokens": 100, "error": None} for i in range(n)]


def test_latency_over_time_splits_a_run_into_windows_and_prefixes(tmp_path):
    path = tmp_path / "sut_timings.csv"
    write_timings_csv(path, _rows())
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "latency_over_time.py"), str(path), "--json"],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    first, second = out["windows"]
    assert (first["queries"], first["p99_tpot_ms"], first["mean_tpot_ms"]) == (600, 10.0, 10.0)
    assert (second["queries"], second["p99_tpot_ms"]) == (600, 20.0)
    assert first["in_flight_end"] == 11  # 1.04 s latency at 10 queries/s
    assert [p["first_s"] for p in out["prefixes"]] == [60]
    assert out["all"][0]["p99_tpot_ms"] == 20.0 and out["all"][0]["mean_tpot_ms"] == 15.0
    text = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "latency_over_time.py"), str(path)],
                          capture_output=True, text=True, cwd=ROOT).stdout
    assert "p99 TPOT" in text and "first N s" in text


def test_campaign_pack_keeps_summaries_and_timings_not_detail_logs(tmp_path):
    root = tmp_path / "camp"
    perf = root / "results" / "run1" / "Performance"
    perf.mkdir(parents=True)
    for name in ("mlperf_log_summary.txt", "mlperf_log_detail.txt", "mlperf_log_accuracy.json"):
        (perf / name).write_text("x")
    write_timings_csv(perf / "sut_timings.csv", _rows(3))
    (root / "results" / "run1" / "summary.json").write_text("{}")
    (root / "logs").mkdir()
    (root / "logs" / "job.log").write_text("console")
    out = tmp_path / "camp.tar.gz"
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_campaign.py"), "pack", "--root", str(root),
                        "--out", str(out)], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    with tarfile.open(out) as tar:
        names = set(tar.getnames())
        rows = list(csv.DictReader(tar.extractfile("results/run1/Performance/sut_timings.csv").read()
                                   .decode().splitlines()))
    assert {"results/run1/Performance/mlperf_log_summary.txt", "results/run1/summary.json",
            "logs/job.log"} <= names
    assert not any(n.endswith(("mlperf_log_detail.txt", "mlperf_log_accuracy.json")) for n in names)
    assert len(rows) == 3 and list(rows[0]) == list(TIMING_FIELDS)
