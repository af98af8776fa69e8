"""Run folders, atomic writes, latest and the index."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from mlperf_vllm.results import atomic, store


def _summary(run_dir: Path, started: str, category="datacenter", scenario="offline", status="completed",
             value=100.0, validity="VALID") -> None:
    atomic.write_json_atomic(run_dir / store.SUMMARY_FILE, {
        "schema_version": 1, "status": status, "meta": {"started_at": started, "run_id": run_dir.name},
        "config": {"model_label": "demo", "category": category, "scenario": scenario, "mode": "both"},
        "headline": {"name": "tokens_per_s", "value": value, "unit": "tokens/s"},
        "validity": {"performance": validity, "accuracy": "PASS"}})


def test_unique_folders_for_runs_started_in_the_same_second(tmp_path):
    now = dt.datetime(2026, 1, 2, 3, 4, 5)
    made: list[Path] = []
    lock = threading.Lock()

    def make():
        p = store.new_run_dir(tmp_path, "datacenter-offline", now)
        with lock:
            made.append(p)

    threads = [threading.Thread(target=make) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({p.name for p in made}) == 16
    assert sorted(p.name for p in made)[0] == "20260102-030405-datacenter-offline"


def test_unique_folders_across_processes(tmp_path):
    code = ("import sys, datetime as dt; from pathlib import Path; from mlperf_vllm.results import store; "
            "print(store.new_run_dir(Path(sys.argv[1]), 'x', dt.datetime(2026,1,1)).name)")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True,
                              cwd=Path(__file__).resolve().parents[1]) for _ in range(6)]
    names = [p.communicate()[0].strip() for p in procs]
    assert len(set(names)) == 6


def test_atomic_write_never_leaves_a_half_written_file(tmp_path, monkeypatch):
    target = tmp_path / "summary.json"
    atomic.write_json_atomic(target, {"v": 1})

    def crash(*_a, **_k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        atomic.write_json_atomic(target, {"v": 2, "big": "x" * 100000})
    assert json.loads(target.read_text()) == {"v": 1}  # the old content, whole
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]  # no temp file left behind


def test_atomic_write_survives_a_killed_writer(tmp_path):
    target = tmp_path / "index.md"
    atomic.write_text_atomic(target, "old\n")
    code = ("import os, sys; from pathlib import Path; from mlperf_vllm.results import atomic; "
            "atomic.os.replace = lambda *a: os._exit(9); "  # die between writing and renaming
            "atomic.write_text_atomic(Path(sys.argv[1]), 'new' * 100000)")
    rc = subprocess.run([sys.executable, "-c", code, str(target)], cwd=Path(__file__).resolve().parents[1]).returncode
    assert rc == 9
    assert target.read_text() == "old\n"


def test_index_and_latest_rebuild_newest_first(tmp_path):
    a = store.new_run_dir(tmp_path, "datacenter-offline", dt.datetime(2026, 1, 1, 10))
    b = store.new_run_dir(tmp_path, "datacenter-server", dt.datetime(2026, 1, 2, 10))
    c = store.new_run_dir(tmp_path, "edge-offline", dt.datetime(2026, 1, 3, 10))
    _summary(a, "2026-01-01T10:00:00", value=10.5)
    _summary(b, "2026-01-02T10:00:00", scenario="server", validity="INVALID")
    _summary(c, "2026-01-03T10:00:00", category="edge", status="interrupted")
    store.rebuild_index(tmp_path)
    text = (tmp_path / "index.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith("| 2026")]
    assert [r.split("|")[2].strip().split("]")[0][1:] for r in rows] == [c.name, b.name, a.name]
    assert "INTERRUPTED" in rows[0] and "INVALID" in rows[1] and "10.50 tokens/s" in rows[2]
    assert (tmp_path / "latest").resolve() == c.resolve()
    (tmp_path / "index.md").unlink()
    (tmp_path / "latest").unlink()
    store.rebuild_index(tmp_path)  # from the folders alone
    assert (tmp_path / "index.md").read_text() == text
    assert (tmp_path / "latest").resolve() == c.resolve()


def test_keep_all_0_removes_only_the_same_category_and_scenario(tmp_path):
    old_off = store.new_run_dir(tmp_path, "a", dt.datetime(2026, 1, 1))
    old_srv = store.new_run_dir(tmp_path, "b", dt.datetime(2026, 1, 1))
    old_edge = store.new_run_dir(tmp_path, "c", dt.datetime(2026, 1, 1))
    new = store.new_run_dir(tmp_path, "d", dt.datetime(2026, 1, 2))
    _summary(old_off, "1")
    _summary(old_srv, "1", scenario="server")
    _summary(old_edge, "1", category="edge")
    _summary(new, "2")
    removed = store.remove_earlier_runs(tmp_path, new, "datacenter", "offline")
    assert [r.name for r in removed] == [old_off.name] and not old_off.exists()
    assert old_srv.exists() and old_edge.exists() and new.exists()


@pytest.mark.parametrize("content", ['{"meta": 5}', "[]", "{}", "not json", '{"schema_version": 1, "status": 3}'])
def test_a_foreign_summary_never_breaks_the_history(tmp_path, content, capsys):
    from mlperf_vllm.cli import report_main

    good = store.new_run_dir(tmp_path, "datacenter-offline", dt.datetime(2026, 1, 1, 10))
    _summary(good, "2026-01-01T10:00:00")
    odd = store.new_run_dir(tmp_path, "datacenter-server", dt.datetime(2026, 1, 2, 10))
    (odd / store.SUMMARY_FILE).write_text(content)
    store.rebuild_index(tmp_path)
    rows = [ln for ln in (tmp_path / "index.md").read_text().splitlines() if ln.startswith("| 20")]
    assert len(rows) == 2 and "UNREADABLE" in rows[0] and "100.00 tokens/s" in rows[1]
    assert (tmp_path / "latest").resolve() == good.resolve()  # latest never points at a foreign folder
    assert report_main.main(["--rebuild-index", "--results-dir", str(tmp_path)]) == 0
    assert "listed as unreadable" in capsys.readouterr().err
    for argv in ([str(odd)], ["--compare", str(good), str(odd)]):
        assert report_main.main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("error:") and "Traceback" not in err and err.count("\n") == 1
    assert store.remove_earlier_runs(tmp_path, good, "datacenter", "server") == []  # never deleted


def test_a_run_whose_process_is_gone_is_shown_as_stopped(tmp_path):
    import socket
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    run = store.new_run_dir(tmp_path, "datacenter-offline", dt.datetime(2026, 1, 1, 10))
    _summary(run, "2026-01-01T10:00:00", status="running")
    data = json.loads((run / store.SUMMARY_FILE).read_text())
    data["meta"].update(host=socket.gethostname(), pid=int(dead.stdout))
    (run / store.SUMMARY_FILE).write_text(json.dumps(data))
    alive = store.new_run_dir(tmp_path, "datacenter-server", dt.datetime(2026, 1, 2, 10))
    _summary(alive, "2026-01-02T10:00:00", status="running")
    data = json.loads((alive / store.SUMMARY_FILE).read_text())
    data["meta"].update(host=socket.gethostname(), pid=os.getpid())
    (alive / store.SUMMARY_FILE).write_text(json.dumps(data))
    store.rebuild_index(tmp_path)
    rows = [ln for ln in (tmp_path / "index.md").read_text().splitlines() if ln.startswith("| 20")]
    assert "STOPPED (PROCESS GONE)" in rows[1] and "| RUNNING |" in rows[0]


@pytest.mark.integration
def test_a_killed_runs_complete_accuracy_log_can_be_scored(tmp_path, capsys):
    import socket
    import subprocess
    import sys

    from mlperf_vllm.cli import report_main

    from .conftest import run_tool

    results = tmp_path / "r"
    r = run_tool("run.py", "--model", "demo", "--scenario", "offline", "--mode", "accuracy", "--total-sample-count",
                 "8", "--max-new-tokens", "8", "--results-dir", str(results))
    assert r.returncode in (0, 5), r.stderr[-2000:]
    run = (results / "latest").resolve()
    scored = json.loads((run / "Accuracy" / "rouge.json").read_text())["scores"]
    # As if the process had been killed (SIGKILL, OOM) just after LoadGen wrote its accuracy log
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    data = json.loads((run / "summary.json").read_text())
    data["status"] = "running"
    data["meta"].update(host=socket.gethostname(), pid=int(dead.stdout))
    (run / "summary.json").write_text(json.dumps(data))
    (run / "Accuracy" / "rouge.json").unlink()
    assert report_main.main([str(run)]) == 0
    out = capsys.readouterr().out
    assert "this run's process is gone" in out and "Its accuracy log is complete" in out
    command = out.strip().splitlines()[-1].split()
    assert command[:2] == ["python", "run.py"] and "--accuracy-log" in command
    r = run_tool(*command[1:])
    assert r.returncode in (0, 5), r.stderr[-2000:]
    rescored = (results / "latest").resolve()
    assert rescored != run
    assert json.loads((rescored / "Accuracy" / "rouge.json").read_text())["scores"] == scored
