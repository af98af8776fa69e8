"""Real LoadGen in the test process, with settings built field by field (FromConfig is once per process)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlperf_loadgen as lg

from mlperf_vllm.config import Mode
from mlperf_vllm.mlperf import harness, logs
from mlperf_vllm.mlperf.dataset import Samples
from mlperf_vllm.mlperf.sut import SystemUnderTest


def settings(scenario: str, *, qps: float = 100.0, min_duration_ms: int = 0, min_query_count: int = 1,
             ttft_ms: float = 2000, tpot_ms: float = 100, expected_latency_ms: float = 10, concat: bool = True) -> Any:
    s = lg.TestSettings()
    s.scenario = getattr(lg.TestScenario, scenario)
    s.use_token_latencies = True
    s.ttft_latency = int(ttft_ms * 1e6)
    s.tpot_latency = int(tpot_ms * 1e6)
    s.server_target_qps = qps
    s.offline_expected_qps = qps
    s.single_stream_expected_latency_ns = int(expected_latency_ms * 1e6)
    s.min_duration_ms = min_duration_ms
    s.min_query_count = min_query_count
    s.sample_concatenate_permutation = concat
    return s


def samples(n: int = 50, length: int = 20) -> Samples:
    return Samples([[1 + (i * 31 + j) % 400 for j in range(length + i % 7)] for i in range(n)],
                   [f"reference {i}." for i in range(n)], "test")


def run(engine: Any, scenario: str, mode: Mode, out: Path, data: Samples | None = None, **kw: Any
        ) -> tuple[SystemUnderTest, dict[str, Any] | None]:
    data = data or samples()
    sut = SystemUnderTest(engine, data, stream=scenario != "Offline", max_new_tokens=128, lg=lg)
    harness.run_test(settings(scenario, **kw), mode, sut, len(data), out, lg)
    record = logs.read_log_dir(out) if mode is Mode.PERFORMANCE else None
    return sut, record
