"""Interruption, engine-failure advice and crash behaviour."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlperf_vllm import diagnose
from mlperf_vllm.config import EngineConfig

from .conftest import ROOT


def test_oom_advice_names_the_flags_and_the_numbers():
    cfg = EngineConfig(model="m", max_model_len=131072, gpu_memory_utilization=0.9)
    inner = ValueError("To serve at least one request with the model's max seq len (131072), 16.00 GiB KV cache "
                       "is needed, which is larger than the available KV cache memory (9.50 GiB).")
    try:
        try:
            raise inner
        except ValueError as e:
            raise RuntimeError("Engine core initialization failed. See root cause above.") from e
    except RuntimeError as outer:
        text = diagnose.advice(outer, cfg)
    assert "lower --max-model-len (now 131072)" in text and "--gpu-memory-utilization (now 0.9)" in text
    assert "9.50 GiB" in text


def test_other_engine_failures():
    assert "CUDA is not available" in diagnose.advice(RuntimeError("No CUDA GPUs are available"))
    assert "architecture" in diagnose.advice(ValueError("Model architectures ['Foo'] are not supported for now."))
    assert diagnose.advice(RuntimeError("something else")) is None


# run.py, with a LoadGen test logging its progress every PROGRESS_S instead of every minute
RUN_PY_LOGGING_OFTEN = ("import sys; from mlperf_vllm.mlperf import harness; harness.LOG_EVERY_S = {s}; "
                        "from mlperf_vllm.cli.run_main import main; sys.exit(main(sys.argv[1:]))")
PROGRESS_S = 2.0


def _start(results: Path, scenario: str, *extra: str) -> subprocess.Popen:
    args = [sys.executable, "-c", RUN_PY_LOGGING_OFTEN.format(s=PROGRESS_S), "--model", "demo",
            "--scenario", scenario, "--mode", "performance", "--total-sample-count", "2000", "--min-duration", "120",
            "--results-dir", str(results), *extra]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            start_new_session=True)


def _wait_for_loadgen(results: Path, proc: subprocess.Popen, timeout: float = 600) -> Path:
    t0 = time.time()
    while time.time() - t0 < timeout:
        found = list(results.glob("*/Performance/mlperf_log_detail.txt"))
        if found and found[0].stat().st_size > 0:
            return found[0].parent.parent
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.5)
    raise AssertionError("LoadGen did not start")


def _wait_for_completions(run_dir: Path, proc: subprocess.Popen, timeout: float = 600) -> None:
    """Until a progress line in run.log (one every PROGRESS_S) counts a completed sample: a fixed sleep
    would depend on how fast a loaded machine answers its first query. `timeout` is a hang guard."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        done = re.findall(r"performance \w+: ([0-9,]+)/", (run_dir / "run.log").read_text())
        if done and int(done[-1].replace(",", "")) > 0:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.5)
    raise AssertionError("no sample completed")


def _descendants_alive(pgid: int) -> bool:
    out = subprocess.run(["ps", "-o", "pid=", "-g", str(pgid)], capture_output=True, text=True).stdout
    return bool(out.strip())


def _descendants_end(pgid: int, timeout: float = 60) -> bool:
    """Whether the process group empties (its last processes may still be exiting); `timeout` is a hang guard."""
    t0 = time.monotonic()
    while _descendants_alive(pgid):
        if time.monotonic() - t0 > timeout:
            return False
        time.sleep(0.1)
    return True


@pytest.mark.integration
@pytest.mark.parametrize("scenario,extra,signum", [("offline", (), signal.SIGTERM),
                                                   ("server", ("--server-target-qps", "20"), signal.SIGINT)],
                         ids=["offline-SIGTERM", "server-SIGINT"])
