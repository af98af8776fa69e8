"""One results folder shared by many processes; run folders that are links; crafted or damaged files.

Every concurrency case runs real processes and waits for events (a folder, a summary, a file the test
creates), never for a fixed time."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlperf_vllm.cli import report_main
from mlperf_vllm.results import locks, store

from .conftest import ROOT
from .test_faults_inputs import _submit, _submittable_run, stub_checker  # noqa: F401 (a fixture)

# ---------------------------------------------------------------------------------------------
# helpers


@pytest.fixture(autouse=True)
def _console_on_this_tests_stderr():
    """The console handler binds the stderr of the first CLI call in this process; the warnings these tests
    count must go to this test's captured stderr."""
    def drop() -> None:
        root = logging.getLogger()
        for handler in [h for h in root.handlers if getattr(h, "name", None) == "mlperf_vllm.console"]:
            root.removeHandler(handler)

    drop()
    yield
    drop()


def _summary(results: Path, name: str, status: str = "completed", scenario: str = "offline",
             started: str | None = None, **meta) -> Path:
    """A run folder of ours with the summary fields the history reads."""
    run = results / name
    run.mkdir(parents=True, exist_ok=True)
    stamp = started or f"{name[:4]}-{name[4:6]}-{name[6:8]}T{name[9:11]}:{name[11:13]}:{name[13:15]}"
    (run / "summary.json").write_text(json.dumps({
        "schema_version": 1, "status": status, "kind": "benchmark",
        "meta": {"run_id": name, "started_at": stamp, **meta},
        "config": {"model_label": "demo", "category": "datacenter", "scenario": scenario, "mode": "performance"},
        "headline": {"name": "tokens_per_s", "value": 100.0, "unit": "tokens/s"},
        "validity": {"performance": "VALID"},
        "run": {"performance": {"samples_per_sec": 12.5}}, "ceiling_digest": "c"}))
    return run


def _rows(results: Path) -> list[str]:
    """index.md's run rows (every line of the table after its header)."""
    lines = (results / "index.md").read_text().splitlines()
    return lines[lines.index("|---|---|---|---|---|---|---|---|---|") + 1:]


def _spawn(code: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT)


def _wait_for(what, proc: subprocess.Popen, timeout: float = 300):
    """Until what() is true (an event: a folder, a summary); the process must still be running."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = what()
        if found:
            return found
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    raise AssertionError("the event did not come")


# run.py (demo data, a fake engine that answers at once), measuring only once the test creates GO
_RUN_WHEN_TOLD = """
import sys, time
from pathlib import Path
from mlperf_vllm.cli.run_main import main
from mlperf_vllm.engines.fake import InstantEngine

results, go = sys.argv[1], Path(sys.argv[2])

def engine_when_told(spec):
    while not go.exists():
        time.sleep(0.05)
    return InstantEngine(4)

sys.exit(main(["--model", "demo", "--scenario", "offline", "--mode", "performance", "--total-sample-count", "8",
               "--min-duration", "0", "--keep-all", "0", "--results-dir", results], engine_factory=engine_when_told))
"""


def _new_run(results: Path, known: set[str]) -> Path | None:
    """A run folder not in known whose summary says it is running."""
    for child in results.iterdir() if results.is_dir() else ():
        if child.name not in known and child.name[:8].isdigit() and (child / "summary.json").is_file():
            return child
    return None


# ---------------------------------------------------------------------------------------------
# 1. concurrency


@pytest.mark.integration
def test_two_runs_at_once_with_keep_all_0_remove_only_finished_older_runs(tmp_path):
    """The newer run ends first: it removes the finished earlier run, never the older one still running;
    the older one ends next and never removes the newer one; a third run then removes both."""
    results = tmp_path / "results"
    earlier = _summary(results, "20260101-000000-datacenter-offline")
    older = _spawn(_RUN_WHEN_TOLD, results, tmp_path / "go-older")
    older_dir = _wait_for(lambda: _new_run(results, {earlier.name}), older)
    newer = _spawn(_RUN_WHEN_TOLD, results, tmp_path / "go-newer")
    newer_dir = _wait_for(lambda: _new_run(results, {earlier.name, older_dir.name}), newer)
    (tmp_path / "go-newer").touch()
    out, err = newer.communicate(timeout=300)
    assert newer.returncode == 0, err[-3000:]
    assert f"removed earlier run {earlier.name}" in out and older_dir.name not in out
    assert not earlier.exists() and store.read_summary(older_dir).status == "running"
    (tmp_path / "go-older").touch()
    out, err = older.communicate(timeout=300)
    assert older.returncode == 0, err[-3000:]
    assert "removed earlier run" not in out and newer_dir.is_dir()  # the newer run is never the older's to remove
    assert {r.split("](")[0].split("[")[-1] for r in _rows(results)} == {older_dir.name, newer_dir.name}
    (tmp_path / "go-third").touch()
    third = _spawn(_RUN_WHEN_TOLD, results, tmp_path / "go-third")
    out, err = third.communicate(timeout=300)
    assert third.returncode == 0, err[-3000:]
    assert f"removed earlier run {older_dir.name}" in out and f"removed earlier run {newer_dir.name}" in out
    assert len(_rows(results)) == 1 and not [p for p in results.iterdir() if p.name.startswith(".removing")]


_WRITER = """
import sys
from pathlib import Path
from mlperf_vllm.results import atomic, locks, store

