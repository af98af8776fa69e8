"""Faults from outside and bad input: one line naming the problem and the fix, a documented exit code,
no traceback, nothing lost or half-written, and no success claimed for a result that is not one."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlperf_vllm.cli import mmlu_main, report_main, run_main, util_logs_main
from mlperf_vllm.mmlu import data as mdata
from mlperf_vllm.results import atomic, store

from .conftest import ROOT, run_python

# ---------------------------------------------------------------------------------------------
# helpers


def _tree(root: Path) -> dict[str, str]:
    """Every file under root with its sha256 (links as their target): 'nothing else changed' in one value.
    The history's empty lock files (results/locks.py) are not content."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        if p.name == ".lock":
            continue
        if p.is_symlink():
            out[rel] = "-> " + os.readlink(p)
        elif p.is_file():
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _one_error_line(err: str, *fragments: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, err
    assert "Traceback" not in err, err
    for f in fragments:
        assert f in lines[0], (f, lines[0])
    return lines[0]


def _earlier_run(results: Path, name: str = "20260101-000000-datacenter-offline") -> Path:
    """A finished run of an earlier day, with LoadGen-named logs: it must come out byte-identical."""
    run = results / name
    (run / "Performance").mkdir(parents=True)
    (run / "summary.json").write_text(json.dumps({
        "schema_version": 1, "status": "completed", "kind": "benchmark", "meta": {"run_id": name},
        "config": {"category": "datacenter", "scenario": "offline", "mode": "performance"}}))
    (run / "Performance" / "mlperf_log_summary.txt").write_text("Result is : VALID\n")
    (run / "report.md").write_text("# earlier\n")
    return run


def _mount_tmpfs(path: Path, options: str) -> bool:
    """A real small file system (root only); False where this machine does not allow it."""
    if os.geteuid() != 0:
        return False
    path.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True)
    return r.returncode == 0


def _umount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True)


@pytest.fixture
def history(tmp_path) -> Path:
    results = tmp_path / "results"
    _earlier_run(results)
    (results / "index.md").write_text("# Run history\n")
    return results


# ---------------------------------------------------------------------------------------------
# 1. a full disk


_DISK_FULL_RUN = """
import errno, sys
from pathlib import Path
from mlperf_vllm.cli.run_main import main
from mlperf_vllm.engines.fake import InstantEngine
from mlperf_vllm.orchestrate import preflight
from mlperf_vllm.results import atomic

preflight.MIN_FREE_DISK_BYTES = 1 << 20  # the small test file system passes the check; then it fills up
results = Path({results!r})

def fill():
    if {real!r}:  # fill the real file system to the last block
        with open(results.parent / "ballast", "wb") as fh:
            try:
                while True:
                    fh.write(bytes(65536))
                    fh.flush()
            except OSError:
                pass
    else:  # every later write of the tool's own files fails as on a full disk
        def enospc(fd, data):
            raise OSError(errno.ENOSPC, "No space left on device")
        atomic._write_fd = enospc

class FillsOnFirstQuery(InstantEngine):
    def submit(self, requests, sink):  # inside LoadGen's test: its own log writes now fail silently
        if not self.submits:
            fill()
        super().submit(requests, sink)

def full_disk(spec):
    if {when!r} == "engine-start":
        fill()
    return FillsOnFirstQuery(4)

sys.exit(main(["--model", "demo", "--mode", "performance", "--total-sample-count", "8", "--min-duration", "0",
               "--results-dir", str(results)], engine_factory=full_disk))
"""


def _check_disk_full_outcome(r: subprocess.CompletedProcess, results: Path, before: dict[str, str]) -> None:
    assert r.returncode == 3, r.stderr[-3000:]
    line = _one_error_line(r.stderr, "is full", "free some space", "marked failed", "earlier runs are untouched")
    assert str(results) in line
    earlier = results / "20260101-000000-datacenter-offline"
    assert _tree(earlier) == before  # earlier runs untouched
    runs = [p for p in results.iterdir() if p.is_dir() and not p.is_symlink() and p != earlier]
    assert len(runs) == 1
    run = runs[0]
    summary = store.read_summary(run)
    assert summary.status == "failed"  # not left "running"
    assert "results not written" in " ".join(summary.data["notes"])
    assert (run / "run.log").is_file()  # logs kept
    assert not list(run.glob(".*.tmp"))  # no half-written temporary files


@pytest.mark.parametrize("when", ["engine-start", "first-query"])
def test_a_disk_that_fills_up_during_a_run_fails_it_with_exit_3_on_a_real_small_file_system(tmp_path, when):
    mnt = tmp_path / "disk"
    if not _mount_tmpfs(mnt, "size=8m"):
        pytest.skip("cannot mount a small tmpfs here (needs root and mount permission)")
    try:
        results = mnt / "results"
        before = _tree(_earlier_run(results))
        r = run_python(_DISK_FULL_RUN.format(results=str(results), real=True, when=when), timeout=300)
        _check_disk_full_outcome(r, results, before)
        (mnt / "ballast").unlink()  # with space again, the history is rebuilt from the folders
        assert report_main.main(["--rebuild-index", "--results-dir", str(results)]) == 0
        assert "| FAILED |" in (results / "index.md").read_text()
    finally:
        _umount(mnt)


def test_a_disk_that_fills_up_during_a_run_fails_it_with_exit_3(tmp_path):
    results = tmp_path / "results"
    before = _tree(_earlier_run(results))
    r = run_python(_DISK_FULL_RUN.format(results=str(results), real=False, when="engine-start"), timeout=300)
    _check_disk_full_outcome(r, results, before)


