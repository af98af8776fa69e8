"""The official MLCommons submission checker (vendored, pinned) on a submission tree built from demo runs."""

from __future__ import annotations

import json
import re

import pytest

from mlperf_vllm.orchestrate import checker

# What a demo run cannot give: the full data set, the 600 s duration, enough queries for early
# stopping, and therefore a result. Anything else the checker reports is a defect of the tree.
UNAVOIDABLE = (
    r"performance_sample_count, found \d+, needs to be >= (13368|5000)",  # datacenter, edge
    r"Required minimum samples per query not met by user config",
    r"Test duration less than 600s in user config",
    r"Early stopping condition was not met",
    r"accurcy run does not cover all dataset",  # sic, the checker's spelling
    r"Some (performance|accuracy) checks Checks failed for: .*(performance/run_1|accuracy)/mlperf_log_detail\.txt",
    r"NoResults .*performance/run_1/mlperf_log_detail\.txt",
    r"SUMMARY: submission has errors",
)


@pytest.fixture(scope="module")
def demo_tree(tmp_path_factory):
    from .conftest import run_tool

    results = tmp_path_factory.mktemp("history")
    for scenario, extra in (("offline", ()), ("server", ("--server-target-qps", "20"))):
        r = run_tool("run.py", "--model", "demo", "--scenario", scenario, "--mode", "both", "--total-sample-count",
                     "24", "--min-duration", "0", "--max-new-tokens", "16", "--compliance-test06",
                     "--results-dir", str(results), *extra)
        assert r.returncode in (0, 5), r.stderr[-2000:]
    tree = tmp_path_factory.mktemp("submission") / "tree"
    r = run_tool("run.py", "--submission-dir", str(tree), "--system-name", "1xCPU_demo", "--submitter", "Org",
                 "--results-dir", str(results))
    assert r.returncode == 5, r.stderr[-2000:]  # demo runs are not results (accuracy FAIL): run.py packs none
    assert "can be submitted" in r.stderr and not tree.exists()
    from mlperf_vllm.orchestrate import submission

    # The layout of such runs, for the checker to judge: the library packs them when asked explicitly.
    report = submission.build(results, tree, "1xCPU_demo", "Org", None, allow_invalid=True)
    return tree, "\n".join(submission.summary_lines(report))


@pytest.mark.integration
def test_the_official_checker_accepts_the_demo_tree_but_for_what_a_demo_cannot_give(demo_tree):
    tree, printed = demo_tree
    result = checker.run_checker(tree, "Org", "v6.1")
    assert result is not None and result.script == checker.VENDORED / "main.py"
    assert result.errors, result.tail  # a demo is never submittable
    defects = [e for e in result.errors if not any(re.search(p, e) for p in UNAVOIDABLE)]
    assert not defects, defects
    assert f"submission checker: failed (exit 1, {len(result.errors)} errors)" in printed
    system = json.loads((tree / "closed" / "Org" / "systems" / "1xCPU_demo.json").read_text())
    assert system["system_type"] == "datacenter" and system["status"] == "available"
    assert "fill in" in printed and "host_storage_type" in printed  # TODO fields are listed as warnings
    scen = tree / "closed" / "Org" / "results" / "1xCPU_demo" / "llama3.1-8b"
    for s in ("Offline", "Server"):
        assert (scen / s / "README.md").is_file() and (scen / s / "TEST06" / "verify_accuracy.txt").is_file()


def test_the_hook_finds_either_checker_layout(tmp_path, monkeypatch):
    new = tmp_path / "new" / "tools" / "submission" / "submission_checker"
    new.mkdir(parents=True)
    (new / "main.py").write_text("")
    old = tmp_path / "old" / "tools" / "submission"
    old.mkdir(parents=True)
    (old / "submission_checker.py").write_text("")
    assert checker.find_checker(tmp_path / "new") == new / "main.py"
    assert checker.find_checker(tmp_path / "old") == old / "submission_checker.py"
    assert checker.find_checker(tmp_path / "none") is None
    monkeypatch.setenv("MLPERF_INFERENCE_DIR", str(tmp_path / "old"))
    assert checker.find_checker() == old / "submission_checker.py"
    monkeypatch.delenv("MLPERF_INFERENCE_DIR")
    assert checker.find_checker() == checker.VENDORED / "main.py"
