"""The SUT under the real LoadGen, with fake engines whose behaviour is known."""

from __future__ import annotations

import json

import mlperf_loadgen as lg
import numpy as np
import pytest

from mlperf_vllm.config import Mode
from mlperf_vllm.engines.fake import InstantEngine, TimedEngine, _ids
from mlperf_vllm.mlperf import harness, logs
from mlperf_vllm.mlperf.sut import SystemUnderTest

from . import lg_helpers as h

pytestmark = pytest.mark.integration


def test_offline_hands_the_engine_every_sample_in_one_submit(tmp_path):
    engine = InstantEngine(n_tokens=5)
    data = h.samples(200)
    sut, record = h.run(engine, "Offline", Mode.PERFORMANCE, tmp_path, data, qps=1000, min_query_count=200)
    assert engine.submits == [record["generated_samples_per_query"]]
    assert engine.submits[0] >= 200
    assert record["valid"] is True and record["num_errors"] == 0
    # Offline: tokens/s is samples/s x tokens per sample, as LoadGen computes it.
    t = record["throughput"]
    assert t["tokens_per_s"] == pytest.approx(t["samples_per_s"] * 5, rel=1e-3)


def test_accuracy_log_holds_exactly_the_engine_ids_as_int32(tmp_path):
    engine = InstantEngine(n_tokens=7)
    data = h.samples(30)
    h.run(engine, "Offline", Mode.ACCURACY, tmp_path, data)
    entries = json.loads((tmp_path / logs.ACCURACY_FILE).read_text())
    assert sorted(e["qsl_idx"] for e in entries) == list(range(30))  # one entry per sample
    for e in entries:
        ids = np.frombuffer(bytes.fromhex(e["data"]), dtype=np.int32).tolist()
        assert ids == _ids(data.prompts[e["qsl_idx"]], 7)
        assert e["token_count"] == 7


def test_streaming_accuracy_log_has_first_token_equal_to_output_start(tmp_path):
    engine = InstantEngine(n_tokens=6)
    data = h.samples(20)
    h.run(engine, "Server", Mode.ACCURACY, tmp_path, data, qps=500)
    entries = json.loads((tmp_path / logs.ACCURACY_FILE).read_text())
    assert len(entries) == 20
    for e in entries:
        data_ids = np.frombuffer(bytes.fromhex(e["data"]), dtype=np.int32).tolist()
        first = np.frombuffer(bytes.fromhex(e["token_data"]), dtype=np.int32).tolist()
        assert data_ids[:len(first)] == first and e["token_count"] == len(data_ids)


def test_server_queries_overlap_under_load(tmp_path):
    engine = TimedEngine(ttft_s=0.05, tpot_s=0.01, n_tokens=8)
    try:
        sut, record = h.run(engine, "Server", Mode.PERFORMANCE, tmp_path, qps=200, min_duration_ms=1000,
                            min_query_count=100)
    finally:
        engine.shutdown()
    # 200 QPS x ~0.12 s per request: about 24 in flight; lock-step would give 1.
    assert engine.max_in_flight > 5
    assert all(n == 1 for n in engine.submits)  # each arrival goes to the engine as it comes
    assert record["num_errors"] == 0


@pytest.mark.parametrize("ttft_s,tpot_s", [(0.040, 0.010), (0.120, 0.004)])
def test_fixed_ttft_and_tpot_show_up_in_loadgen_summary(tmp_path, ttft_s, tpot_s):
    engine = TimedEngine(ttft_s=ttft_s, tpot_s=tpot_s, n_tokens=10)
    try:
        _, record = h.run(engine, "Server", Mode.PERFORMANCE, tmp_path, qps=100, min_duration_ms=1000,
                          min_query_count=100)
    finally:
        engine.shutdown()
    # The fake's timer fires late, never early, by a fraction of a ms (p50 within 1.1% here beside two busy
    # loops on 2 cores): 10% is room for a much slower machine, and still tells TTFT from the whole latency.
    assert record["ttft_ns"]["50.00"] / 1e9 == pytest.approx(ttft_s, rel=0.10)
    assert record["tpot_ns"]["50.00"] / 1e9 == pytest.approx(tpot_s, rel=0.10)
    latency = ttft_s + 9 * tpot_s
    assert record["latency_ns"]["50.00"] / 1e9 == pytest.approx(latency, rel=0.10)


def test_engine_errors_complete_the_sample_and_reach_the_logs(tmp_path):
    class FailingEngine(InstantEngine):
        def submit(self, requests, sink):
            for r in requests:
                sink.on_error(r.tag, "boom")

    sut, record = h.run(FailingEngine(), "Server", Mode.PERFORMANCE, tmp_path, qps=200, min_duration_ms=100,
                        min_query_count=20)
    assert sut.errors and record["num_errors"] > 0  # never a hang, always visible


@pytest.mark.parametrize("scenario,qps,duration_ms,concat", [
    ("Server", 1000, 1000, True),  # 1,000 queries for the second, padded to 1,200 (four passes of 300)
    ("Server", 1000, 1000, False),  # no padding: the Poisson schedule's own count
    ("Offline", 500, 1000, True),  # 1.1 x 1 s x 500 = 550 samples, padded to 600
    ("SingleStream", 1000, 200, True),  # 2 x 0.2 s at 1 ms = 400, then a pass more than whole passes: 600
])
def test_schedule_predicts_the_queries_loadgen_issues(tmp_path, scenario, qps, duration_ms, concat):
    data = h.samples(300, length=4)
    s = h.settings(scenario, qps=qps, min_duration_ms=duration_ms, min_query_count=1,
                   expected_latency_ms=1000 / qps, concat=concat)
    plan = harness.schedule(s, len(data))
    sut = SystemUnderTest(InstantEngine(n_tokens=2), data, stream=scenario != "Offline", max_new_tokens=128, lg=lg)
    harness.run_test(s, Mode.PERFORMANCE, sut, len(data), tmp_path, lg)
    issued = logs.read_log_dir(tmp_path)["generated_samples_per_query"] if scenario == "Offline" else sut.completed
    if concat:
        assert plan.queries == issued and plan.equal_issue and plan.passes == issued / len(data)
    else:  # a Poisson count: within a few standard deviations (sqrt(1000) ~ 32) of the rate x the duration
        assert plan.queries == 1000 and abs(issued - plan.queries) < 150
    assert plan.seconds == pytest.approx(plan.queries / qps)