results, n = Path(sys.argv[1]), int(sys.argv[2])
for i in range(n):
    with locks.history_lock(results):  # as run.py makes a run folder: it appears with its summary
        run = store.new_run_dir(results, "datacenter-offline")
        atomic.write_json_atomic(run / "summary.json", {
            "schema_version": 1, "status": "completed", "meta": {"run_id": run.name, "started_at": "2026-01-01T00:00:00"},
            "config": {"category": "datacenter", "scenario": "offline", "mode": "performance"}})
    store.update_latest(results, run)
    store.rebuild_index(results)
print("done")
"""


@pytest.mark.parametrize("writers,runs_each", [(6, 5)])
def test_index_written_by_many_processes_at_once_lists_every_run(tmp_path, writers, runs_each):
    results = tmp_path / "results"
    results.mkdir()
    procs = [_spawn(_WRITER, results, runs_each) for _ in range(writers)]
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0 and out.strip() == "done", err[-3000:]
    folders = {p.name for p in results.iterdir() if p.name[:8].isdigit()}
    assert len(folders) == writers * runs_each
    assert sorted(r.split("](")[0].split("[")[-1] for r in _rows(results)) == sorted(folders)  # the last writer saw all
    assert "UNREADABLE" not in (results / "index.md").read_text()  # never a folder without its summary
    assert (results / "latest").resolve().name in folders


_REMOVER = """
import sys
from pathlib import Path
from mlperf_vllm.results import locks, store

locks.WAIT_S = float(sys.argv[3])
try:
    print([r.name for r in store.remove_earlier_runs(Path(sys.argv[1]), Path(sys.argv[2]), "datacenter", "offline")])
except locks.LockTimeout as exc:
    print("timed out:", exc)
