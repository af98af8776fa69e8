"""A submission set's failures by class: an engine crash gets one retry; a latency-INVALID Server or
Interactive run steps its QPS down 3 times by 5%; accuracy and TEST06 failures are not retried and keep the
scenario out of the tree unless --pack-failed. Every attempt is kept and listed. The scenario runs are
scripted run folders (summary.json and the files the ledger reads), as run.py leaves them."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from mlperf_vllm.cli import set_args
from mlperf_vllm.cli.run_args import parse_request
from mlperf_vllm.config import Scenario
from mlperf_vllm.orchestrate import ledger, set_attempts
from mlperf_vllm.orchestrate.ledger import State
from mlperf_vllm.orchestrate.set_run import Packing, ScenarioResult, SetRunner
from mlperf_vllm.results import store

LATENCY = "latency constraints not met (p99 TTFT 2,400.0 ms > 2,000 ms): lower --server-target-qps"
SHORT = "minimum duration not met: raise the expected QPS (Offline) or run longer"


def _request(tmp_path: Path, scenario: str = "server", *extra: str) -> set_args.SetRequest:
    request = parse_request(["--submission-set", "datacenter", "--scenarios", f"offline,{scenario}",
                             "--server-target-qps", "50", "--results-dir", str(tmp_path / "res"), "--submitter",
                             "Acme", "--system-name", "sys", "--submission-dir", str(tmp_path / "sub"), *extra])
    assert isinstance(request, set_args.SetRequest)
    return request


class Script:
    """run_scenario for a SetRunner: each call makes the next scripted run folder and says how it ended."""

    def __init__(self, results: Path, outcomes: list[dict]) -> None:
        self.results, self.outcomes, self.asked = results, list(outcomes), []

    def __call__(self, cfg, target_qps):
        self.asked.append(target_qps)
        o = self.outcomes.pop(0)
        if o.get("killed"):
            raise KeyboardInterrupt  # the set dies here: status.json stays as it was (kill -9)
        run = store.new_run_dir(self.results, f"datacenter-{cfg.scenario.value}")
        if o.get("crash"):
            return ScenarioResult(run, "failed", 4)
        for rels in ledger.TEST_FILES.values():
            for rel in rels:
                (run / rel).parent.mkdir(parents=True, exist_ok=True)
                (run / rel).write_text("x\n")
        perf = o.get("perf", "VALID")
        summary = {"schema_version": 1, "status": "completed", "kind": "benchmark",
                   "meta": {"run_id": run.name, "host": socket.gethostname(), "pid": os.getpid()},
                   "config": {"category": "datacenter", "scenario": cfg.scenario.value, "mode": "both",
                              "target_qps": target_qps if target_qps is not None else cfg.target_qps},
                   "validity": {"performance": perf, "accuracy": o.get("acc", "PASS"),
                                "reasons": [] if perf == "VALID" else [o.get("why", LATENCY)]},
                   "compliance": {"TEST06": {"passed": o.get("test06", True), "problems": []}}}
        (run / "summary.json").write_text(json.dumps(summary))
        return ScenarioResult(run, "completed", 0 if perf == "VALID" else 5)


def _runner(tmp_path: Path, script: Script, pack_failed: bool = False, scenario: str = "server"):
    request = _request(tmp_path, scenario)
    packing = Packing(request.results_dir, request.submission_dir, "sys", "Acme", "v6.1", pack_failed)
    said: list[str] = []
    runner = SetRunner(request.plan(), packing, script, said.append)
    return runner, runner.plan.runs[1], said


def _states(runner: SetRunner, run) -> dict[str, State]:
    return {s.test: runner.state(s.name).state for s in run.steps}


@pytest.mark.parametrize("scenario", ["server", "interactive"])
def test_latency_invalid_steps_the_qps_down_and_keeps_every_attempt(tmp_path, scenario):
    script = Script(tmp_path / "res", [{"perf": "INVALID"}, {"perf": "INVALID"}, {"perf": "INVALID"}, {}])
    runner, run, said = _runner(tmp_path, script, scenario=scenario)
    assert runner.run_one(run) is None
    assert script.asked == [None, 47.5, 45.125, 42.869]  # 3 steps, each 5% below the attempt before
    assert _states(runner, run) == {"accuracy": State.DONE, "performance": State.DONE, "test06": State.DONE}
    history = runner.attempts[scenario]
    assert [a["target_qps"] for a in history] == [50, 47.5, 45.125, 42.869]
    assert [a["performance"] for a in history] == ["INVALID", "INVALID", "INVALID", "VALID"]
    assert len({a["run"] for a in history}) == 4 and all((tmp_path / "res" / a["run"]).is_dir() for a in history)
    assert f"  {run.cfg.scenario.display}: performance INVALID on latency at 50 QPS; step 1 of 3: 47.5 QPS (5% lower)" \
        in said
    table = runner.readiness()
    assert table[3].startswith(f"| {run.cfg.scenario.display} | ok (attempt 4, 42.869 QPS) | ok | ok |")
    assert table[4] == f"{run.cfg.scenario.display}: 4 attempts, every run folder kept"
    assert table[5] == (f"  1. {history[0]['run']} at 50 QPS: completed, performance INVALID: {LATENCY}")
    assert table[8] == f"  4. {history[3]['run']} at 42.869 QPS (QPS step-down): completed, performance VALID"
    status = ledger.read_status(runner.path)
    assert status["attempts"][scenario] == history  # status.json shows them to another terminal


def test_the_step_down_is_bounded(tmp_path):
    script = Script(tmp_path / "res", [{"perf": "INVALID"}] * 4)
    runner, run, _ = _runner(tmp_path, script)
    runner.run_one(run)
    assert len(script.asked) == 4 and runner.state("server.performance").state is State.FAILED
    assert runner.next_attempt(run, 0) is None  # the same command later does not step further either


@pytest.mark.parametrize("outcome", [{"perf": "INVALID", "why": SHORT}, {"perf": "INVALID", "acc": "FAIL"},
                                     {"acc": "FAIL"}, {"test06": False}])
def test_other_failures_are_not_retried_and_keep_the_scenario_out_of_the_tree(tmp_path, outcome):
    script = Script(tmp_path / "res", [outcome])
    runner, run, _ = _runner(tmp_path, script)
    runner.run_one(run)
    assert len(script.asked) == 1  # a shorter run, a wrong answer or a failed audit would repeat
    assert State.FAILED in _states(runner, run).values()
    runs, left_out = ledger.pack_selection(runner.plan, runner.book, pack_failed=False)
    assert runs == [] and left_out[1].startswith("Server (server.")
    runs, _ = ledger.pack_selection(runner.plan, runner.book, pack_failed=True)
    assert runs == [runner.state("server.test06").run]  # --pack-failed packs it, named as failed
    assert runner.packed(run) == "no"


def test_pack_failed_still_steps_down_a_blocked_scenario(tmp_path):
    script = Script(tmp_path / "res", [{"perf": "INVALID", "acc": "FAIL"}, {"acc": "FAIL"}])
    runner, run, _ = _runner(tmp_path, script, pack_failed=True)
    runner.run_one(run)
    assert script.asked == [None, 47.5]  # the pipeline is tried as far as it goes
    assert _states(runner, run)["performance"] is State.DONE


def test_a_crash_gets_one_retry(tmp_path):
    script = Script(tmp_path / "res", [{"crash": True}, {}])
    runner, run, said = _runner(tmp_path, script)
    runner.run_one(run)
    assert script.asked == [None, None] and all(s is State.DONE for s in _states(runner, run).values())
    assert "  Server: the run failed; retrying once at the same settings" in said
    assert [a["ended"] for a in runner.attempts["server"]] == ["failed", "completed"]

    again = Script(tmp_path / "b" / "res", [{"crash": True}, {"crash": True}, {}])
    runner, run, _ = _runner(tmp_path / "b", again)
    runner.run_one(run)
    assert len(again.asked) == 2  # the retry failed too: the set stops retrying
    assert all(s is State.UNFINISHED for s in _states(runner, run).values())
    assert runner.exit_code() == 4


def test_a_set_killed_during_a_step_down_resumes_at_the_lower_rate(tmp_path):
    script = Script(tmp_path / "res", [{"perf": "INVALID"}, {"killed": True}])
    runner, run, _ = _runner(tmp_path, script)
    with pytest.raises(KeyboardInterrupt):
        runner.run_one(run)
    resumed = Script(tmp_path / "res", [{}])
    runner, run, _ = _runner(tmp_path, resumed)
    assert [a["ended"] for a in runner.attempts["server"]] == ["completed", "unfinished"]
    runner.run_one(run)
    assert resumed.asked == [47.5] and runner.state("server.performance").state is State.DONE
    history = runner.attempts["server"]
    assert [(a["attempt"], a["step_down"]) for a in history] == [(1, False), (2, True), (3, True)]


def test_a_changed_setting_starts_a_new_list_of_attempts(tmp_path):
    runner, run, _ = _runner(tmp_path, Script(tmp_path / "res", [{"perf": "INVALID"}, {}]))
    runner.run_one(run)
    assert len(runner.attempts["server"]) == 2
    request = _request(tmp_path, "server", "--max-num-seqs", "64")
    packing = Packing(request.results_dir, request.submission_dir, "sys", "Acme", "v6.1", False)
    changed = SetRunner(request.plan(), packing, Script(tmp_path / "res", []), print)
    assert changed.state("server.performance").state is State.STALE and changed.attempts["server"] == []


def test_with_target_qps_replaces_the_rate_of_a_scenario_call():
    argv = ("--model", "demo", "--scenario", "server", "--server-target-qps", "search", "--mode", "both")
    assert set_args.with_target_qps(argv, 47.5)[-2:] == ("--server-target-qps", "47.5")
    assert "search" not in set_args.with_target_qps(argv, 47.5)
    assert set_args.with_target_qps(argv, None) == argv
    assert set_attempts.STREAMING == (Scenario.SERVER, Scenario.INTERACTIVE)
