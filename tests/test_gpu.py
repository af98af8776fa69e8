"""On a CUDA GPU: run.py end to end with Llama-3.1-8B's architecture and dummy weights (CI skips these)."""

from __future__ import annotations

import json

import pytest

from mlperf_vllm.mlperf import logs

from .conftest import ROOT, only_run_dir, run_tool


def _cuda() -> bool:
    try:
        import torch
        return torch.cuda.is_available()
    except ImportError:
        return False


pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not _cuda(), reason="needs a CUDA GPU")]
MODEL = str(ROOT / "configs" / "Llama-3.1-8B-Instruct")


@pytest.mark.parametrize("scenario,extra", [
    ("offline", ["--total-sample-count", "1000", "--min-duration", "0"]),
    ("server", ["--total-sample-count", "1000", "--min-duration", "20", "--server-target-qps", "10"]),
])
def test_run_py_on_cuda_with_dummy_weights(tmp_path, scenario, extra):
    r = run_tool("run.py", "--model", MODEL, "--load-format", "dummy", "--dataset", "synthetic", "--mode",
                 "performance", "--scenario", scenario, "--max-model-len", "2668", *extra,
                 "--enforce-eager", "--results-dir", str(tmp_path), timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    run_dir = only_run_dir(tmp_path)
    perf = logs.read_log_dir(run_dir / "Performance")
    assert perf["num_errors"] == 0 and perf["valid"], (r.stdout, r.stderr[-3000:])
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["system"]["gpu"]["count"] >= 1 and summary["headline"]["value"] > 0
    assert r.returncode == 0
    print(f"{scenario}: {summary['headline']}")


def _gpus() -> int:
    import torch
    return torch.cuda.device_count() if _cuda() else 0


@pytest.mark.skipif(_gpus() < 2, reason="needs two CUDA GPUs")
def test_data_parallel_auto_uses_every_gpu(tmp_path):
    r = run_tool("run.py", "--model", MODEL, "--load-format", "dummy", "--dataset", "synthetic", "--mode",
                 "performance", "--scenario", "offline", "--total-sample-count", "1000", "--min-duration", "0",
                 "--max-model-len", "2668", "--data-parallel-size", "auto", "--tensor-parallel-size", "auto",
                 "--enforce-eager", "--results-dir", str(tmp_path), timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    summary = json.loads((only_run_dir(tmp_path) / "summary.json").read_text())
    n = _gpus()
    assert summary["config"]["engine"]["data_parallel_size"] == n
    assert summary["config"]["parallelism"].endswith(f"{n} of {n} GPUs")
    assert summary["validity"]["performance"] == "VALID"
    print(f"DP={n}: {summary['headline']}")