def test_a_full_disk_before_the_run_starts_leaves_no_run_folder(history, capsys, monkeypatch):
    before = _tree(history)

    def enospc(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic, "_write_fd", enospc)
    code = run_main.main(["--model", "demo", "--total-sample-count", "16", "--results-dir", str(history)],
                         engine_factory=lambda spec: pytest.fail("the engine must not start"))
    assert code == 3
    _one_error_line(capsys.readouterr().err, "is full", str(history), "free some space")
    assert _tree(history) == before  # no new folder, nothing of the history changed


def test_atomic_write_on_a_full_disk_raises_a_disk_error_and_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "summary.json"
    path.write_text('{"old": true}\n')

    def enospc(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic, "_write_fd", enospc)
    with pytest.raises(atomic.DiskError) as info:
        atomic.write_json_atomic(path, {"new": True})
    assert info.value.exit_code == 3 and isinstance(info.value, OSError) and info.value.errno == errno.ENOSPC
    assert f"the disk of {tmp_path} is full" in str(info.value)
    assert path.read_text() == '{"old": true}\n' and [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_a_run_is_marked_ended_in_place_when_not_even_a_small_file_fits(tmp_path, monkeypatch):
    run = tmp_path / "20260102-000000-datacenter-offline"
    run.mkdir()
    running = {"schema_version": 1, "status": "running", "kind": "benchmark",
               "meta": {"run_id": run.name, "command": ["run.py"], "host": "h", "pid": 1},
               "config": {"category": "datacenter", "scenario": "offline", "mode": "both", "pad": "x" * 2000},
               "system": {"pad": "y" * 2000}}
    atomic.write_json_atomic(run / "summary.json", running)
    size = (run / "summary.json").stat().st_size

    def enospc(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic, "_write_fd", enospc)
    written = store.mark_ended(run, running, "failed", "results not written: disk full")
    assert written is not None and written["status"] == "failed"
    assert (run / "summary.json").stat().st_size == size  # the old file's own bytes, no new block
    s = store.read_summary(run)
    assert s.status == "failed" and s.run_id == run.name and s.data["error"] == "results not written: disk full"


def test_read_only_file_system_under_the_results_is_refused_before_the_run(tmp_path, capsys):
    mnt = tmp_path / "ro"
    if not _mount_tmpfs(mnt, "ro,size=1m"):
        pytest.skip("cannot mount a read-only tmpfs here (needs root and mount permission)")
    try:
        code = run_main.main(["--model", "demo", "--total-sample-count", "16", "--results-dir", str(mnt / "r")])
        assert code == 3
        _one_error_line(capsys.readouterr().err, "read-only file system", "remount")
        assert "chown" not in capsys.readouterr().err
    finally:
        _umount(mnt)


# ---------------------------------------------------------------------------------------------
# 6. --results-dir shapes


def test_results_dir_that_is_a_file(tmp_path, capsys):
    f = tmp_path / "results"
    f.write_text("not a folder\n")
    assert run_main.main(["--model", "demo", "--total-sample-count", "16", "--results-dir", str(f)]) == 2
    line = _one_error_line(capsys.readouterr().err, "is a file, not a folder", "pass a folder")
    assert "chown" not in line and f.read_text() == "not a folder\n"


def test_results_dir_under_a_file(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("x")
    code = run_main.main(["--model", "demo", "--total-sample-count", "16", "--results-dir", str(f / "sub" / "r")])
    assert code == 2
    line = _one_error_line(capsys.readouterr().err, f"is under {f}, which is a file", "pass a folder")
    assert "chown" not in line


def test_results_dir_that_is_a_dangling_symlink(tmp_path, capsys):
    link = tmp_path / "results"
    link.symlink_to(tmp_path / "unmounted" / "results")
    assert run_main.main(["--model", "demo", "--total-sample-count", "16", "--results-dir", str(link)]) == 3
    _one_error_line(capsys.readouterr().err, "is a symbolic link to", "which does not exist")
    assert link.is_symlink() and not (tmp_path / "unmounted").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into any folder")
def test_results_dir_that_is_yours_but_read_only(tmp_path, capsys):
    d = tmp_path / "results"
    d.mkdir()
    d.chmod(0o555)
    try:
        assert run_main.main(["--model", "demo", "--total-sample-count", "16", "--results-dir", str(d)]) == 3
        line = _one_error_line(capsys.readouterr().err, "is yours but not writable", "chmod u+rwx")
        assert "chown" not in line
    finally:
        d.chmod(0o755)


def test_results_dir_whose_index_is_a_folder(history, capsys):
    (history / "index.md").unlink()
    (history / "index.md").mkdir()
    before = _tree(history)
    assert run_main.main(["--model", "demo", "--total-sample-count", "16", "--results-dir", str(history)]) == 2
    _one_error_line(capsys.readouterr().err, "index.md there is a folder", "move it away")
    assert _tree(history) == before


def _enospc(fd, data):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_an_mmlu_run_whose_disk_fills_up_is_marked_failed_with_exit_3(history, capsys, monkeypatch):
    from .test_mmlu import LetterEngine

    before = _tree(history / "20260101-000000-datacenter-offline")

    class FillsTheDisk(LetterEngine):
        def shutdown(self):  # every later write of the tool's own files fails as on a full disk
            monkeypatch.setattr(atomic, "_write_fd", _enospc)

    code = mmlu_main.main(["--model", "demo", "--results-dir", str(history)],
                          engine_factory=lambda cfg: FillsTheDisk(lambda i: 0))
    assert code == 3
    captured = capsys.readouterr()
    line = _one_error_line(captured.err, "is full", "free some space", "marked failed", "earlier runs are untouched")
    assert str(history) in line and "MMLU accuracy" not in captured.out
    run = next(p for p in history.iterdir() if p.name.endswith("-mmlu"))
    summary = store.read_summary(run)
    assert summary.status == "failed"  # not left "running"
    assert "results not written" in " ".join(summary.data["notes"])
    assert (run / "run.log").is_file() and not list(run.glob(".*.tmp"))
    assert _tree(history / "20260101-000000-datacenter-offline") == before


def test_an_mmlu_run_on_a_full_disk_before_it_starts_leaves_no_run_folder(history, capsys, monkeypatch):
    before = _tree(history)
    monkeypatch.setattr(atomic, "_write_fd", _enospc)
    code = mmlu_main.main(["--model", "demo", "--results-dir", str(history)],
                          engine_factory=lambda cfg: pytest.fail("the engine must not start"))
    assert code == 3
    _one_error_line(capsys.readouterr().err, "is full", "free some space")
    assert _tree(history) == before


def test_mmlu_results_dir_that_is_a_file(tmp_path, capsys):
    f = tmp_path / "results"
    f.write_text("x")
    assert mmlu_main.main(["--model", "demo", "--results-dir", str(f)]) == 2
    _one_error_line(capsys.readouterr().err, "is a file, not a folder")


def test_latest_that_is_not_a_link_is_left_alone(tmp_path):
    results = tmp_path / "results"
    run = _earlier_run(results)
    (results / "latest").mkdir()
    (results / "latest" / "mine.txt").write_text("keep\n")
    store.update_latest(results, run)
    assert (results / "latest" / "mine.txt").read_text() == "keep\n"


def test_report_rebuild_index_on_a_file(tmp_path, capsys):
    f = tmp_path / "results"
    f.write_text("x")
    assert report_main.main(["--rebuild-index", "--results-dir", str(f)]) == 2
    _one_error_line(capsys.readouterr().err, "is a file, not a folder")


# ---------------------------------------------------------------------------------------------
# 5. numeric flags: nan, inf, negative, zero, huge and non-numeric are refused in one line, exit 2

INT_BAD = ["nan", "inf", "-1", "0", "99999999999", "abc", "1.5"]
FLOAT_BAD = ["nan", "inf", "-inf", "-1", "1e300", "abc"]
RUN_NUMERIC = (
    [("--max-new-tokens", v) for v in [*INT_BAD, "1"]]
    + [(f, v) for f in ("--max-model-len", "--max-num-seqs", "--max-num-batched-tokens") for v in INT_BAD]
    + [(f, v) for f in ("--total-sample-count", "--tensor-parallel-size", "--data-parallel-size")
       for v in [*INT_BAD, "1000000000"]]
    + [(f, v) for f in ("--stall-timeout", "--gpu-memory-utilization", "--search-budget-min",
                        "--search-probe-duration", "--search-tolerance", "--offline-expected-qps",
                        "--singlestream-expected-latency-ms") for v in [*FLOAT_BAD, "0"]]
    + [("--min-duration", v) for v in FLOAT_BAD]
    + [("--gpu-memory-utilization", "1.01"), ("--search-tolerance", "0.5"),
       ("--singlestream-expected-latency-ms", "1e-9")]
)
SERVER_QPS_BAD = ["nan", "inf", "-inf", "-1", "0", "1e-9", "0.0001", "1e9", "abc"]


@pytest.mark.parametrize("flag,value", RUN_NUMERIC, ids=[f"{f}={v}" for f, v in RUN_NUMERIC])
def test_run_py_numeric_flags(history, capsys, flag, value):
    before = _tree(history)
    argv = ["--model", "demo", "--results-dir", str(history), f"{flag}={value}"]
    if flag != "--total-sample-count":
        argv += ["--total-sample-count", "16"]
    assert run_main.main(argv) == 2
    _one_error_line(capsys.readouterr().err, flag)
    assert _tree(history) == before


@pytest.mark.parametrize("value", SERVER_QPS_BAD)
def test_server_target_qps(history, capsys, value):
    before = _tree(history)
    argv = ["--model", "demo", "--total-sample-count", "16", "--results-dir", str(history), "--scenario", "server",
            f"--server-target-qps={value}"]
    assert run_main.main(argv) == 2
    line = _one_error_line(capsys.readouterr().err, "--server-target-qps")
    if value in ("1e-9", "0.0001"):  # too slow to end: 16 samples at that rate take days
        assert "too low" in line and "within a day" in line and "use at least" in line
    assert _tree(history) == before


def test_a_qps_that_ends_within_a_day_is_accepted():
    from mlperf_vllm.cli import run_args
    from mlperf_vllm.orchestrate import preflight

    cfg, _ = run_args.parse(["--model", "demo", "--scenario", "server", "--server-target-qps", "0.001",
                             "--total-sample-count", "16", "--mode", "performance"])
    preflight.check_run_length(cfg, 16)  # 16 queries at 0.001/s: 4.4 hours


def test_the_full_data_sets_pass_counts_in_a_servers_run_length():
    """Equal issue pads a performance schedule to whole passes over the 13,368 samples: at 0.2 QPS that is
    18.6 hours (LoadGen's own minimum of 100 queries would have been 8 minutes); at 0.1 QPS, 37 hours."""
    from mlperf_vllm.cli import run_args
    from mlperf_vllm.errors import UsageError
    from mlperf_vllm.orchestrate import preflight

    def check(qps: str) -> None:
        cfg, _ = run_args.parse(["--model", "demo", "--scenario", "server", "--server-target-qps", qps,
                                 "--mode", "performance"])
        preflight.check_run_length(cfg, 13368)

    check("0.2")
    with pytest.raises(UsageError, match=r"performance test's 13368 queries would take 37 hours.*at least 0\.155"):
        check("0.1")


def test_total_sample_count_above_the_data_set_file(tmp_path, capsys, demo_data):
    argv = ["--model", "demo", "--dataset", "cnn_dailymail", "--dataset-path", str(demo_data),
            "--total-sample-count", "100", "--results-dir", str(tmp_path / "r")]
    assert run_main.main(argv) == 2
    _one_error_line(capsys.readouterr().err, "--total-sample-count 100 is more than the 64 samples in",
                    "use at most 64")
    assert not (tmp_path / "r").exists()


MMLU_NUMERIC = (
    [(f, v) for f in ("--num-fewshot", "--total-limit", "--tensor-parallel-size", "--data-parallel-size",
                      "--max-model-len") for v in ["nan", "inf", "-1", "abc", "1.5", "99999999999"]
     if not (f == "--total-limit" and v == "99999999999")]
    + [(f, "0") for f in ("--total-limit", "--tensor-parallel-size", "--data-parallel-size", "--max-model-len")]
    + [("--gpu-memory-utilization", v) for v in ["nan", "inf", "-1", "0", "1.5", "abc"]]
    + [("--seed", v) for v in ["nan", "abc", "1.5"]]
)


@pytest.mark.parametrize("flag,value", MMLU_NUMERIC, ids=[f"{f}={v}" for f, v in MMLU_NUMERIC])
def test_mmlu_py_numeric_flags(tmp_path, capsys, flag, value):
    assert mmlu_main.main(["--model", "demo", "--results-dir", str(tmp_path / "r"), f"{flag}={value}"]) == 2
    _one_error_line(capsys.readouterr().err, flag)
    assert not (tmp_path / "r").exists()


def test_report_and_util_logs_have_no_numeric_flags():
    """Nothing to check there: their inputs are paths (covered below)."""
    for parser in (report_main.build_parser(), util_logs_main.build_parser()):
        assert not [a for a in parser._actions if a.type in (int, float)]


# ---------------------------------------------------------------------------------------------
# 4. MMLU files as spreadsheets and editors save them


def _csv_copy(tmp_path: Path, per_subject: int = 3) -> tuple[Path, mdata.MMLUData]:
    d = mdata.demo_questions(per_subject=per_subject)
    mdata.write_csv_layout(d, tmp_path / "csv")
    return tmp_path / "csv", d


def test_mmlu_csv_with_bom_crlf_blank_lines_and_a_header_reads_the_same_questions(tmp_path):
    root, d = _csv_copy(tmp_path)
    for split in ("test", "dev"):
        path = root / "data" / split / f"anatomy_{split}.csv"
        text = path.read_text().replace("\r\n", "\n").replace("\n", "\r\n")
        path.write_bytes("\ufeff".encode() + b"question,A,B,C,D,answer\r\n" + text.encode() + b"\r\n\r\n  \r\n")
    loaded = mdata.load_local(root, ["anatomy"])
    assert loaded.test["anatomy"] == d.test["anatomy"] and loaded.dev["anatomy"] == d.dev["anatomy"]


def test_mmlu_run_over_a_bom_csv(tmp_path, capsys):
    from .test_mmlu import LetterEngine

    root, d = _csv_copy(tmp_path)
    path = root / "data" / "test" / "anatomy_test.csv"
    path.write_bytes("\ufeff".encode() + path.read_bytes())
    qs = d.test["anatomy"]
    code = mmlu_main.main(["--model", "demo", "--data-path", str(root), "--subjects", "anatomy",
                           "--results-dir", str(tmp_path / "r")],
                          engine_factory=lambda cfg: LetterEngine(lambda i: qs[i].answer))
    assert code == 0, capsys.readouterr().err
    assert "MMLU accuracy: 100.00% (3/3" in capsys.readouterr().out


@pytest.mark.parametrize("content", [b"", b"\r\n\r\n", b"\xef\xbb\xbf", b"question,A,B,C,D,answer\n"],
                         ids=["empty", "blank-lines", "bom-only", "header-only"])
def test_mmlu_test_file_without_questions_is_refused_not_dropped(tmp_path, capsys, content):
    root, _ = _csv_copy(tmp_path)
    path = root / "data" / "test" / "anatomy_test.csv"
    path.write_bytes(content)
    code = mmlu_main.main(["--model", "demo", "--data-path", str(root), "--subjects", "anatomy,astronomy",
                           "--results-dir", str(tmp_path / "r")])
    assert code == 2
    _one_error_line(capsys.readouterr().err, str(path), "holds no questions", "'anatomy'", "--subjects")
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("content,fragment", [
    ("What?;w;x;y;z;A\n".encode(), "separated by ';' or tabs"),
    ("Caf\xe9?,w,x,y,z,A\n".encode("latin-1"), "not a readable UTF-8 CSV"),
    (b'"unclosed,w,x,y,z,A\n', "row 1"),
])
def test_mmlu_csv_of_another_shape(tmp_path, capsys, content, fragment):
    root, _ = _csv_copy(tmp_path)
    path = root / "data" / "test" / "anatomy_test.csv"
    path.write_bytes(content)
    assert mmlu_main.main(["--model", "demo", "--data-path", str(root), "--subjects", "anatomy",
                           "--results-dir", str(tmp_path / "r")]) == 2
    _one_error_line(capsys.readouterr().err, str(path), fragment)


def test_mmlu_parquet_that_is_damaged_or_empty(tmp_path, capsys):
    import pandas as pd

    (tmp_path / "hf" / "anatomy").mkdir(parents=True)
    bad = tmp_path / "hf" / "anatomy" / "test-00000-of-00001.parquet"
    bad.write_bytes(b"PAR1 not really")
    argv = ["--model", "demo", "--data-path", str(tmp_path / "hf"), "--subjects", "anatomy",
            "--results-dir", str(tmp_path / "r")]
    assert mmlu_main.main(argv) == 2
    _one_error_line(capsys.readouterr().err, str(bad), "not a readable parquet file")
    pd.DataFrame({"question": [], "choices": [], "answer": []}).to_parquet(bad)
    assert mmlu_main.main(argv) == 2
    _one_error_line(capsys.readouterr().err, "holds no questions", "'anatomy'")
    assert not (tmp_path / "r").exists()


# ---------------------------------------------------------------------------------------------
# 2. and 3. --submission-dir over a history with broken, INVALID and failing runs

STUB_CHECKER = """
import os, sys
if os.environ.get("STUB_CHECKER_FAIL"):
    print("[2026-01-01 00:00:00 main.py:1 ERROR] Server: performance INVALID")
    print("[2026-01-01 00:00:00 main.py:2 ERROR] SUMMARY: submission has errors")
    sys.exit(1)
print("[2026-01-01 00:00:00 main.py:1 INFO] Results=1, NoResults=0")
"""


@pytest.fixture
def stub_checker(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "inference"
    (root / "tools" / "submission" / "submission_checker").mkdir(parents=True)
    (root / "tools" / "submission" / "submission_checker" / "main.py").write_text(STUB_CHECKER)
    monkeypatch.setenv("MLPERF_INFERENCE_DIR", str(root))
    monkeypatch.delenv("STUB_CHECKER_FAIL", raising=False)
    return root


def _submittable_run(results: Path, name: str, scenario: str = "offline", perf: str = "VALID",
                     acc: str = "PASS", loadgen: str | None = None) -> Path:
    """A completed --mode both run folder with every file a submission takes."""
    run = results / name
    for d in ("Performance", "Accuracy", "TEST06"):
        (run / d).mkdir(parents=True)
    reasons = [] if perf == "VALID" else ["p99 TTFT 2.41 s > 2.00 s"]
    (run / "summary.json").write_text(json.dumps({
        "schema_version": 1, "status": "completed", "kind": "benchmark",
        "meta": {"run_id": name, "command": ["run.py", "--mode", "both"]},
        "config": {"category": "datacenter", "scenario": scenario, "mode": "both", "version": "v6.1",
                   "engine": {"dtype": "bfloat16"}},
        "system": {}, "validity": {"performance": perf, "reasons": reasons, "accuracy": acc,
                                   "not_submittable_because": []}}))
    for d in ("Performance", "Accuracy", "TEST06"):
        (run / d / "mlperf_log_summary.txt").write_text(f"Result is : {loadgen or perf}\n")
        (run / d / "mlperf_log_detail.txt").write_text(':::MLLOG {"key": "result_validity", "value": "VALID"}\n')
    (run / "Accuracy" / "mlperf_log_accuracy.json").write_text("[]\n")
    (run / "TEST06" / "mlperf_log_accuracy.json").write_text("[]\n")
    (run / "Accuracy" / "accuracy.txt").write_text("{'rouge1': 38.8}\n")
    (run / "TEST06" / "verify_accuracy.txt").write_text("TEST06 verification complete\n")
    (run / "user.conf").write_text("# user.conf\n")
    return run


def _submit(results: Path, out: Path) -> int:
    return run_main.main(["--submission-dir", str(out), "--system-name", "1xH200_vLLM", "--submitter", "Org",
                          "--results-dir", str(results)])


def test_submission_skips_broken_and_invalid_runs_and_says_which_it_packed(tmp_path, capsys, stub_checker):
    results = tmp_path / "results"
    _submittable_run(results, "20260101-000000-datacenter-offline")
    gone = _submittable_run(results, "20260102-000000-datacenter-offline")
    for f in (gone / "Performance").iterdir():
        f.unlink()
    (gone / "Performance").rmdir()
    no_detail = _submittable_run(results, "20260103-000000-datacenter-offline")
    (no_detail / "Accuracy" / "mlperf_log_detail.txt").unlink()
    _submittable_run(results, "20260104-000000-datacenter-offline", perf="INVALID")
    _submittable_run(results, "20260105-000000-datacenter-offline", loadgen="INVALID")
    _submittable_run(results, "20260106-000000-datacenter-offline", acc="FAIL")
    _submittable_run(results, "20260101-000000-datacenter-server", scenario="server", perf="INVALID")
    before = _tree(results)
    out = tmp_path / "submission"
    assert _submit(results, out) == 0
    printed = capsys.readouterr().out
    assert "llama3.1-8b/Offline <- 20260101-000000-datacenter-offline (performance VALID, accuracy PASS)" in printed
    assert ("skipped 20260102-000000-datacenter-offline: Performance/mlperf_log_summary.txt and 1 more files are "
            "missing") in printed
    assert "skipped 20260103-000000-datacenter-offline: Accuracy/mlperf_log_detail.txt is missing" in printed
    assert "skipped 20260104-000000-datacenter-offline: performance INVALID: p99 TTFT 2.41 s > 2.00 s" in printed
    assert "skipped 20260105-000000-datacenter-offline: LoadGen's Performance/mlperf_log_summary.txt says INVALID" \
        in printed
    assert "skipped 20260106-000000-datacenter-offline: accuracy FAIL" in printed
    assert "llama3.1-8b/Server: nothing packed" in printed
    assert "skipped 20260101-000000-datacenter-server: performance INVALID" in printed
    scen = out / "closed" / "Org" / "results" / "1xH200_vLLM" / "llama3.1-8b"
    assert (scen / "Offline" / "performance" / "run_1" / "mlperf_log_summary.txt").is_file()
    assert not (scen / "Server").exists()  # an INVALID run is never packed
    assert _tree(results) == before  # the history is only read
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inference", "results", "submission",
                                                          "submission-checker.log"]  # no half-built tree


@pytest.mark.parametrize("break_it,code,fragment", [
    (lambda run: (run / "Performance" / "mlperf_log_detail.txt").unlink(), 2,
     "Performance/mlperf_log_detail.txt is missing"),
    (lambda run: (run / "Accuracy" / "mlperf_log_accuracy.json").write_bytes(b""), 2,
     "Accuracy/mlperf_log_accuracy.json is empty"),
    (lambda run: (run / "user.conf").unlink(), 2, "user.conf is missing"),
    (lambda run: _submittable_run(run.parent, "20260109-000000-datacenter-server", "server", perf="INVALID"), 5,
     "performance INVALID"),
], ids=["detail-deleted", "accuracy-log-empty", "user-conf-deleted", "only-invalid"])
def test_submission_with_nothing_usable_is_refused_and_leaves_nothing(tmp_path, capsys, stub_checker, break_it,
                                                                        code, fragment):
    results = tmp_path / "results"
    run = _submittable_run(results, "20260101-000000-datacenter-offline")
    break_it(run)
    if code == 5:  # only INVALID runs in the history
        import shutil
        shutil.rmtree(run)
    before = _tree(results)
    assert _submit(results, tmp_path / "submission") == code
    _one_error_line(capsys.readouterr().err, "can be submitted", fragment)
    assert _tree(results) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inference", "results"]


def test_a_failure_while_the_tree_is_built_leaves_no_half_tree(tmp_path, capsys, stub_checker, monkeypatch):
    import shutil

    results = tmp_path / "results"
    _submittable_run(results, "20260101-000000-datacenter-offline")
    calls = []

    def copy_until_the_disk_is_full(src, dst, *a, **k):
        calls.append(dst)
        if len(calls) > 3:
            raise OSError(errno.ENOSPC, "No space left on device", str(dst))
        return real_copy(src, dst, *a, **k)

    real_copy = shutil.copyfile
    monkeypatch.setattr(shutil, "copyfile", copy_until_the_disk_is_full)
    assert _submit(results, tmp_path / "submission") == 3
    _one_error_line(capsys.readouterr().err, "is full", "free some space")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inference", "results"]


def test_submission_exits_5_when_the_checker_fails_and_says_where_its_log_is(tmp_path, capsys, stub_checker,
                                                                             monkeypatch):
    monkeypatch.setenv("STUB_CHECKER_FAIL", "1")
    results = tmp_path / "results"
    _submittable_run(results, "20260101-000000-datacenter-offline")
    out = tmp_path / "submission"
    assert _submit(results, out) == 5
    captured = capsys.readouterr()
    assert "submission checker: failed (exit 1, 2 errors)" in captured.out
    log = tmp_path / "submission-checker.log"
    _one_error_line(captured.err, "found 2 errors", str(log))
    assert "SUMMARY: submission has errors" in log.read_text()
    assert (out / "closed" / "Org").is_dir()  # the tree is whole; the checker's verdict is what failed


def test_the_official_checker_failing_on_a_tree_gives_exit_5(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("MLPERF_INFERENCE_DIR", raising=False)
    results = tmp_path / "results"
    _submittable_run(results, "20260101-000000-datacenter-offline")
    assert _submit(results, tmp_path / "submission") == 5  # placeholder logs: the vendored checker objects
    err = capsys.readouterr().err
    _one_error_line(err, "the official submission checker found", "submission-checker.log")


@pytest.mark.parametrize("shape", ["file", "non-empty", "under-a-file"])
def test_submission_dir_of_the_wrong_shape(tmp_path, capsys, stub_checker, shape):
    results = tmp_path / "results"
    _submittable_run(results, "20260101-000000-datacenter-offline")
    out = tmp_path / "submission"
    if shape == "file":
        out.write_text("x")
    elif shape == "non-empty":
        out.mkdir()
        (out / "keep.txt").write_text("x")
    else:
        (tmp_path / "f").write_text("x")
        out = tmp_path / "f" / "submission"
    before = _tree(tmp_path)
    assert _submit(results, out) == 2
    _one_error_line(capsys.readouterr().err, "--submission-dir")
    assert _tree(tmp_path) == before


def test_checker_that_cannot_finish_is_a_failed_check_not_a_traceback(tmp_path, monkeypatch):
    from mlperf_vllm.orchestrate import checker

    script = tmp_path / "main.py"
    script.write_text("import time\ntime.sleep(60)\n")
    monkeypatch.setattr(checker, "TIMEOUT_S", 0.5)
    (tmp_path / "tree").mkdir()
    result = checker.run_checker(tmp_path / "tree", "Org", "v6.1", script)
    assert result is not None and not result.passed and result.returncode == -1
    assert "did not finish" in result.errors[0] and result.log is not None and result.log.is_file()


# ---------------------------------------------------------------------------------------------
# neighbours: every other file the tools read


@pytest.mark.parametrize("content", [None, b"", b"\x00\xff garbage", b":::MLLOG {not json\n"],
                         ids=["no-files", "empty", "binary", "broken-mllog"])
def test_util_logs_on_logs_of_another_shape(tmp_path, capsys, content):
    d = tmp_path / "logs"
    d.mkdir()
    if content is not None:
        (d / "mlperf_log_summary.txt").write_bytes(content)
        (d / "mlperf_log_detail.txt").write_bytes(content)
    assert util_logs_main.main([str(d)]) == 2
    _one_error_line(capsys.readouterr().err, str(d))


def test_util_logs_on_a_path_that_does_not_exist(tmp_path, capsys):
    assert util_logs_main.main([str(tmp_path / "nope")]) == 2
    _one_error_line(capsys.readouterr().err, "no LoadGen logs")


@pytest.mark.parametrize("content,fragment", [
    (b"", "not valid JSON"),
    (b'{"qsl_idx": 0}', "not a JSON list"),
    (b'[{"qsl_idx": "0", "data": "00"}]', "entry 0 is not a LoadGen record"),
    (b'[{"seq_id": 0, "qsl_idx": 0, "data": "zz"}]', "not hex"),
    (b" \n\t\n", "is empty"),
    (b"\x00\xff\xfe binary", "not valid JSON"),
    (b"null", "not a JSON list"),
    (b'"mlperf_log_accuracy"', "not a JSON list"),
    (b"[" * 200_000 + b"]" * 200_000, "nested too deeply"),
    (b'[{"seq_id": 0, "qsl_idx": true, "data": "00"}]', "entry 0 is not a LoadGen record"),
    (b'[{"seq_id": 0, "qsl_idx": 0, "data": 5}]', "entry 0 is not a LoadGen record"),
    (b'[{"seq_id": 0, "qsl_idx": 0, "data": "' + b"0" * 20_000_000 + b'zz"}]', "not hex"),
    (b'[{"seq_id": 0, "qsl_idx": 0, "data": "abc"}]', "not hex"),
], ids=["empty", "object", "string-index", "not-hex", "whitespace", "binary", "null", "a-string", "deeply-nested",
        "bool-index", "number-data", "huge-not-hex", "odd-length-hex"])
def test_accuracy_log_of_another_shape(tmp_path, capsys, demo_data, content, fragment):
    log = tmp_path / "mlperf_log_accuracy.json"
    log.write_bytes(content)
    argv = ["--mode", "accuracy", "--model", "demo", "--dataset", "cnn_dailymail", "--dataset-path", str(demo_data),
            "--accuracy-log", str(log)]
    assert run_main.main(argv) == 2
    line = _one_error_line(capsys.readouterr().err, fragment, str(log))
    assert len(line) < 500  # never the file's content


def test_accuracy_log_that_is_a_folder(tmp_path, capsys, demo_data):
    argv = ["--mode", "accuracy", "--model", "demo", "--dataset", "cnn_dailymail", "--dataset-path", str(demo_data),
            "--accuracy-log", str(tmp_path)]
    assert run_main.main(argv) == 2
    line = _one_error_line(capsys.readouterr().err, f"accuracy log {tmp_path} is a folder", "mlperf_log_accuracy.json")
    assert "does not exist" not in line


def test_accuracy_log_that_is_a_run_folder_names_the_file_inside(tmp_path, capsys, demo_data):
    run = tmp_path / "20260101-000000-datacenter-offline"
    (run / "Accuracy").mkdir(parents=True)
    (run / "Accuracy" / "mlperf_log_accuracy.json").write_text("[]")
    results = tmp_path / "results"
    argv = ["--mode", "accuracy", "--model", "demo", "--dataset", "cnn_dailymail", "--dataset-path", str(demo_data),
            "--accuracy-log", str(run), "--results-dir", str(results)]
    assert run_main.main(argv) == 2
    _one_error_line(capsys.readouterr().err, "is a folder", f"pass {run / 'Accuracy' / 'mlperf_log_accuracy.json'}")
    assert not results.exists()  # refused before a run folder was made
    assert run_main.main([*argv[:-4], "--accuracy-log", str(tmp_path / "nope.json")]) == 2
    _one_error_line(capsys.readouterr().err, "does not exist", "mlperf_log_accuracy.json")


@pytest.mark.parametrize("content", [b"", b"[]", b"{}", b"\x00\xff", b'{"schema_version": 1, "status": "running"}'],
                         ids=["empty", "list", "object", "binary", "no-meta"])
def test_report_on_a_summary_of_another_shape(tmp_path, capsys, content):
    run = tmp_path / "20260101-000000-datacenter-offline"
    run.mkdir()
    (run / "summary.json").write_bytes(content)
    assert report_main.main([str(run)]) == 2
    _one_error_line(capsys.readouterr().err, "summary.json")
    assert report_main.main(["--rebuild-index", "--results-dir", str(tmp_path)]) == 0
    assert "UNREADABLE" in (tmp_path / "index.md").read_text()


def test_env_file_shapes_never_break_the_start(tmp_path, monkeypatch, capsys):
    """A .env with CRLF ends, comments, `export`, quotes and binary bytes still loads what it can."""
    from mlperf_vllm.cli.dotenv import load_env_file

    env = tmp_path / ".env"
    env.write_bytes(b"# comment\r\nexport FAULTS_A='1'\r\nFAULTS_B = \"two\"\r\n\xff\xfe=junk\r\nnoequals\r\n")
    for key in ("FAULTS_A", "FAULTS_B"):
        monkeypatch.delenv(key, raising=False)
    loaded = load_env_file(env)
    for key in loaded:
        monkeypatch.setenv(key, os.environ[key])  # so that the test's environment is restored afterwards
    assert {"FAULTS_A", "FAULTS_B"} <= set(loaded) and "noequals" not in loaded
    assert os.environ["FAULTS_A"] == "1" and os.environ["FAULTS_B"] == "two"
    (tmp_path / "dir.env").mkdir()
    assert load_env_file(tmp_path / "dir.env") == []


def test_env_file_with_a_bom_sets_its_first_key_and_skips_lines_that_are_not_variables(tmp_path, monkeypatch, caplog):
    """A BOM (Notepad's UTF-8) is not part of the first name; a name that is not a variable name, a line
    without '=' and a NUL in a value are skipped with a warning that names the line, never its text."""
    from mlperf_vllm.cli.dotenv import load_env_file

    env = tmp_path / ".env"
    env.write_bytes(b"\xef\xbb\xbfFAULTS_BOM=first\r\nFAULTS_OK=2\nBAD-NAME=hidden-value-1\n9LIVES=hidden-value-2\n"
                    b"hidden-value-3==\nFAULTS SPACE=hidden-value-4\nFAULTS_NUL=hidden\x00value\nhidden-value-5\n"
                    b"_FAULTS_UNDER=3\n")
    for key in ("FAULTS_BOM", "FAULTS_OK", "FAULTS_NUL", "_FAULTS_UNDER"):
        monkeypatch.delenv(key, raising=False)
    with caplog.at_level("WARNING", logger="mlperf_vllm.cli.dotenv"):
        loaded = load_env_file(env)
    for key in loaded:
        monkeypatch.setenv(key, os.environ[key])  # so that the test's environment is restored afterwards
    assert loaded == ["FAULTS_BOM", "FAULTS_OK", "_FAULTS_UNDER"]
    assert os.environ["FAULTS_BOM"] == "first" and "\ufeffFAULTS_BOM" not in os.environ
    assert not any(k.startswith(("BAD", "9", "hidden", "FAULTS SPACE")) for k in os.environ)
    messages = [r.getMessage() for r in caplog.records]
    assert [m.split(" line ")[1].split()[0].rstrip(":") for m in messages] == ["3", "4", "5", "6", "7", "8"]
    assert all(str(env) in m for m in messages)
    assert not any("hidden" in m for m in messages), messages


def test_run_py_warns_about_a_bad_env_line_and_still_runs_the_command(tmp_path):
    from .conftest import run_tool

    (tmp_path / ".env").write_text("not a name=hidden-value-6\n")
    r = run_tool("run.py", "--scenario", "server", "--model", "demo", cwd=tmp_path)
    assert r.returncode == 2  # the command's own error, not the .env's
    assert "WARNING: .env line 1: the name before '=' is not a valid environment variable name" in r.stderr
    _one_error_line(r.stderr, "--server-target-qps")
    assert "hidden-value-6" not in r.stdout + r.stderr


def test_console_lines_are_redacted(tmp_path, monkeypatch, capsys):
    from mlperf_vllm.cli.console import error_line

    secret = "faults-5ecret-Value-42"
    monkeypatch.setenv("FAULTS_TEST_TOKEN", secret)
    assert error_line(f"server said: Bearer {secret}\r\n and  more") == \
        "error: server said: Bearer ***REDACTED*** and more"
    run_main._print_outcome({"validity": {"performance": "INVALID", "reasons": [f"HTTP 401: bad key {secret}"],
                                          "not_submittable_because": [f"because {secret}"]},
                             "headline": {}, "notes": [f"a note quoting {secret}"]}, tmp_path)
    out = capsys.readouterr().out
    assert secret not in out and out.count("***REDACTED***") == 3 and "Note: a note quoting" in out
    results = tmp_path / f"results-{secret}"  # end to end: an error line that names a path holding the value
    results.write_text("x")
    assert run_main.main(["--model", "demo", "--results-dir", str(results)]) == 2
    err = capsys.readouterr().err
    assert secret not in err and "***REDACTED***" in err
    _one_error_line(err, "is a file, not a folder")


def test_no_tool_prints_a_traceback_for_a_bad_path():
    r = subprocess.run([sys.executable, str(ROOT / "report.py"), "/nonexistent/run"], capture_output=True, text=True,
                       cwd=ROOT)
    assert r.returncode == 2 and "Traceback" not in r.stderr and r.stderr.startswith("error: ")
