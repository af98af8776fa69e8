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
