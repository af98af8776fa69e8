"""run.py --submission-set killed with kill -9 at every step boundary and inside every kind of step, then the
same command again: finished steps are not run again, the tree is the same, a changed setting is stale.

Real LoadGen and real processes (the set, and each scenario's run.py) on the instant fake engine. Each kill
point is an event: the process about to hang there writes a marker file first; the test kills the whole
process group once the marker exists, never after a delay.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.integration

# HANG_AT="<scenario>:<point>" stops that scenario's run.py at a point: before the engine starts, inside its
# accuracy, performance or TEST06 test, or after it completed; "set:<point>" stops the set itself.
FAKE_RUN = """
import os, sys, threading
sys.path.insert(0, {root!r})
from mlperf_vllm.cli.run_main import main
from mlperf_vllm.engines.fake import InstantEngine
from mlperf_vllm.orchestrate import benchmark

where, _, point = os.environ.get("HANG_AT", "").partition(":")
mine = where in sys.argv

def hang(at):
    if mine and point == at:
        open(os.environ["HANG_MARKER"], "w").close()
        threading.Event().wait()

def engine(spec):
    hang("start")
    return InstantEngine(8)

one, t06 = benchmark.run_one, benchmark.run_test06
def run_one(settings, sut, test, *rest, **kw):
    hang(test.value)
    return one(settings, sut, test, *rest, **kw)
def run_test06(*args, **kw):
    hang("test06")
    return t06(*args, **kw)
benchmark.run_one, benchmark.run_test06 = run_one, run_test06
code = main(sys.argv[1:], engine_factory=engine)
hang("end")
sys.exit(code)
"""
SET_SCRIPT = """
import os, sys, threading
sys.path.insert(0, {root!r})
from mlperf_vllm.cli import run_main
from mlperf_vllm.orchestrate import checker, set_run, submission

where, _, point = os.environ.get("HANG_AT", "").partition(":")

def hanging(at, real):
    def call(*args, **kw):
        if where == "set" and point == at:
            open(os.environ["HANG_MARKER"], "w").close()
            threading.Event().wait()
        return real(*args, **kw)
    return call