"""


def test_no_run_is_removed_while_a_submission_is_being_packed(tmp_path):
    """--submission-dir holds the history lock shared: a --keep-all 0 of another process waits for it (here
    it gives up after a second and removes nothing), and removes the run once the packing is done."""
    results = tmp_path / "results"
    old = _summary(results, "20260101-000000-datacenter-offline")
    new = _summary(results, "20260102-000000-datacenter-offline")
    with locks.history_lock(results, shared=True):
        r = subprocess.run([sys.executable, "-c", _REMOVER, str(results), str(new), "1"], capture_output=True,
                           text=True, cwd=ROOT, timeout=120)
        assert r.stdout.startswith("timed out:") and old.is_dir(), r.stderr[-2000:]
    r = subprocess.run([sys.executable, "-c", _REMOVER, str(results), str(new), "1"], capture_output=True, text=True,
                       cwd=ROOT, timeout=120)
    assert r.stdout.strip() == f"['{old.name}']" and not old.exists(), r.stderr[-2000:]


def test_a_running_run_is_never_removed_and_a_stopped_one_is(tmp_path):
    """'Running' is decided by the run's own lock (dropped by the kernel however its process ended), or,
    for a run without one, by its pid on this host; a run of another host is never taken for stopped."""
    results = tmp_path / "results"
    new = _summary(results, "20260105-000000-datacenter-offline")
    held = _summary(results, "20260101-000000-datacenter-offline", status="running")
    lock = locks.RunLock(held)  # as a live run.py holds it (its pid may be anyone's)
    dead = _summary(results, "20260102-000000-datacenter-offline", status="running")
    child = subprocess.Popen([sys.executable, "-c", "import sys; from mlperf_vllm.results import locks; "
                              "locks.RunLock(sys.argv[1]); print('locked', flush=True); sys.stdin.read()", str(dead)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert child.stdout.readline().strip() == "locked"
    assert locks.run_in_progress(dead) is True
    child.kill()  # kill -9: no clean-up ran, the kernel dropped the lock
    child.wait()
    alive_pid = _summary(results, "20260103-000000-datacenter-offline", status="running",
                         host=socket.gethostname(), pid=os.getpid())  # no lock file: its pid says it runs
    elsewhere = _summary(results, "20260104-000000-datacenter-offline", status="running", host="another-host", pid=1)
    try:
        removed = store.remove_earlier_runs(results, new, "datacenter", "offline")
    finally:
        lock.release()
    assert [r.name for r in removed] == [dead.name]
    assert held.is_dir() and alive_pid.is_dir() and elsewhere.is_dir() and not dead.exists()


def test_older_means_started_earlier_not_modified_earlier(tmp_path):
    results = tmp_path / "results"
    keep = _summary(results, "20260101-120000-datacenter-offline")
    later = _summary(results, "20260101-130000-datacenter-offline")
    os.utime(later / "summary.json", (0, 0))  # touched long ago: mtime says nothing of when a run started
    os.utime(later, (0, 0))
    same_second = _summary(results, "20260101-120000-datacenter-offline-2", started="2026-01-01T12:00:00")
    before_in_that_second = _summary(results, "20260101-115959-datacenter-offline", started="2026-01-01T12:00:00")
    assert store.remove_earlier_runs(results, keep, "datacenter", "offline") == [
        store.Removal(before_in_that_second.name)]
    assert later.is_dir() and same_second.is_dir()  # made after keep in the same second (its -2 suffix)


# ---------------------------------------------------------------------------------------------
# 2. an interrupt that lands while the results are written


_SHIELDED = """
import os, signal, sys
from mlperf_vllm import interrupts
from mlperf_vllm.cli import interrupt

interrupt.install()
with interrupts.shielded():
    os.kill(os.getpid(), signal.SIGTERM)  # delivered before the next line runs
    print("still writing", interrupts.requested(), flush=True)
    if sys.argv[1] == "twice":
        os.kill(os.getpid(), signal.SIGINT)
        print("not reached", flush=True)
