"""--repeat: the performance test again on the same engine, each repeat kept and compared with the first."""

from __future__ import annotations

import json

import pytest

from mlperf_vllm.cli import run_main

from .conftest import only_run_dir, run_python

pytestmark = pytest.mark.integration


def test_repeats_run_on_one_engine_and_the_report_compares_them(tmp_path, demo_model):
    results = tmp_path / "r"
    code = f"""
import sys
from mlperf_vllm.cli.run_main import main
from mlperf_vllm.engines.fake import TimedEngine
starts = []
def factory(spec):
    starts.append(1)
    return TimedEngine(ttft_s=0.01, tpot_s=0.002, n_tokens=6)
# 600 queries a test: LoadGen's early stopping needs at least 459 to pass at p99
code = main(["--model", "demo", "--scenario", "server", "--server-target-qps", "200", "--mode", "performance",
             "--total-sample-count", "16", "--min-duration", "3", "--repeat", "3", "--results-dir", {str(results)!r}],
            engine_factory=factory)
print("engine starts:", len(starts))
sys.exit(code)
"""
    r = run_python(code)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "engine starts: 1" in r.stdout
    run_dir = only_run_dir(results)
    s = json.loads((run_dir / "summary.json").read_text())
    perf = [t["log_dir"] for t in s["tests"] if t["mode"] == "performance"]
    assert perf == ["Performance", "Performance-repeat-2", "Performance-repeat-3"]
    for d in perf:
        assert (run_dir / d / "mlperf_log_summary.txt").is_file() and (run_dir / d / "sut_timings.csv").is_file()
    rep = s["repeats"]
    assert rep["count"] == 3 and [t["log_dir"] for t in rep["tests"]] == perf[1:]
    first = s["headline"]["value"]
    for t in rep["tests"]:  # each repeat's metric is its own LoadGen summary's, compared with the first's
        lg_value = float(next(line.split(":")[1] for line in (run_dir / t["log_dir"] / "mlperf_log_summary.txt")
                              .read_text().splitlines() if line.startswith("Completed tokens per second")))
        assert t["value"] == pytest.approx(lg_value, rel=1e-6)
        assert t["diff_pct"] == pytest.approx(100 * (t["value"] - first) / first, abs=1e-3)
        assert t["valid"] is True and t["p99_tpot_ms"] is not None
    assert rep["all_valid"] is True
    assert rep["max_abs_diff_pct"] == max(abs(t["diff_pct"]) for t in rep["tests"])
    report = (run_dir / "report.md").read_text()
    assert "## Repeats" in report and "Performance-repeat-3" in report and "ran 3 times on the same engine" in report
    log = (run_dir / "run.log").read_text()
    assert "repeat 2: VALID" in log and "repeat 3: VALID" in log and "from the first" in log


def test_repeats_after_a_search_run_the_rate_it_confirmed(tmp_path):
    from mlperf_vllm.mlperf import logs

    results = tmp_path / "r"
    code = f"""
import sys
from mlperf_vllm.cli.run_main import main
from mlperf_vllm.engines.fake import TimedEngine
def factory(spec):  # 5 ms TTFT while at most 12 requests are in flight, 3 s beyond: a known capacity
    return TimedEngine(ttft_s=0.005, tpot_s=0.002, n_tokens=8, ttft_fn=lambda n: 0.005 if n <= 12 else 3.0)
sys.exit(main(["--model", "demo", "--scenario", "server", "--mode", "performance", "--total-sample-count", "32",
               "--min-duration", "2", "--server-target-qps", "search", "--search-probe-duration", "1",
               "--search-budget-min", "2", "--repeat", "2", "--results-dir", {str(results)!r}],
              engine_factory=factory))
"""
    r = run_python(code)
    assert r.returncode == 0, r.stderr[-3000:]
    run_dir = only_run_dir(results)
    s = json.loads((run_dir / "summary.json").read_text())
    confirmed = s["qps_search"]["confirmed_qps"]
    assert s["repeats"]["count"] == 2 and [t["log_dir"] for t in s["repeats"]["tests"]] == ["Performance-repeat-2"]
    # the repeat runs exactly the rate the run's user.conf writes, which is the confirmed one
    conf = [ln for ln in (run_dir / "user.conf").read_text().splitlines()
            if ln.startswith("llama3_1-8b.Server.target_qps")]
    assert len(conf) == 1 and float(conf[0].split("=")[1]) == confirmed
    for d in ("Performance", "Performance-repeat-2"):
        assert logs.read_log_dir(run_dir / d)["settings"]["effective_target_qps"] == pytest.approx(confirmed, rel=1e-9)


@pytest.mark.parametrize("argv", [["--mode", "accuracy", "--repeat", "2"], ["--repeat", "0"], ["--repeat", "11"],
                                  ["--repeat", "two"]])
def test_a_repeat_that_cannot_run_is_refused_in_one_line(tmp_path, capsys, argv):
    results = tmp_path / "r"
    assert run_main.main(["--model", "demo", "--total-sample-count", "16", "--results-dir", str(results), *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "--repeat" in err[0]
    assert not results.exists()