set_run.SetRunner.pack_and_check = hanging("before-pack", set_run.SetRunner.pack_and_check)
submission._lay_out = hanging("pack", submission._lay_out)
checker.run_checker = hanging("check", checker.run_checker)
set_run.SetRunner.readiness = hanging("table", set_run.SetRunner.readiness)
run_main.SCENARIO_COMMAND = (sys.executable, {fake!r})
sys.exit(run_main.main(sys.argv[1:]))
"""


def _command(tmp_path: Path) -> list[str]:
    (tmp_path / "fake_run.py").write_text(FAKE_RUN.format(root=str(ROOT)))
    (tmp_path / "set.py").write_text(SET_SCRIPT.format(root=str(ROOT), fake=str(tmp_path / "fake_run.py")))
    return [sys.executable, str(tmp_path / "set.py"), "--submission-set", "datacenter", "--scenarios",
            "offline,server", "--model", "demo", "--device", "cpu", "--total-sample-count", "8", "--min-duration",
            "0", "--offline-expected-qps", "100", "--server-target-qps", "50", "--submitter", "Acme",
            "--system-name", "demo_cpu", "--submission-dir", "sub", "--results-dir", "res", "--pack-failed"]


def _kill_at(command: list[str], cwd: Path, at: str) -> str:
    """Run the set until it reaches `at`, kill -9 it and its run there; what it printed."""
    marker, out = cwd / "hang-marker", cwd / "hang-out.txt"
    marker.unlink(missing_ok=True)
    env = dict(os.environ, HANG_AT=at, HANG_MARKER=str(marker))
    with out.open("w") as sink:
        proc = subprocess.Popen(command, cwd=cwd, env=env, start_new_session=True, stdout=sink,
                                stderr=subprocess.STDOUT)
        while not marker.exists() and proc.poll() is None:
            time.sleep(0.05)  # polling for the marker: the kill waits for the event, never for a time
    assert marker.exists(), f"{at}: the set ended ({proc.returncode}) before it got there:\n{out.read_text()[-3000:]}"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    while True:  # until init has reaped the killed run too (a zombie still answers kill(pid, 0))
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    return out.read_text()


def _runs(results: Path) -> dict[str, str]:
    """Every run folder with a digest of its files (a run that is not rerun keeps its digest)."""
    return {p.name: _digest(p) for p in sorted(results.glob("2*-datacenter-*"))}


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def _status(cwd: Path) -> dict[str, dict]:
    doc = json.loads((cwd / "res" / "submission-set-datacenter" / "status.json").read_text())
    return {e["name"]: e for e in doc["steps"]}


def _done_runs(status: dict[str, dict], runs: dict[str, str]) -> dict[str, str]:
    return {e["run"]: runs[e["run"]] for e in status.values() if e["state"] == "done" and e["run"]}


def test_killed_at_every_step_boundary_and_inside_steps_then_resumed(tmp_path):
    command = _command(tmp_path)
    res, sub = tmp_path / "res", tmp_path / "sub"
    # Inside Offline's run: before the engine starts, inside each of its three tests, after it completed.
    for at in ("offline:start", "offline:accuracy", "offline:performance", "offline:test06", "offline:end"):
        printed = _kill_at(command, tmp_path, at)
        assert all(e["state"] == "running" for n, e in _status(tmp_path).items() if n.startswith("offline"))
        if at != "offline:start":  # the run killed before is named, and its folder kept
            assert "unfinished — " in printed and "stopped before it completed (its process is gone)" in printed
    killed = sorted(res.glob("*-datacenter-offline*"))
    assert len(killed) == 5
    # Offline's last run completed before the kill: the set takes it over and starts Server.
    printed = _kill_at(command, tmp_path, "server:start")
    assert f"offline.performance: done — {killed[-1].name}: performance VALID" in printed
    assert sorted(res.glob("*-datacenter-offline*")) == killed  # not run again
    status = _status(tmp_path)
    assert {status[f"offline.{t}"]["state"] for t in ("performance", "test06")} == {"done"}
    assert status["offline.accuracy"]["state"] == "failed"  # the demo model fails the gate
    finished = {k: v for k, v in _runs(res).items() if k == killed[-1].name}
    for at in ("server:performance", "server:end", "set:before-pack", "set:pack"):
        _kill_at(command, tmp_path, at)
        runs = _runs(res)
        assert {k: runs[k] for k in finished} == finished  # finished runs stay byte for byte
        finished.update(_done_runs(_status(tmp_path), runs))
    assert not sub.exists()  # killed inside packing: no half tree (it is built hidden, then renamed)
    servers = sorted(res.glob("*-datacenter-server*"))
    assert len(servers) == 3 and _status(tmp_path)["server.test06"]["run"] == servers[-1].name

    _kill_at(command, tmp_path, "set:check")  # the tree is whole; the checker was running
    assert _status(tmp_path)["pack"]["state"] == "done" and _status(tmp_path)["check"]["state"] == "running"
    tree = _digest(sub)
    assert not list(tmp_path.glob(".sub.partial-*"))  # the staging folder of the killed pack is gone
    _kill_at(command, tmp_path, "set:table")  # checked; killed before the table
    assert _status(tmp_path)["check"]["state"] == "failed"  # the checker rejects a demo tree
    assert _digest(sub) == tree  # not packed again

    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    out = done.stdout
    assert done.returncode == 0, out[-3000:] + done.stderr[-3000:]
    assert "Set: 0 of 9 steps to run" in out and "pack: done" in out and "check: failed (skipped" in out
    assert "Demo set: the checker accepts the tree but for what a demo cannot give: " in out
    for named in ("the full data set", "the 600 s minimum duration", "accuracy (the demo model fails the gate)"):
        assert named in out
    table = out[out.index("| scenario | performance"):].splitlines()
    assert table[2] == "| Offline | ok (attempt 5) | FAILED: accuracy FAIL | ok | yes (failed) |"
    assert table[3].startswith("| Server | FAILED: performance INVALID")
    assert table[4] == "Offline: 5 attempts, every run folder kept"  # each killed attempt is listed
    assert table[5] == f"  1. {killed[0].name}: unfinished, stopped before it completed (killed, crashed or rebooted)"
    assert table[9].startswith(f"  5. {killed[4].name}: completed, performance VALID")
    assert _digest(sub) == tree and sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("sub")) == [
        "sub", "sub-checker-summary.csv", "sub-checker.log"]  # the same tree, nothing set aside
    assert _runs(res) == {**_runs(res), **finished} and len(_runs(res)) == 8
    base = sub / "closed" / "Acme" / "results" / "demo_cpu" / "llama3.1-8b"
    offline = res / killed[-1].name
    for rel in ("performance/run_1/mlperf_log_detail.txt", "accuracy/mlperf_log_summary.txt"):
        src = offline / rel.replace("performance/run_1", "Performance").replace("accuracy/", "Accuracy/")
        assert (base / "Offline" / rel).read_bytes() == src.read_bytes()  # packed from the run finished first
    assert "hash=" in (base / "Server" / "accuracy" / "accuracy.txt").read_text()

    # A changed setting: its steps are stale and say what changed; a tree this set did not pack is refused.
    changed = [*command, "--max-num-seqs", "4"]
    printed = _kill_at(changed, tmp_path, "offline:start")
    assert f"offline.performance: stale — settings changed since {killed[-1].name}: engine.max_num_seqs None -> 4" \
        in printed
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "file").write_text("x")
    i = command.index("--submission-dir")
    refused = subprocess.run([*command[:i + 1], "other", *command[i + 2:]], cwd=tmp_path, capture_output=True,
                             text=True, timeout=600)
    assert refused.returncode == 2 and "this set did not pack it" in refused.stderr  # before anything runs
