"""The GPU-campaign helpers under benchmarks/: the evidence pack keeps the per-query timings, and the
latency-over-time view reads them back."""

from __future__ import annotations

import csv
import gzip
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

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
    assert out["all"]["p99_tpot_ms"] == 20.0 and out["all"]["mean_tpot_ms"] == 15.0
    # what a probe of 15 s sees: 7 windows inside the first minute (10 ms), 7 touching the second (20 ms)
    assert [w["seconds"] for w in out["probes"]] == [15, 30]
    w15 = out["probes"][0]
    assert (w15["windows"], w15["min"], w15["median"], w15["max"], w15["median_shortfall"]) == (14, 10.0, 10.0, 20.0, 0.5)
    gz = tmp_path / "sut_timings.csv.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))  # the evidence under docs/gpu-evidence/ is kept compressed
    text = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "latency_over_time.py"), str(gz)],
                          capture_output=True, text=True, cwd=ROOT).stdout
    assert "p99 TPOT" in text and "first N s" in text
    assert "15 s: 14 windows, min 10.0, p10 10.0, median 10.0, p90 20.0, max 20.0 ms; the median is 50% under" in text


def test_campaign_pack_keeps_summaries_and_timings_not_detail_logs(tmp_path):
    root = tmp_path / "camp"
    perf = root / "results" / "run1" / "Performance"
    perf.mkdir(parents=True)
    for name in ("mlperf_log_summary.txt", "mlperf_log_detail.txt", "mlperf_log_accuracy.json"):
        (perf / name).write_text("x")
    write_timings_csv(perf / "sut_timings.csv", _rows(3))
    (perf / "machine.csv").write_text("t_ms,cpu_busy_pct\n0.0,7.5\n")
    (root / "results" / "run1" / "summary.json").write_text("{}")
    (root / "results" / "run1" / "environment.json").write_text("{}")
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
    assert {"results/run1/Performance/mlperf_log_summary.txt", "results/run1/Performance/machine.csv",
            "results/run1/summary.json", "results/run1/environment.json", "logs/job.log"} <= names
    assert not any(n.endswith(("mlperf_log_detail.txt", "mlperf_log_accuracy.json")) for n in names)
    assert len(rows) == 3 and list(rows[0]) == list(TIMING_FIELDS)


def test_every_gpu_plan_is_well_formed_and_its_flags_parse():
    """A plan's typo would cost device time: each job's command line must be one run.py accepts."""
    from mlperf_vllm.cli import run_args

    plans = sorted((ROOT / "benchmarks").glob("h200_plan*.json"))
    assert plans
    for path in plans:
        plan = json.loads(path.read_text())
        assert plan.get("about") and isinstance(plan["common"], list) and plan["queues"], path.name
        names = [job["name"] for jobs in plan["queues"].values() for job in jobs]
        assert len(names) == len(set(names)), path.name
        for jobs in plan["queues"].values():
            for job in jobs:
                assert not job.get("after") or job["after"] in names, (path.name, job["name"])
                run_args.parse([*plan["common"], *job["args"], "--results-dir", "results"])


def test_campaign_wait_returns_when_finished_and_packs_what_there_is(tmp_path):
    root = tmp_path / "camp"
    run = root / "results" / "run1"
    run.mkdir(parents=True)
    (root / "logs").mkdir()
    (run / "run.log").write_text("x INFO probe probe-01-qps-2: 2 QPS for 10 s -> within limits\nnoise\n"
                                 "x INFO confirmation 1: full performance run at 40 QPS\n")
    (root / "status.json").write_text(json.dumps({"job": {"gpu": "0", "started": 0, "rc": 0, "seconds": 1}}))
    (root / "finished").write_text("now")
    out = tmp_path / "camp.tar.gz"
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_campaign.py"), "wait", "--root", str(root),
                        "--seconds", "300", "--out", str(out)], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "probe-01-qps-2" in r.stdout and "confirmation 1" in r.stdout and "noise" not in r.stdout
    assert "finished" in r.stdout and out.is_file()
    with tarfile.open(out) as tar:
        assert "results/run1/run.log" in tar.getnames()