def test_an_interrupt_stops_the_run_keeps_logs_and_marks_it(tmp_path, scenario, extra, signum):
    """Ctrl-C (SIGINT) and SIGTERM are one interrupt (cli/interrupt.py), so each scenario takes one of them."""
    results = tmp_path / "results"
    proc = _start(results, scenario, *extra)
    run_dir = _wait_for_loadgen(results, proc)
    _wait_for_completions(run_dir, proc)  # some samples are done before the interrupt, some still in flight
    os.kill(proc.pid, signum)
    out, err = proc.communicate(timeout=120)  # a hang guard; the run stops in seconds
    assert proc.returncode == 130, err[-2000:]
    # The run took the interrupt up itself: the watchdog, which leaves after interrupts.GRACE_S when it
    # does not, had nothing to do.
    assert "leaving now" not in err
    assert "Interrupted: logs so far are kept" in err and "Traceback" not in err
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "interrupted"
    assert (run_dir / "Performance" / "mlperf_log_detail.txt").stat().st_size > 0  # LoadGen's log kept
    # the SUT's timings of what was issued before the interrupt, for diagnosis
    with (run_dir / "Performance" / "sut_timings.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert rows and any(r["latency_ms"] not in ("", "None") for r in rows)
    assert "INTERRUPTED" in (results / "index.md").read_text()
    assert "**Run INTERRUPTED**" in (run_dir / "report.md").read_text()
    assert _descendants_end(proc.pid)  # nothing of the process group survives


def test_the_async_engines_loop_runs_tasks_and_refuses_work_once_stopped():
    import asyncio
    import threading

    from mlperf_vllm.engines.aio import LoopThread

    aio = LoopThread("test-loop")
    done = threading.Event()
    seen = []

    async def work(x):
        await asyncio.sleep(0)
        seen.append(x)
        if len(seen) == 3:
            done.set()

    assert aio.spawn(work, [1, 2, 3]) and done.wait(5) and sorted(seen) == [1, 2, 3]
    assert aio.run(asyncio.sleep(0, result="ok"), timeout=5) == "ok"
    aio.stop()
    assert aio.stopped and aio.spawn(work, [4]) is False  # a late submit fails at once instead of hanging
    aio.stop()  # idempotent


@pytest.mark.integration
def test_an_interrupt_swallowed_during_the_engine_start_still_stops_the_run(tmp_path):
    """As when Ctrl-C lands in a finalizer inside vLLM's start-up ("Exception ignored in ... __del__"):
    the watchdog ends the run after interrupts.GRACE_S (under 10 s); without it, the start below would
    end the run only after 120 s, with exit code 1."""
    results = tmp_path / "results"
    starting = tmp_path / "engine-starting"
    code = f"""
import sys, time
from pathlib import Path
from mlperf_vllm.cli.run_main import main

def swallowing_start(spec):
    t0 = time.time()
    while True:
        try:
            Path({str(starting)!r}).touch()  # from here on, an interrupt is swallowed
            while time.time() - t0 < 120:
                time.sleep(0.1)
            break
        except KeyboardInterrupt:
            pass  # swallowed, like an exception raised inside __del__
    raise SystemExit("the interrupt was ignored")

sys.exit(main(["--model", "demo", "--scenario", "offline", "--mode", "performance", "--total-sample-count", "8",
               "--results-dir", {str(results)!r}], engine_factory=swallowing_start))
"""
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=ROOT, start_new_session=True)
    t0 = time.monotonic()
    while not starting.exists():
        assert proc.poll() is None and time.monotonic() - t0 < 600, proc.communicate()  # a hang guard
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=300)  # a hang guard; without the watchdog the start ends at 120 s, exit 1
    assert proc.returncode == 130, err[-2000:]
    assert "leaving now" in err and "Traceback" not in err
    run_dir = next(p for p in results.iterdir() if p.is_dir() and not p.is_symlink())
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "interrupted" and (run_dir / "config.json").is_file()
    assert "| INTERRUPTED |" in (results / "index.md").read_text()


