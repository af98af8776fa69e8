"""Input the tool checks before it starts anything, and files it reads back: a data set the model cannot
read, path flags too long for the file system, detail logs of an unexpected shape, a cache it cannot
write. Each gets one line naming the problem and the fix, a documented exit code, and no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlperf_vllm.cli import run_main

from .conftest import only_run_dir, run_tool
from .test_faults_inputs import _one_error_line

# ---------------------------------------------------------------------------------------------
# the data set against the model


def _records(demo_data: Path, n: int = 8) -> list[dict]:
    return json.loads(demo_data.read_text())[:n]


def _vocab(demo_model: Path) -> int:
    return json.loads((demo_model / "config.json").read_text())["vocab_size"]


def _write(tmp_path: Path, records: list[dict]) -> Path:
    path = tmp_path / "cnn_eval.json"
    path.write_text(json.dumps(records))
    return path


def _data_argv(path: Path, tmp_path: Path, *extra: str) -> list[str]:
    return ["--model", "demo", "--dataset", "cnn_dailymail", "--dataset-path", str(path), "--mode", "performance",
            "--min-duration", "0", "--results-dir", str(tmp_path / "results"), *extra]


def test_token_ids_beyond_the_vocabulary_are_refused_before_the_real_engine_starts(tmp_path, demo_model, demo_data):
    vocab = _vocab(demo_model)
    records = _records(demo_data)
    records[2]["tok_input"][5] = vocab  # the first id past the embedding: vLLM's "index out of range in self"
    records[6]["tok_input"][-1] = vocab + 5000
    r = run_tool("run.py", *_data_argv(_write(tmp_path, records), tmp_path))  # the real vLLM backend
    assert r.returncode == 2, r.stderr[-3000:]
    line = _one_error_line(r.stderr, "2 of 8 records cannot be used", f"record 2 (id {vocab})",
                           f"record 6 (id {vocab + 5000})", f"vocab_size {vocab}", "use the data set made with")
    assert "Starting the engine" not in r.stderr and not (tmp_path / "results").exists()
    assert len(line) < 600


def test_many_bad_records_are_named_by_the_first_few_and_counted(tmp_path, demo_model, demo_data, capsys):
    records = _records(demo_data, 40)
    for rec in records[3:]:
        rec["tok_input"][0] = _vocab(demo_model) + 1
    assert run_main.main(_data_argv(_write(tmp_path, records), tmp_path)) == 2
    line = _one_error_line(capsys.readouterr().err, "37 of 40 records", "record 3 (id", "record 4 (id",
                           "record 5 (id", "; and 34 more.")
    assert "record 6 " not in line


@pytest.mark.parametrize("field,value,fragment", [
    ("tok_input", [128000, -1, 5], "record 4 has a negative token id (-1)"),
    ("tok_input", [1, 2.5], "record 4 has a token id that is a number (2.5), not a whole number"),
    ("tok_input", [1, True], "record 4 has a token id that is a boolean (true)"),
    ("tok_input", [1] * 20 + ["7"], "record 4 has a token id that is text (\"7\")"),  # past the first few ids too
    ("tok_input", [], "record 4 has a 'tok_input' that is empty"),
    ("output", None, "record 4 has an 'output' that is null, not text"),
    ("output", 42, "record 4 has an 'output' that is a number, not text"),
    ("output", ["a", "b"], "record 4 has an 'output' that is a list, not text"),
], ids=["negative", "float", "bool", "late-string", "empty", "null-output", "number-output", "list-output"])
def test_records_the_model_cannot_read_or_score_are_refused(tmp_path, demo_data, capsys, field, value, fragment):
    records = _records(demo_data)
    records[4][field] = value
    argv = _data_argv(_write(tmp_path, records), tmp_path)
    assert run_main.main(argv) == 2
    _one_error_line(capsys.readouterr().err, "1 of 8 records cannot be used", fragment, "official cnn_eval.json")
    assert not (tmp_path / "results").exists()


def test_a_data_set_nested_too_deeply_is_refused(tmp_path, capsys):
    path = tmp_path / "cnn_eval.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    assert run_main.main(_data_argv(path, tmp_path)) == 2
    _one_error_line(capsys.readouterr().err, "nested too deeply")


@pytest.mark.integration
def test_the_last_id_of_the_vocabulary_runs_on_the_real_engine(tmp_path, demo_model, demo_data):
    """The check's bound is the engine's: vocab_size - 1 is a token the real vLLM embeds without error."""
    records = _records(demo_data, 4)
    records[1]["tok_input"][3] = _vocab(demo_model) - 1
    r = run_tool("run.py", *_data_argv(_write(tmp_path, records), tmp_path, "--max-new-tokens", "8"))
    assert r.returncode == 0, r.stderr[-3000:]
    summary = json.loads((only_run_dir(tmp_path / "results") / "summary.json").read_text())
    assert summary["validity"]["performance"] == "VALID" and not any(t["engine_errors"] for t in summary["tests"])


# ---------------------------------------------------------------------------------------------
# report.py --compare: like with like


def _run_summary(run: Path, scenario: str, name: str, value: float, unit: str, **perf) -> Path:
    run.mkdir(parents=True)
    (run / "summary.json").write_text(json.dumps({
        "schema_version": 1, "status": "completed", "kind": "benchmark",
        "meta": {"started_at": "2026-01-01T10:00:00", "run_id": run.name},
        "config": {"model_label": "demo", "category": "edge", "scenario": scenario, "mode": "both",
                   "dataset": "demo", "total_sample_count": 64},
        "headline": {"name": name, "value": value, "unit": unit},
        "run": {"performance": perf, "accuracy": {"rouge": {"rouge1": 1.0}, "gen_len": 1000}},
        "validity": {"performance": "VALID", "accuracy": "FAIL"}}))
    return run


def test_compare_of_different_scenarios_shows_them_side_by_side_without_a_change(tmp_path, capsys):
    from mlperf_vllm.cli import report_main

    offline = _run_summary(tmp_path / "20260101-100000-edge-offline", "offline", "tokens_per_s", 1500.0, "tokens/s",
                           tokens_per_sec=1500.0, p90_latency_ms=9000.0)
    single = _run_summary(tmp_path / "20260101-110000-edge-singlestream", "singlestream", "p90_latency_ms", 120.0,
                          "ms", tokens_per_sec=300.0, p90_latency_ms=120.0)
    assert report_main.main(["--compare", str(offline), str(single)]) == 0
    text = capsys.readouterr().out
    assert "**Not like for like: A is offline, B is singlestream: different scenarios.**" in text
    rows = {line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("| ")}
    assert rows["headline"] == "| headline | 1,500.00 tokens/s (tokens_per_s) | 120.00 ms (p90_latency_ms) | – |"
    assert rows["tokens/s"].endswith("| – |") and rows["p90 latency (ms)"].endswith("| – |")
    assert rows["rouge1"].endswith("| +0.0% |")  # the same samples: accuracy stays comparable
    # the same scenario: the headline is named once, with its unit, and changes are computed
    again = _run_summary(tmp_path / "20260101-120000-edge-offline", "offline", "tokens_per_s", 1800.0, "tokens/s",
                         tokens_per_sec=1800.0)
    assert report_main.main(["--compare", str(offline), str(again)]) == 0
    text = capsys.readouterr().out
    assert "Not like for like" not in text
    assert "| headline: tokens_per_s (tokens/s) | 1,500.00 | 1,800.00 | +20.0% |" in text


# ---------------------------------------------------------------------------------------------
# path flags too long for the file system: one line, exit 2, before anything is written

_NAME = "n" * 300  # one name over NAME_MAX (255 bytes)
_PATH = "/tmp/" + "/".join(["p" * 200] * 25)  # a path over PATH_MAX (4096 bytes), every name short enough
RUN_PATH_FLAGS = [("--results-dir",), ("--dataset-path", "--dataset", "cnn_dailymail"), ("--user-conf",),
                  ("--accuracy-log", "--mode", "accuracy"), ("--submission-dir", "--system-name", "x"),
                  ("--model",), ("--tokenizer",)]


@pytest.mark.parametrize("value", [_NAME, _PATH], ids=["name-over-255-bytes", "path-over-4096-bytes"])
@pytest.mark.parametrize("flag", RUN_PATH_FLAGS, ids=[f[0] for f in RUN_PATH_FLAGS])
def test_run_py_path_flags_too_long_for_the_file_system(tmp_path, capsys, monkeypatch, flag, value):
    monkeypatch.chdir(tmp_path)
    argv = ["--model", "demo", flag[0], value, *flag[1:]]
    assert run_main.main(argv) == 2
    line = _one_error_line(capsys.readouterr().err, flag[0], "use a shorter path" if "--model" not in flag[0] and
                           "--tokenizer" not in flag[0] else "pass a shorter path or a Hugging Face id")
    assert ("a name in it is 300 bytes long" if value == _NAME else "a path may have 4095") in line
    assert len(line) < 400 and not list(tmp_path.iterdir())  # the path is shortened, nothing written


def test_output_folders_keep_room_for_what_the_tool_writes_beneath_them(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run_main.main(["--submission-dir", "s" * 240, "--system-name", "x"]) == 2  # its build folder is longer
    _one_error_line(capsys.readouterr().err, "its last name is 240 bytes long", "24 bytes more beside it")
    deep = str(tmp_path / "r")
    while len(deep) < 4096 - 100:  # a run folder and its logs (160 bytes) would not fit beneath it
        deep += "/" + "r" * min(200, 4096 - 100 - len(deep))
    assert run_main.main(["--model", "demo", "--results-dir", deep]) == 2
    _one_error_line(capsys.readouterr().err, "plus the 160 the tool writes beneath it")


@pytest.mark.parametrize("flag", ["--results-dir", "--data-path", "--model"])
def test_mmlu_py_path_flags_too_long_for_the_file_system(tmp_path, capsys, monkeypatch, flag):
    from mlperf_vllm.cli import mmlu_main

    monkeypatch.chdir(tmp_path)
    assert mmlu_main.main(["--model", "demo", flag, _NAME]) == 2
    _one_error_line(capsys.readouterr().err, flag, "a name in it is 300 bytes long")


# ---------------------------------------------------------------------------------------------
# --user-conf as LoadGen reads it: what it would refuse after the engine loaded, or silently ignore


@pytest.mark.parametrize("line,fragment", [
    ("*.Offline.min_duration=0", "no spaces around '='"),  # LoadGen: one token, a key; the line is ignored
    ("*.offline.min_duration = 0", "case matters"),  # a scenario LoadGen never looks up
    ("*.Offline.min_duration = 0 # ten minutes", "LoadGen takes no comment after a value"),  # LoadGen: EINVAL
    ("#comment without a space", "needs a space after '#'"),  # LoadGen: a key, then no '=': EINVAL
    ("*.Offline.min_duration = 6e5", "LoadGen reads '6e5' as 6"),  # a whole-number setting read up to 'e'
    ("*.Offline.min_duration = ten", "is not a number"),
    ("*.Offline.min_duration", "has no value"),
    ("*.Offline.target_qps = inf", "not a finite number"),
], ids=["no-spaces", "lowercase-scenario", "trailing-comment", "hash-word", "float-for-whole", "word", "no-value",
        "inf"])
def test_a_user_conf_loadgen_would_refuse_or_ignore_is_refused_before_the_engine(tmp_path, capsys, line, fragment):
    conf = tmp_path / "user.conf"
    conf.write_text(f"# mine\n*.Offline.target_qps = 12.5\n{line}\n")
    results = tmp_path / "results"
    assert run_main.main(["--model", "demo", "--user-conf", str(conf), "--results-dir", str(results)]) == 2
    _one_error_line(capsys.readouterr().err, f"--user-conf {conf} line 3:", fragment)
    assert not results.exists()


def test_a_user_conf_that_is_binary_or_a_folder_is_refused(tmp_path, capsys):
    (tmp_path / "bin.conf").write_bytes(b"\xff\xfe\x00 binary")
    for path, fragment in ((tmp_path / "bin.conf", "is not a text file"), (tmp_path, "is a folder")):
        assert run_main.main(["--model", "demo", "--user-conf", str(path)]) == 2
        _one_error_line(capsys.readouterr().err, fragment)


def test_every_user_conf_the_tool_writes_passes_its_own_check():
    from mlperf_vllm.config import Scenario
    from mlperf_vllm.mlperf import harness, user_conf

    for scenario in Scenario:
        single = scenario is Scenario.SINGLESTREAM  # its expected latency in ms is a double for LoadGen
        text = harness.render_user_conf(harness.UserConfRequest(
            "llama3_1-8b", scenario, 24, 13368, target_qps=None if single else 12.5,
            target_latency_ms=53.4 if single else None, min_duration_ms=1500, min_query_count=600))
        assert [user_conf.line_problem(ln) for ln in text.splitlines()] == [None] * len(text.splitlines()), text


# ---------------------------------------------------------------------------------------------
# detail logs with :::MLLOG lines of an unexpected shape

_DETAIL = [':::MLLOG {"key": "effective_scenario", "value": "Offline", "time_ms": 1}',
           ':::MLLOG {"key": "result_validity", "value": "VALID", "time_ms": 2}',
           ':::MLLOG {"key": "result_tokens_per_second", "value": 1234.5, "time_ms": 3}']


@pytest.mark.parametrize("odd", ["[1, 2]", "42", '"text"', "null", '{"value": 1}', '{"key": 5, "value": 1}',
                                 '{"key": "k"}', '{"key": "result_validity", "value": ["VALID"]}',
                                 '{"key": "effective_scenario", "value": 3}', '{"key": "x", "value": {"a": 1}}',
                                 "[" * 100_000 + "]" * 100_000],
                         ids=["list", "number", "string", "null", "no-key", "number-key", "no-value", "list-value",
                              "scenario-not-text", "object-value", "deeply-nested"])
def test_util_logs_skips_mllog_lines_that_are_not_loadgen_records_and_says_so(tmp_path, capsys, odd):
    from mlperf_vllm.cli import util_logs_main

    (tmp_path / "mlperf_log_detail.txt").write_text("\n".join([_DETAIL[0], f":::MLLOG {odd}", *_DETAIL[1:]]) + "\n")
    assert util_logs_main.main([str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    record = json.loads(out)
    assert record["scenario"] == "Offline" and record["result_validity"] == "VALID"
    assert record["headline"]["value"] == 1234.5
    assert record["skipped_lines"] == {"count": 1, "first": [2]}
    assert err.strip() == ("note: 1 :::MLLOG lines of mlperf_log_detail.txt are not LoadGen records and were "
                           "skipped (line 2)")


def test_odd_metadata_is_read_as_none(tmp_path, capsys):
    from mlperf_vllm.cli import util_logs_main

    odd = ':::MLLOG {"key": "num_errors", "value": 0, "metadata": "not an object"}'
    (tmp_path / "mlperf_log_detail.txt").write_text("\n".join([*_DETAIL, odd]) + "\n")
    assert util_logs_main.main([str(tmp_path), "--compact"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["num_errors"] == 0 and err == ""


def test_a_detail_log_with_only_odd_lines_is_refused_in_one_line(tmp_path, capsys):
    from mlperf_vllm.cli import util_logs_main

    (tmp_path / "mlperf_log_detail.txt").write_text(":::MLLOG [1]\n:::MLLOG 2\n")
    assert util_logs_main.main([str(tmp_path)]) == 2
    _one_error_line(capsys.readouterr().err, "contain no LoadGen records")


# ---------------------------------------------------------------------------------------------
# the demo cache and model configurations the tool reads back


def _run_without_cache_env(tmp_path: Path, home: Path, **env: str):
    import os
    import subprocess
    import sys

    from .conftest import ROOT

    full = {k: v for k, v in os.environ.items() if k != "MLPERF_VLLM_CACHE"}
    full.update(HOME=str(home), **env)
    return subprocess.run([sys.executable, str(ROOT / "run.py"), "--model", "demo", "--results-dir",
                           str(tmp_path / "results")], capture_output=True, text=True, env=full, cwd=tmp_path)


def test_a_read_only_home_names_the_variable_that_moves_the_cache(tmp_path):
    import os
    import subprocess

    home = tmp_path / "home"
    home.mkdir()
    mounted = os.geteuid() == 0 and subprocess.run(["mount", "-t", "tmpfs", "-o", "ro", "tmpfs", str(home)],
                                                   capture_output=True).returncode == 0
    if not mounted:
        if os.geteuid() == 0:
            pytest.skip("root, and no read-only file system can be mounted here")
        home.chmod(0o555)
    try:
        r = _run_without_cache_env(tmp_path, home)
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(home)], capture_output=True)
        else:
            home.chmod(0o755)
    assert r.returncode == 3, r.stderr[-3000:]
    line = _one_error_line(r.stderr, "cannot write the demo model to its cache", "under HOME",
                           "set MLPERF_VLLM_CACHE to a folder you can write")
    assert ("Read-only file system" if mounted else "Permission denied") in line
    assert not (tmp_path / "results").exists()


def test_a_cache_folder_that_cannot_be_made_is_named_with_its_variable(tmp_path):
    (tmp_path / "file").write_text("x")
    r = _run_without_cache_env(tmp_path, tmp_path, MLPERF_VLLM_CACHE=str(tmp_path / "file" / "cache"))
    assert r.returncode == 3, r.stderr[-3000:]
    _one_error_line(r.stderr, f"MLPERF_VLLM_CACHE is {tmp_path / 'file' / 'cache'}", "Not a directory")


def test_a_damaged_demo_cache_is_named_and_a_cut_short_data_set_is_rebuilt(tmp_path, demo_model, monkeypatch,
                                                                           capsys):
    import shutil

    from mlperf_vllm import demo

    cache = tmp_path / "cache"
    shutil.copytree(demo_model, cache / demo_model.name)
    monkeypatch.setenv("MLPERF_VLLM_CACHE", str(cache))
    data = cache / "demo-cnn-eval-v1-8.json"
    data.write_text('[{"tok_input": [1, 2')  # a copy cut short (a full disk, a killed build)
    assert len(json.loads(demo.demo_dataset_path(8).read_text())) == 8  # built again, whole
    (cache / demo_model.name / "config.json").write_text("{cut")
    assert run_main.main(["--model", "demo", "--results-dir", str(tmp_path / "results")]) == 3
    _one_error_line(capsys.readouterr().err, "the demo model's cache", "is damaged (its config.json is not JSON)",
                    "delete that folder")
    (cache / demo_model.name / "model.safetensors").unlink()
    assert run_main.main(["--model", "demo", "--results-dir", str(tmp_path / "results")]) == 3
    _one_error_line(capsys.readouterr().err, "is damaged (model.safetensors is missing)")


@pytest.mark.parametrize("content", [b"", b"{cut", b"[1, 2]", b"\xff\xfe"], ids=["empty", "cut", "list", "binary"])
def test_a_model_folder_whose_config_is_not_a_config_is_refused(tmp_path, capsys, content):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_bytes(content)
    (model / "tokenizer.json").write_text("{}")
    assert run_main.main(["--model", str(model), "--device", "cpu", "--results-dir", str(tmp_path / "r")]) == 2
    _one_error_line(capsys.readouterr().err, f"--model {model}", "is not a model's config.json")


@pytest.mark.parametrize("flag,value,fragment", [
    ("--system-name", "s" * 201, "--system-name is 201 bytes long"),
    ("--submitter", "o" * 201, "--submitter is 201 bytes long"),
    ("--submitter", "../../elsewhere", "--submitter must be a plain name"),  # a folder outside the tree
    ("--submitter", ".hidden", "--submitter must be a plain name"),
])
def test_names_that_become_folders_of_the_submission_tree_are_checked(tmp_path, capsys, flag, value, fragment):
    from .test_faults_inputs import _submittable_run

    results = tmp_path / "results"
    _submittable_run(results, "20260101-000000-datacenter-offline")
    argv = {"--system-name": "1xH200_vLLM", "--submitter": "Org", flag: value}
    assert run_main.main(["--submission-dir", str(tmp_path / "sub"), "--results-dir", str(results),
                          *[x for kv in argv.items() for x in kv]]) == 2
    _one_error_line(capsys.readouterr().err, fragment)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]