print("written")
"""


@pytest.mark.parametrize("signals", ["once", "twice"])
def test_an_interrupt_after_the_measurement_lets_the_results_be_written_and_a_second_exits(signals):
    r = subprocess.run([sys.executable, "-c", _SHIELDED, signals], capture_output=True, text=True, cwd=ROOT,
                       timeout=60)
    assert "still writing True" in r.stdout and "Traceback" not in r.stderr
    if signals == "once":
        assert r.returncode == 0 and "written" in r.stdout and "writing its results in full first" in r.stderr
    else:
        assert r.returncode == 130 and "not reached" not in r.stdout


# ---------------------------------------------------------------------------------------------
# 3. crafted or damaged summaries


def _valid(results: Path, name: str = "20260101-000000-datacenter-offline") -> dict:
    return json.loads((_summary(results, name) / "summary.json").read_text())


CRAFTED = {
    "nested-lists": "[" * 100_000 + "]" * 100_000,
    "nested-objects": '{"a":' * 100_000 + "1" + "}" * 100_000,
    "huge-integer": '{"schema_version": 1, "status": "completed", "headline": {"value": ' + "9" * 5000 + "}}",
    "empty": "",
    "binary": b"\x00\xff\xfe\x80junk",
    "not-utf8-json": b'{"schema_version": 1, "status": "\xff"}',
}
IMPOSSIBLE_PIDS = [-1, 0, 2 ** 40, "4242", True, 1.5, [1], {"pid": 1}, None]


def _crafted_history(results: Path) -> list[Path]:
    """A results folder holding every kind of crafted or damaged summary.json, one per run folder."""
    made = []
    for i, (what, content) in enumerate(CRAFTED.items()):
        run = results / f"202601{i + 10:02d}-000000-datacenter-offline"
        run.mkdir(parents=True)
        data = content if isinstance(content, bytes) else content.encode()
        (run / "summary.json").write_bytes(data)
        made.append(run)
    for i, pid in enumerate(IMPOSSIBLE_PIDS[:-1]):
        run = results / f"202602{i + 10:02d}-000000-datacenter-offline"
        _summary(results, run.name, status="running", host=socket.gethostname(), pid=pid)
        made.append(run)
    folder = results / "20260301-000000-datacenter-offline"
    (folder / "summary.json").mkdir(parents=True)  # a folder named summary.json
    fifo = results / "20260302-000000-datacenter-offline"
    fifo.mkdir()
    os.mkfifo(fifo / "summary.json")  # reading it would block for ever
    device = results / "20260303-000000-datacenter-offline"
    device.mkdir()
    (device / "summary.json").symlink_to("/dev/zero")  # endless
    huge = results / "20260304-000000-datacenter-offline"
    huge.mkdir()
    with open(huge / "summary.json", "wb") as fh:
        fh.truncate(65 * 1024 ** 2)  # sparse: over the 64 MiB a summary may be
    return [*made, folder, fifo, device, huge]


def test_crafted_summaries_never_break_the_history_report_or_a_submission(tmp_path, capsys, stub_checker):  # noqa: F811
    results = tmp_path / "results"
    crafted = _crafted_history(results)
    good = _summary(results, "20260401-000000-datacenter-offline")
    assert report_main.main(["--rebuild-index", "--results-dir", str(results)]) == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for run in crafted:  # one warning line naming each
        assert len([ln for ln in err.splitlines() if str(run) in ln]) == 1, (run, err)
    rows = _rows(results)
    assert len(rows) == len(crafted) + 1 and sum("UNREADABLE" in r for r in rows) == len(crafted)
    assert all(len(r) < 2000 for r in rows)
    for run in crafted:
        assert report_main.main([str(run)]) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1 and "summary.json" in err
    assert store.remove_earlier_runs(results, good, "datacenter", "offline") == []  # never deleted
    assert all(run.is_dir() for run in crafted)
    assert _submit(results, tmp_path / "submission") == 2  # no usable run, said in one line
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("pid", IMPOSSIBLE_PIDS[:-1], ids=repr)
def test_a_running_summary_with_an_impossible_pid_is_unreadable_not_fatal(tmp_path, pid):
    results = tmp_path / "results"
    run = _summary(results, "20260101-000000-datacenter-offline", status="running", host=socket.gethostname(),
                   pid=pid)
    with pytest.raises(store.ForeignSummary, match="meta.pid .* is not a process id"):
        store.read_summary(run)
    store.rebuild_index(results)
    assert "UNREADABLE" in _rows(results)[0]


WRONG_VALUES = [None, "x" * 300 + "\n| injected |", [[[]]]]


def _paths(data: dict, prefix: tuple = ()) -> list[tuple]:
    """Every key path of a summary (nested objects included)."""
    out = []
    for key, value in data.items():
        out.append((*prefix, key))
        if isinstance(value, dict):
            out += _paths(value, (*prefix, key))
    return out


def test_wrong_types_in_any_field_never_give_a_traceback(tmp_path, capsys):
    """Each field of a valid summary replaced by each wrong value: the report renders (0) or refuses in
    one line (2); the index always rebuilds, one line per run."""
    results = tmp_path / "results"
    base = _valid(results)
    run = results / "20260101-000000-datacenter-offline"
    for path in _paths(base):
        for value in WRONG_VALUES:
            data = json.loads(json.dumps(base))
            node = data
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = value
            (run / "summary.json").write_text(json.dumps(data))
            code = report_main.main([str(run)])
            err = capsys.readouterr().err
            assert code in (0, 2) and "Traceback" not in err, (path, value, err)
            if code == 2:
                assert len(err.strip().splitlines()) == 1, (path, value, err)
            store.rebuild_index(results)
            assert len(_rows(results)) == 1, (path, value)
            capsys.readouterr()


@pytest.mark.integration
def test_a_later_run_in_a_folder_of_crafted_summaries_runs_and_leaves_them(tmp_path):
    results = tmp_path / "results"
    crafted = _crafted_history(results)
    (tmp_path / "go").touch()
    proc = _spawn(_RUN_WHEN_TOLD, results, tmp_path / "go")
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0 and "Traceback" not in err, err[-3000:]
    assert "removed earlier run" not in out and all(run.is_dir() for run in crafted)
    for run in crafted:
        assert len([ln for ln in err.splitlines() if str(run) in ln]) == 1, (run, err)
    assert len(_rows(results)) == len(crafted) + 1


# ---------------------------------------------------------------------------------------------
# 4. run folders that are links


def test_a_run_folder_linked_back_from_another_disk_counts_like_any_other(tmp_path, capsys):
    results, elsewhere = tmp_path / "results", tmp_path / "other-disk"
    moved = _summary(elsewhere, "20260101-000000-datacenter-offline")
    (results).mkdir()
    (results / moved.name).symlink_to(moved)
    (results / "20260102-000000-datacenter-offline").symlink_to(elsewhere / "unmounted")  # its disk is not there
    (results / "alias").symlink_to(results / moved.name)  # the same run twice: listed once
    assert report_main.main(["--rebuild-index", "--results-dir", str(results)]) == 0
    rows = _rows(results)
    assert len(rows) == 2 and f"[{moved.name}]" in rows[1] and "100.00 tokens/s" in rows[1]
    assert "UNREADABLE: a link to" in rows[0] and "which is missing" in rows[0]
    # the QPS history lookups (store.newest: the Offline ceiling of a Server search) see it
    entry = store.newest(results, lambda s: s.scenario == "offline" and bool(s.samples_per_sec))
    assert entry is not None and entry.path.name == moved.name and entry.is_link
    # --keep-all 0 of a newer run: the link goes, the folder on the other disk stays, and the line says so
    newer = _summary(results, "20260103-000000-datacenter-offline")
    removed = store.remove_earlier_runs(results, newer, "datacenter", "offline")
    assert [r.name for r in removed] == [moved.name] and removed[0].link_target == str(moved)
    assert "a link: only the link" in removed[0].line() and str(moved) in removed[0].line()
    assert not (results / moved.name).is_symlink() and (moved / "summary.json").is_file()
    assert (results / "20260102-000000-datacenter-offline").is_symlink()  # unreadable: never removed


def test_a_linked_run_is_packed_into_a_submission(tmp_path, capsys, stub_checker):  # noqa: F811
    results, elsewhere = tmp_path / "results", tmp_path / "other-disk"
    run = _submittable_run(elsewhere, "20260101-000000-datacenter-offline")
    results.mkdir()
    (results / run.name).symlink_to(run)
    assert _submit(results, tmp_path / "submission") == 0, capsys.readouterr().err
    assert f"<- {run.name}" in capsys.readouterr().out


def test_damaged_timings_and_values_that_are_no_measurement_are_left_out(tmp_path, caplog):
    """A run's sut_timings.csv cut short, binary or of another shape is read as none (the report and a
    search's tail reference go on without it); NaN or Infinity as a headline is no value."""
    from mlperf_vllm.results import timeline

    path = tmp_path / "sut_timings.csv"
    for content in (b"qsl_idx,issued_ms\n1,abc\n", b"qsl_idx,issued_ms\n\xff\xfe\x00", b"a\n1,2,3\n"):
        path.write_bytes(content)
        assert timeline.read_timings(path) == [] and timeline.read_machine(path) == []
    assert "is unreadable" in caplog.text and "left out" in caplog.text
    results = tmp_path / "results"
    run = _summary(results, "20260101-000000-datacenter-offline")
    for value in ("NaN", "Infinity", "-Infinity", "1" + "0" * 400):
        text = (run / "summary.json").read_text().replace('"value": 100.0', f'"value": {value}')
        (run / "summary.json").write_text(text)
        assert store.read_summary(run).headline_value is None
        (run / "summary.json").write_text(text.replace(f'"value": {value}', '"value": 100.0'))


def test_a_file_system_without_locks_works_as_before(tmp_path, monkeypatch):
    """flock refused (ENOLCK, as on a network mount without a lock daemon): the history is written without
    the lock, and whether a run is still running is told by its status and pid."""
    import errno
    import fcntl

    def no_locks(fd, op):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    results = tmp_path / "results"
    old = _summary(results, "20260101-000000-datacenter-offline")
    alive = _summary(results, "20260102-000000-datacenter-offline", status="running", host=socket.gethostname(),
                     pid=os.getpid())
    lock = locks.RunLock(alive)
    new = _summary(results, "20260103-000000-datacenter-offline")
    assert [r.name for r in store.remove_earlier_runs(results, new, "datacenter", "offline")] == [old.name]
    lock.release()
    store.rebuild_index(results)
    assert len(_rows(results)) == 2 and alive.is_dir()