def test_a_long_test_logs_its_progress_where_a_background_run_is_followed(caplog):
    """Without a terminal no progress line is drawn; every log_every_s a line goes to the log (run.log)."""
    import logging
    import time

    from mlperf_vllm.progress import Progress

    done = {"n": 0}
    with caplog.at_level(logging.INFO, logger="mlperf_vllm.progress"):
        with Progress("performance Interactive", lambda: (done["n"], 128 * done["n"]), enabled=False, total=10,
                      interval_s=0.01, log_every_s=0.05):
            deadline = time.monotonic() + 10
            while not any("/10 samples" in r.getMessage() for r in caplog.records) and time.monotonic() < deadline:
                done["n"] = min(10, done["n"] + 1)
                time.sleep(0.02)
    lines = [r.getMessage() for r in caplog.records if r.name == "mlperf_vllm.progress"]
    assert lines and lines[0].startswith("performance Interactive: ") and "/10 samples" in lines[0]
    assert "tokens/s" in lines[0]


# run.py's QPS search on a fake engine that answers in 10 ms (it passes every probe, so the search goes on
# doubling its rate from where the burst placed it until it is stopped); with "crash", the engine's core dies
# after the first probe: the next look at its queue raises, as vLLM's does once its engine process is gone
SEARCH_RUN_PY = """
import sys
from mlperf_vllm.cli.run_main import main
from mlperf_vllm.engines.fake import TimedEngine
from mlperf_vllm.orchestrate.rate_estimate import burst_queries

class DiesAfterTheFirstProbe(TimedEngine):
    def outstanding(self):
        if sys.argv[2] == "crash" and len(self.submits) > burst_queries(None):  # the burst, then a probe
            raise RuntimeError("engine core died (EngineDeadError)")
        return super().outstanding()

sys.exit(main(["--model", "demo", "--scenario", "server", "--mode", "performance", "--total-sample-count", "16",
               "--server-target-qps", "search", "--search-probe-duration", "1", "--min-duration", "1",
               "--results-dir", sys.argv[1]],
              engine_factory=lambda spec: DiesAfterTheFirstProbe(ttft_s=0.01, tpot_s=0.002, n_tokens=4)))
"""


def _judged_probes(results: Path) -> int:
    logs = list(results.glob("*/run.log"))
    return len(re.findall(r"search: probe probe-\d+", logs[0].read_text())) if logs else 0


@pytest.mark.integration
@pytest.mark.parametrize("ending", ["SIGTERM", "SIGINT", "crash"])
def test_a_search_that_does_not_end_keeps_every_probe_it_judged(tmp_path, ending):
    results = tmp_path / "results"
    proc = subprocess.Popen([sys.executable, "-c", SEARCH_RUN_PY, str(results), ending.lower()],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, start_new_session=True)
    if ending != "crash":
        t0 = time.time()
        while _judged_probes(results) < 1:  # the first probe judged: its line in run.log
            assert proc.poll() is None and time.time() - t0 < 300, proc.communicate()
            time.sleep(0.2)
        os.kill(proc.pid, getattr(signal, ending))
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == (4 if ending == "crash" else 130), err[-3000:]
    assert "Traceback" not in err
    run_dir = next(p for p in results.iterdir() if p.is_dir() and not p.is_symlink())
    summary = json.loads((run_dir / "summary.json").read_text())
    search = summary["qps_search"]
    judged = _judged_probes(results)
    assert search is not None and len(search["probes"]) == judged >= 1, search
    assert search["stopped_by"] == ("error" if ending == "crash" else "interrupt")
    first = search["probes"][0]
    assert first["qps"] == pytest.approx(search["start_qps"], rel=1e-5) and first["passed"]
    assert first["log_dir"] == f"Search/probe-01-qps-{first['qps']:.4g}"
    assert search["best_qps"] == max(p["qps"] for p in search["probes"])
    assert summary["status"] == ("failed" if ending == "crash" else "interrupted")
    assert any("the QPS search was stopped by an" in n for n in summary["notes"])
    report = (run_dir / "report.md").read_text()
    assert "## QPS search" in report and f"| 1 | {first['qps']:,.4g} |" in report
    assert f"stopped by {search['stopped_by']}" in report
    if ending == "crash":
        assert "engine core died" in err
