"""run.py --submission-set: the plan of every category and scenario choice, the sets the checker would reject
(refused before anything starts), and the step ledger that resume reads (done, failed, stale, unfinished)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mlperf_vllm.cli import run_main, set_args
from mlperf_vllm.cli.run_args import parse_request
from mlperf_vllm.config import Category, Scenario
from mlperf_vllm.orchestrate import ledger, set_plan
from mlperf_vllm.orchestrate.ledger import State

BASE = ["--submitter", "Acme", "--system-name", "8xH200_vLLM", "--submission-dir", "sub"]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _request(*args: str) -> set_args.SetRequest:
    request = parse_request([*args, *BASE])
    assert isinstance(request, set_args.SetRequest)
    return request


PLANS = [
    ("datacenter", None, ["offline", "server", "interactive"]),
    ("datacenter", "offline,server", ["offline", "server"]),
    ("datacenter", "offline,interactive", ["offline", "interactive"]),
    ("datacenter", "interactive,server,offline", ["offline", "server", "interactive"]),
    ("edge", None, ["offline", "singlestream"]),
    ("edge", "singlestream,offline", ["offline", "singlestream"]),
]


@pytest.mark.parametrize("category,scenarios,expected", PLANS)
def test_plan_of_every_category_and_scenario_choice(workdir, capsys, category, scenarios, expected):
    args = ["--submission-set", category, "--gpus", "0-3", "--plan", *BASE]
    if scenarios:
        args += ["--scenarios", scenarios]
    assert run_main.main(args) == 0
    out = capsys.readouterr().out
    tests = ["accuracy", "performance"] + (["test06"] if category == "datacenter" else [])
    names = [f"{sc}.{t}" for sc in expected for t in tests] + ["pack", "truncate", "check"]
    listed = [line.split()[1] for line in out.splitlines() if line.strip()[:1].isdigit()]
    assert listed == names  # in order: each scenario's tests on its warm engine, then packing
    assert out.count("one engine start on GPUs 0,1,2,3") == len(expected)
    assert ("test06" in out) is (category == "datacenter")
    assert ("INVALID on latency, it runs again at a lower QPS, at most 3 times (5% lower each)" in out) is (
        category == "datacenter")  # the bounded step-down, said before anything runs
    plan = _request("--submission-set", category, "--gpus", "0-3", *(["--scenarios", scenarios] if scenarios else []))
    assert f"about {set_plan.minutes(plan.plan().total_s)}" in out.splitlines()[0]
    assert not any(workdir.iterdir())  # --plan writes nothing: no results, no submission folder


def test_plan_configs_are_the_single_runs(workdir):
    request = _request("--submission-set", "datacenter", "--gpus", "0-7", "--server-target-qps", "40")
    by = {c.scenario: c for c in request.configs}
    assert all(c.mode.value == "both" and c.compliance_test06 for c in request.configs)
    assert all(c.engine.data_parallel_size == 8 for c in request.configs)  # every run uses the whole box
    assert by[Scenario.SERVER].target_qps == 40 and by[Scenario.OFFLINE].target_qps is None
    edge = _request("--submission-set", "edge")
    assert not any(c.compliance_test06 for c in edge.configs) and edge.category is Category.EDGE
    searched = _request("--submission-set", "datacenter", "--scenarios", "offline,server")
    assert searched.configs[1].qps_policy.value == "search"  # no rate given: the search finds it


def test_estimate_from_the_rules(workdir):
    request = _request("--submission-set", "datacenter", "--gpus", "0-7", "--scenarios", "offline,server",
                       "--server-target-qps", "392")
    steps = {s.name: s for s in request.plan().steps}
    # Offline: 1.1 x 600 s x 480 samples/s = 316,800, padded to 24 passes of 13,368 = 320,832 samples at 480/s
    assert steps["offline.performance"].estimate_s == pytest.approx(320_832 / 480)
    # Server at 392 QPS: 235,200 queries padded to 18 passes = 240,624 queries
    assert steps["server.performance"].estimate_s == pytest.approx(240_624 / 392)
    assert steps["server.accuracy"].estimate_s == pytest.approx(13_368 / 392 + 13_368 * set_plan.SCORE_S_PER_SAMPLE)
    assert steps["offline.test06"].estimate_s == set_plan.TEST06_MIN_S
    plan = request.plan()
    assert plan.total_s == pytest.approx(2 * set_plan.ENGINE_START_S + sum(s.estimate_s for s in plan.steps))
    edge = {s.name: s for s in _request("--submission-set", "edge").plan().steps}
    # SingleStream: 2 x 600 s / 0.49 s = 2,448 queries, rounded up to a whole pass of 5,000, one at a time
    assert edge["singlestream.performance"].estimate_s == pytest.approx(5_000 * 0.49)


def test_each_scenario_runs_the_run_py_call_a_user_would_make(workdir):
    request = _request("--submission-set", "datacenter", "--gpus", "0-3", "--model", "demo", "--server-target-qps",
                       "40", "--offline-expected-qps", "90", "--results-dir", "res", "--pack-failed")
    offline, server = request.argv[Scenario.OFFLINE], request.argv[Scenario.SERVER]
    assert offline == ("--model", "demo", "--results-dir", "res", "--category", "datacenter", "--scenario", "offline",
                       "--mode", "both", "--compliance-test06", "--offline-expected-qps", "90.0",
                       "--data-parallel-size", "4")
    assert "--server-target-qps" in server and "--offline-expected-qps" not in server
    for flag in ("--submission-set", "--gpus", "--pack-failed", "--submission-dir", "--submitter"):
        assert flag not in offline  # the set's own flags stay with the set
    edge = _request("--submission-set", "edge", "--model", "demo").argv[Scenario.SINGLESTREAM]
    assert "--compliance-test06" not in edge and edge[-4:] == ("--scenario", "singlestream", "--mode", "both")
    for scenario, argv in request.argv.items():  # each call parses to the set's own config of that scenario
        cfg, _ = parse_request(list(argv))
        assert cfg == next(c for c in request.configs if c.scenario is scenario)


REFUSALS = [
    (["--submission-set", "datacenter", "--scenarios", "offline"], "needs offline plus at least one of server"),
    (["--submission-set", "datacenter", "--scenarios", "server,interactive"], "needs offline"),
    (["--submission-set", "edge", "--scenarios", "offline,server"], "edge set has no server scenario"),
    (["--submission-set", "edge", "--scenarios", "offline"], "needs offline and singlestream"),
    (["--submission-set", "datacenter", "--scenarios", "offline,warp"], "unknown scenario 'warp'"),
    (["--submission-set", "datacenter", "--scenarios", "offline,server,server"], "names server twice"),
    (["--submission-set", "datacenter", "--gpus", "0-3,2"], "names GPU 2 twice"),
    (["--submission-set", "datacenter", "--gpus", "7-0"], "not a range"),
    (["--submission-set", "datacenter", "--gpus", "0-x"], "GPU indices like 0-7"),
    (["--submission-set", "datacenter", "--gpus", ""], "GPU indices like 0-7"),
    (["--submission-set", "datacenter", "--gpus", "0-2", "--tensor-parallel-size", "2"], "not a multiple"),
    (["--submission-set", "datacenter", "--scenario", "server"], "use --scenarios"),
    (["--submission-set", "datacenter", "--mode", "performance"], "always runs both"),
    (["--gpus", "0-7", "--plan"], "is for --submission-set"),
    (["--submission-set", "datacenter", "--enforce"], "spell every flag out in full"),
    (["--submission-set", "datacenter", "--keep-all", "0"], "--keep-all 0 would delete the set's earlier attempts"),
]


@pytest.mark.parametrize("args,message", REFUSALS)
def test_sets_the_checker_would_reject_are_refused(workdir, capsys, args, message):
    assert run_main.main([*args, *BASE]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not any(workdir.iterdir())


def test_a_set_needs_its_names(workdir, capsys):
    assert run_main.main(["--submission-set", "edge", "--plan", "--submitter", "Acme"]) == 2
    assert "needs --system-name" in capsys.readouterr().err


# The ledger ------------------------------------------------------------------------------------------------


def _plan(*extra: str) -> set_plan.SetPlan:
    return _request("--submission-set", "datacenter", "--scenarios", "offline,server", "--gpus", "0-1",
                    "--server-target-qps", "20", *extra).plan()


def _run(results: Path, name: str, status: str = "completed", perf: str | None = "VALID", acc: str | None = "PASS",
         test06: bool | None = True, pid: int | None = None, files: bool = True) -> str:
    """A run folder as run.py leaves it, with the verdicts and files the ledger reads."""
    run = results / name
    run.mkdir(parents=True)
    if files:
        for rels in ledger.TEST_FILES.values():
            for rel in rels:
                (run / rel).parent.mkdir(parents=True, exist_ok=True)
                (run / rel).write_text("x\n")
    import socket

    summary = {"schema_version": 1, "status": status, "kind": "benchmark",
               "meta": {"run_id": name, "host": socket.gethostname(), "pid": pid},
               "config": {"category": "datacenter", "mode": "both"},
               "validity": {"performance": perf, "accuracy": acc,
                            "reasons": [] if perf == "VALID" else ["latency constraints not met"]},
               "compliance": None if test06 is None else {"TEST06": {"passed": test06,
                                                                     "problems": [] if test06 else ["EOS check"]}}}
    (run / "summary.json").write_text(json.dumps(summary))
    return name


def _previous(plan: set_plan.SetPlan, runs: dict[str, str], results: Path) -> dict:
    """A status.json as the set wrote it when it started these runs (its settings are the plan's)."""
    book = ledger.build(plan, {"submission_dir": "sub"}, None, results)
    doc = ledger.status_document(plan, book, "2026-01-01T00:00:00+00:00", 0.0)
    for entry in doc["steps"]:
        entry["run"] = runs.get(entry["scenario"])
    return doc


def _states(book: ledger.Ledger) -> dict[str, tuple[State, str]]:
    return {s.name: (a.state, a.why) for s, a in zip(book.steps, book.assessments)}


def test_ledger_done_failed_and_pending(tmp_path):
    plan = _plan()
    off = _run(tmp_path, "20260101-000000-offline")
    srv = _run(tmp_path, "20260101-010000-server", perf="INVALID", acc="FAIL", test06=False)
    states = _states(ledger.build(plan, {"submission_dir": "sub"},
                                  _previous(plan, {"offline": off, "server": srv}, tmp_path), tmp_path))
    assert {k: v[0] for k, v in states.items() if k.startswith("offline")} == {
        "offline.accuracy": State.DONE, "offline.performance": State.DONE, "offline.test06": State.DONE}
    assert states["server.performance"] == (State.FAILED, f"{srv}: performance INVALID: latency constraints not met")
    assert states["server.accuracy"] == (State.FAILED, f"{srv}: accuracy FAIL")
    assert states["server.test06"] == (State.FAILED, f"{srv}: TEST06 failed: EOS check")
    assert states["pack"][0] is State.PENDING
    first = ledger.build(plan, {}, None, tmp_path)
    assert all(a.state is State.PENDING for a in first.assessments)  # nothing recorded: nothing done


def test_ledger_a_killed_step_is_unfinished(tmp_path):
    plan = _plan()
    gone = _gone_pid()
    off = _run(tmp_path, "20260101-000000-offline", status="running", pid=gone, files=False)  # kill -9 mid-run
    srv = tmp_path / "20260101-010000-server"
    srv.mkdir()  # kill -9 before the run wrote its first summary
    states = _states(ledger.build(plan, {}, _previous(plan, {"offline": off, "server": srv.name}, tmp_path),
                                  tmp_path))
    assert states["offline.performance"] == (State.UNFINISHED,
                                             f"{off} stopped before it completed (its process is gone)")
    assert states["server.accuracy"][0] is State.UNFINISHED and "no summary.json" in states["server.accuracy"][1]
    alive = _run(tmp_path, "20260101-020000-offline", status="running", pid=os.getpid(), files=False)
    states = _states(ledger.build(plan, {}, _previous(plan, {"offline": alive}, tmp_path), tmp_path))
    assert states["offline.accuracy"][0] is State.RUNNING
    half = _run(tmp_path, "20260101-030000-offline")
    (tmp_path / half / "Accuracy" / "accuracy.txt").unlink()  # a VALID verdict with a file gone does not count
    states = _states(ledger.build(plan, {}, _previous(plan, {"offline": half}, tmp_path), tmp_path))
    assert states["offline.accuracy"] == (State.UNFINISHED, f"{half}: Accuracy/accuracy.txt is missing or empty")
    assert states["offline.performance"][0] is State.DONE


def test_ledger_changed_settings_are_stale_and_say_what_changed(tmp_path):
    plan = _plan()
    off = _run(tmp_path, "20260101-000000-offline")
    previous = _previous(plan, {"offline": off}, tmp_path)
    changed = _plan("--max-num-seqs", "64")
    states = _states(ledger.build(changed, {}, previous, tmp_path))
    assert states["offline.performance"] == (
        State.STALE, f"settings changed since {off}: engine.max_num_seqs None -> 64")
    other_gpus = _request("--submission-set", "datacenter", "--scenarios", "offline,server", "--gpus", "2-3",
                          "--server-target-qps", "20").plan()
    why = _states(ledger.build(other_gpus, {}, previous, tmp_path))["offline.accuracy"][1]
    assert "gpus '0,1' -> '2,3'" in why
    same = ledger.build(_plan(), {}, previous, tmp_path)
    assert ledger.build(plan, {}, previous, tmp_path).keys() == same.keys()  # a key is its settings, nothing else
    assert _states(same)["offline.test06"][0] is State.DONE


def test_status_json_is_one_entry_per_step_with_elapsed_and_remaining(tmp_path):
    plan = _plan()
    off = _run(tmp_path, "20260101-000000-offline")
    book = ledger.build(plan, {}, _previous(plan, {"offline": off}, tmp_path), tmp_path)
    doc = ledger.status_document(plan, book, "2026-01-01T00:00:00+00:00", 123.4, {"offline.accuracy": 60.0})
    path = ledger.status_path(tmp_path, "datacenter")
    ledger.write_status(path, doc)
    back = ledger.read_status(path)
    assert [e["name"] for e in back["steps"]] == [s.name for s in plan.steps]
    assert back["elapsed_s"] == 123.4 and back["steps"][0]["elapsed_s"] == 60.0
    server = next(r for r in plan.runs if r.cfg.scenario is Scenario.SERVER)
    left = server.engine_start_s + sum(s.estimate_s for s in server.steps) + sum(s.estimate_s for s in plan.final)
    assert back["remaining_s"] == pytest.approx(left, abs=0.1)  # Offline is done: its steps are not left
    assert [p.name for p in path.parent.iterdir()] == ["status.json"]  # no temp file left beside it
    path.write_text("{not json")
    assert ledger.read_status(path) is None


def _gone_pid() -> int:
    """A pid with no process behind it (a run killed with kill -9)."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_ledger_a_changed_user_conf_is_stale(tmp_path):
    conf = tmp_path / "user.conf"
    conf.write_text("*.Server.target_qps = 20\n")
    plan = _request("--submission-set", "datacenter", "--scenarios", "offline,server", "--user-conf", str(conf)).plan()
    off = _run(tmp_path, "20260101-000000-offline")
    previous = _previous(plan, {"offline": off}, tmp_path)
    conf.write_text("*.Server.target_qps = 25\n")  # same file name, other content
    states = _states(ledger.build(plan, {}, previous, tmp_path))
    assert states["offline.performance"][0] is State.STALE and "user_conf_sha256" in states["offline.performance"][1]