def test_campaign_wait_says_when_the_running_test_ends(monkeypatch):
    """A poll must tell whether the next call will see the end: the harness's schedule line gives it."""
    import importlib.util
    import time as _time
    import types

    from mlperf_vllm.mlperf.harness import Schedule

    spec = importlib.util.spec_from_file_location("gpu_campaign", ROOT / "benchmarks" / "gpu_campaign.py")
    camp = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(camp)
    now = float(int(_time.time()))  # the clock stands still: the answer does not depend on the machine's speed
    monkeypatch.setattr(camp, "time", types.SimpleNamespace(
        time=lambda: now, **{f: getattr(_time, f) for f in ("mktime", "strptime", "strftime", "localtime")}))
    started = _time.strftime("%Y-%m-%d %H:%M:%S", _time.localtime(now - 100))
    line = (f"{started},283 INFO mlperf_vllm.mlperf.harness: the performance test issues about "
            f"{Schedule(26736, 40.0, 2, True).line()}")
    end = camp.schedule_end([line])
    assert end is not None and "(in 568 s;" in end  # 668.4 s - 100 s
    done = f"{started},9 INFO x: performance garbage collection during the test: gen0 3, gen1 0, gen2 0; 1 ms in all"
    assert camp.schedule_end([line, done]) is None
    assert camp.schedule_end(["nothing here"]) is None


def test_a_campaign_starts_from_the_history_its_plan_names(tmp_path):
    # The H200's full 600 s Interactive run, kept with compressed timings, seeds a new campaign's results
    run = "docs/gpu-evidence/h200-campaign-2026-12-02/results/20261202-082437-datacenter-interactive"
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"common": [], "queues": {}, "history": [run]}))
    root = tmp_path / "camp"
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_campaign.py"), "start", str(plan),
                        "--root", str(root)], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    perf = root / "results" / "20261202-082437-datacenter-interactive" / "Performance"
    assert len((perf / "sut_timings.csv").read_text().splitlines()) == 26_737 and not (perf / "sut_timings.csv.gz").exists()
    assert (root / "finished").is_file()
    plan.write_text(json.dumps({"queues": {}, "history": ["docs/no-such-run"]}))
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_campaign.py"), "start", str(plan),
                        "--root", str(tmp_path / "other"), "--detach"], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 1 and "history:" in r.stderr and "not a run folder" in r.stderr
    assert not (tmp_path / "other" / "campaign.log").exists()


def test_every_gpu_plan_is_well_formed_and_its_history_is_kept():
    plans = sorted((ROOT / "benchmarks").glob("h200_plan*.json"))
    assert plans
    for path in plans:
        plan = json.loads(path.read_text())
        assert plan["queues"] and all(job["name"] and job["args"] for jobs in plan["queues"].values() for job in jobs)
        for run in plan.get("history", []):
            assert (ROOT / run / "summary.json").is_file(), (path.name, run)


