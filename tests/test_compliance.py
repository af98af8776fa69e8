"""TEST06 checks on logs with planted violations, and accuracy-log truncation with its hash."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from mlperf_vllm.mlperf import compliance as c

EOT = 128009


def _e(i, data, first=None, count=None):
    d = np.asarray(data, np.int32)
    e = {"seq_id": i, "qsl_idx": i, "data": d.tobytes().hex().upper(), "token_count": len(d) if count is None else count}
    if first is not None:
        e["token_data"] = np.asarray(first, np.int32).tobytes().hex().upper()
    return e


def _good(n=5):
    return [_e(i, [10 + i, 11, 12, EOT], first=[10 + i]) for i in range(n)]


def test_a_clean_log_passes_and_reads_like_run_verification():
    r = c.verify_test06(_good(), "Server")
    assert r.passed and r.problems == []
    assert r.verify_accuracy_txt() == ("First token check pass: True\nEOS check pass: True\n"
                                       "Sample length check pass: True\nTEST06 verification complete\n")
    off = c.verify_test06(_good(), "Offline")
    assert off.first_token is None and "First token check pass: Skipped" in off.verify_accuracy_txt()


def test_first_token_mismatch_is_caught():
    log = _good()
    log[2] = _e(2, [5, 6, EOT], first=[7])
    r = c.verify_test06(log, "Interactive")
    assert not r.passed and r.first_token is False and "entry 2" in r.problems[0]
    assert "TEST06 verification failed" in r.verify_accuracy_txt()


@pytest.mark.parametrize("eos", [128001, 128008, 128009])
def test_two_trailing_eos_of_any_llama31_id_are_caught(eos):
    log = _good()
    log[3] = _e(3, [5, 6, eos, eos], first=[5])
    r = c.verify_test06(log, "Server")
    assert r.eos is False and not r.passed and "entry 3" in r.problems[0]


def test_exactly_two_eos_alone_is_allowed():
    assert c.verify_test06([_e(0, [EOT, EOT], first=[EOT])], "Server").passed


def test_token_count_mismatch_is_caught():
    log = _good()
    log[1] = _e(1, [5, 6, EOT], first=[5], count=4)
    r = c.verify_test06(log, "Server")
    assert r.sample_length is False and "token_count 4 != 3" in r.problems[0]


def test_truncation_keeps_head_and_tail_and_appends_the_hash(tmp_path):
    import hashlib

    log = tmp_path / "mlperf_log_accuracy.json"
    log.write_text(json.dumps([_e(i, list(range(100))) for i in range(50)], indent=1))
    full = log.read_bytes()
    acc = tmp_path / "accuracy.txt"
    acc.write_text("\nResults\n\n{'rouge1': '38.9', 'rouge2': '16.0', 'rougeL': '24.6', 'rougeLsum': '35.9', "
                   "'gen_len': 8167644, 'gen_num': 13368}\n")
    cut, txt, digest = c.truncate_accuracy_log(log, acc)
    assert digest == hashlib.sha256(full).hexdigest()
    assert len(cut) <= c.MAX_ACCURACY_LOG_SIZE
    assert cut.startswith(full[:4096]) and cut.endswith(full[-4096:]) and b"\n\n...\n\n" in cut
    lines = txt.splitlines()
    assert re.match(r"^hash=([\w\d]+)$", lines[-1]) and lines[-1] == f"hash={digest}"
    assert log.read_bytes() == full  # the run's own log is never modified


@pytest.mark.integration
def test_run_py_runs_and_verifies_test06_on_real_vllm(tmp_path):
    from mlperf_vllm.mlperf import logs

    from .conftest import only_run_dir, run_tool

    r = run_tool("run.py", "--model", "demo", "--scenario", "server", "--mode", "performance", "--total-sample-count",
                 "64", "--min-duration", "3", "--server-target-qps", "50", "--max-new-tokens", "16",
                 "--compliance-test06", "--results-dir", str(tmp_path))
    run_dir = only_run_dir(tmp_path)
    verify = (run_dir / "TEST06" / "verify_accuracy.txt").read_text()
    assert verify.endswith("TEST06 verification complete\n"), r.stderr[-2000:]
    assert "First token check pass: True" in verify  # Server: the first-token check applies
    detail = logs.parse_detail((run_dir / "TEST06" / logs.DETAIL_FILE).read_text())
    assert detail.values["effective_accuracy_log_sampling_target"] == 100 and detail.values["num_errors"] == 0
    assert not [e for e in detail.errors]  # the audit config is not a second FromConfig error
    assert len(json.loads((run_dir / "TEST06" / logs.ACCURACY_FILE).read_text())) == 100
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["compliance"]["TEST06"]["passed"] is True
    assert "**TEST06: PASS**" in (run_dir / "report.md").read_text()


@pytest.fixture(scope="module", params=["v6.1", "v5.1"])
def demo_history(request, tmp_path_factory):
    from .conftest import run_tool

    results = tmp_path_factory.mktemp("history")
    r = run_tool("run.py", "--model", "demo", "--scenario", "offline", "--mode", "both", "--total-sample-count", "24",
                 "--min-duration", "0", "--max-new-tokens", "16", "--compliance-test06", "--results-dir", str(results),
                 "--version", request.param)
    assert r.returncode in (0, 5), r.stderr[-2000:]
    return request.param, results


@pytest.mark.integration
def test_submission_tree_from_demo_runs(demo_history, tmp_path, capsys):
    from mlperf_vllm.cli import run_main

    version, demo_history = demo_history
    other = "v6.0"
    assert run_main.main(["--submission-dir", str(tmp_path / "other"), "--system-name", "1xCPU_demo",
                          "--version", other, "--results-dir", str(demo_history)]) == 2
    assert f"no completed --mode both run of round {other}" in capsys.readouterr().err  # rounds never mix
    out = tmp_path / "sub"
    assert run_main.main(["--submission-dir", str(out), "--system-name", "1xCPU_demo", "--submitter", "Org",
                          "--results-dir", str(demo_history)]) == 5  # a demo run is not a result: not packed
    assert "can be submitted" in capsys.readouterr().err and not out.exists()
    from mlperf_vllm.orchestrate import submission

    report = submission.build(demo_history, out, "1xCPU_demo", "Org", None, allow_invalid=True)  # the round of the runs
    printed = "\n".join(submission.summary_lines(report))
    root = out / "closed" / "Org"
    scen = root / "results" / "1xCPU_demo" / "llama3.1-8b" / "Offline"
    for f in ("performance/run_1/mlperf_log_summary.txt", "performance/run_1/mlperf_log_detail.txt",
              "accuracy/mlperf_log_summary.txt", "accuracy/mlperf_log_detail.txt", "accuracy/accuracy.txt",
              "accuracy/mlperf_log_accuracy.json"):
        assert (scen / f).is_file(), f
    assert (scen / "accuracy" / "mlperf_log_accuracy.json").stat().st_size <= c.MAX_ACCURACY_LOG_SIZE
    acc_txt = (scen / "accuracy" / "accuracy.txt").read_text()
    run_dir = next(p for p in demo_history.iterdir() if p.is_dir() and not p.is_symlink())
    assert f"hash={c.file_sha256(run_dir / 'Accuracy' / 'mlperf_log_accuracy.json')}" in acc_txt
    system = json.loads((root / "systems" / "1xCPU_demo.json").read_text())
    assert system["system_name"] == "1xCPU_demo" and system["submitter"] == "Org" and system["status"] == "available"
    assert system["system_type"] == "datacenter" and system["host_storage_type"].startswith("TODO:")
    if version == "v6.1":
        assert (scen / "user.conf").is_file() and (scen / "measurements.json").is_file()
        assert (scen / "TEST06" / "verify_accuracy.txt").read_text().endswith("TEST06 verification complete\n")
        assert (root / "src").is_dir()
    else:
        meas = root / "measurements" / "1xCPU_demo" / "llama3.1-8b" / "Offline"
        assert (meas / "user.conf").is_file() and (meas / "README.md").is_file()
        t06 = root / "compliance" / "1xCPU_demo" / "llama3.1-8b" / "Offline" / "TEST06"
        assert (t06 / "verify_accuracy.txt").is_file() and (t06 / "performance" / "run_1" / "mlperf_log_detail.txt").is_file()
        assert (root / "code").is_dir()
    # The demo runs are not submittable, and the tool says why; a datacenter submission also needs Server/Interactive.
    assert "partial data set" in printed and "one of ['Interactive', 'Server']" in printed
    assert "submission checker: failed (exit 1" in printed  # the vendored official checker ran


def test_submission_needs_runs_and_a_name(tmp_path, capsys):
    from mlperf_vllm.cli import run_main

    assert run_main.main(["--submission-dir", str(tmp_path / "s"), "--results-dir", str(tmp_path)]) == 2
    assert "needs --system-name" in capsys.readouterr().err
    assert run_main.main(["--submission-dir", str(tmp_path / "s"), "--system-name", "x",
                          "--results-dir", str(tmp_path)]) == 2
    assert "no completed --mode both run" in capsys.readouterr().err