def test_compilation_caches_travel_from_one_machine_to_the_next(tmp_path):
    camp = [sys.executable, str(ROOT / "benchmarks" / "gpu_campaign.py")]

    def machine(name: str) -> dict[str, str]:
        return {**os.environ, "XDG_CACHE_HOME": str(tmp_path / name / "cache"),
                "CUDA_CACHE_PATH": str(tmp_path / name / "nv"), "VLLM_CACHE_ROOT": "",
                "TRITON_CACHE_DIR": str(tmp_path / name / "triton"), "TORCHINDUCTOR_CACHE_DIR": str(tmp_path / name / "ind")}

    compiled = Path("vllm") / "torch_compile_cache" / "1d3babf51c" / "rank_0_0" / "backbone" / "graph.py"
    (tmp_path / "first" / "cache" / compiled).parent.mkdir(parents=True)
    (tmp_path / "first" / "cache" / compiled).write_text("compiled\n")
    (tmp_path / "first" / "nv").mkdir()
    (tmp_path / "first" / "nv" / "index").write_text("ptx\n")
    out = tmp_path / "out"
    r = subprocess.run([*camp, "pack-cache", "--out", str(out)], capture_output=True, text=True, cwd=ROOT,
                       env=machine("first"))
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["cache-cuda.tar.gz", "cache-vllm.tar.gz"]
    assert "flashinfer: none" in r.stdout and "triton: none" in r.stdout  # none on this machine
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"common": [], "queues": {}}))
    r = subprocess.run([*camp, "start", str(plan), "--root", str(tmp_path / "camp"),
                        "--warm-cache", str(out / "cache-vllm.tar.gz"), "--warm-cache", str(out / "cache-cuda.tar.gz")],
                       capture_output=True, text=True, cwd=ROOT, env=machine("second"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "second" / "cache" / compiled).read_text() == "compiled\n"
    assert (tmp_path / "second" / "nv" / "index").read_text() == "ptx\n"
    # A tar of the folder itself (`tar -C ~/.cache -czf cache-vllm.tar.gz vllm`) lands where the engine looks.
    by_hand = tmp_path / "hand" / "cache-vllm.tar.gz"
    by_hand.parent.mkdir()
    subprocess.run(["tar", "-C", str(tmp_path / "first" / "cache"), "-czf", str(by_hand), "vllm"], check=True)
    r = subprocess.run([*camp, "start", str(plan), "--root", str(tmp_path / "camp3"), "--warm-cache", str(by_hand)],
                       capture_output=True, text=True, cwd=ROOT, env=machine("third"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "third" / "cache" / compiled).read_text() == "compiled\n"
    assert not (tmp_path / "third" / "cache" / "vllm" / "vllm").exists()
    broken = tmp_path / "cache-vllm.tar.gz"
    broken.write_text("not a tar")
    for bad, why in ((tmp_path / "cache-vllm-missing.tar.gz", "is not a file"), (plan, "is not a pack-cache file"),
                     (broken, "not a cache written by pack-cache")):
        r = subprocess.run([*camp, "start", str(plan), "--root", str(tmp_path / "again"), "--detach",
                            "--warm-cache", str(bad)], capture_output=True, text=True, cwd=ROOT, env=machine("second"))
        assert r.returncode == 1 and why in r.stderr and "Traceback" not in r.stderr, r.stderr
        assert not (tmp_path / "again" / "campaign.log").exists()  # nothing started


def test_a_plan_job_runs_with_its_own_environment(tmp_path, monkeypatch):
    import importlib.util
    import threading
    import types

    spec = importlib.util.spec_from_file_location("gpu_campaign", ROOT / "benchmarks" / "gpu_campaign.py")
    camp = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(camp)
    seen = {}

    def fake_run(cmd, env, **kwargs):
        seen.update(env)
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(camp, "subprocess", types.SimpleNamespace(run=fake_run, STDOUT=subprocess.STDOUT))
    (tmp_path / "logs").mkdir()
    job = {"name": "a", "args": [], "env": {"VLLM_USE_FLASHINFER_SAMPLER": "0", "CUDA_VISIBLE_DEVICES": "7"}}
    camp._run_queue("1", [job], [], tmp_path, {}, threading.Lock(), {"a": threading.Event()})
    assert seen["VLLM_USE_FLASHINFER_SAMPLER"] == "0" and seen["CUDA_VISIBLE_DEVICES"] == "1"  # the queue's GPU wins

    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"common": [], "queues": {"0": [{"name": "a", "args": [], "env": {"X": 0}}]}}))
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_campaign.py"), "start", str(plan),
                        "--root", str(tmp_path / "camp")], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 1 and '"env" must map names to strings' in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "camp").exists()  # nothing started


def test_search_sim_runs_the_whole_search_on_the_simulated_engine():
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "search_sim.py"), "--regime", "server", "--seeds", "2",
                        "--ceiling", "60"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 3 and lines[0].startswith("seed  1: ") and "long probes" in lines[0]
    assert lines[-1].startswith("server, ceiling 60.0: highest VALID fixed F = 55.5 QPS; VALID first time ")
