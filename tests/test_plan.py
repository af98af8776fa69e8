"""The run plan: presets per scenario, the FP8 path, and every `auto` decided in one place."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mlperf_vllm.checkpoint import ONLINE_FP8, fp8_checkpoint, resolve_fp8
from mlperf_vllm.cli import run_args
from mlperf_vllm.config import QpsPolicy, Scenario
from mlperf_vllm.errors import UsageError

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"


def _engine(*flags):
    return run_args.parse(["--model", "m", *flags])[0].engine


@pytest.mark.parametrize("scenario,tokens,seqs,extra", [
    ("offline", 8192, 512, {}), ("server", 8192, 512, {}),
    # async scheduling: 48 QPS VALID with it, 44.5 INVALID without; graphs for every step size up to the budget
    ("interactive", 2048, 256, {"async_scheduling": True, "max_cudagraph_capture_size": 2048}),
    ("singlestream", 8192, 512, {})])
def test_the_preset_gives_each_scenario_its_own_settings(scenario, tokens, seqs, extra):
    qps = ["--server-target-qps", "10"] if scenario in ("server", "interactive") else []
    cat = ["--category", "edge"] if scenario == "singlestream" else []
    e = _engine("--preset", "h200-fp8", "--scenario", scenario, *cat, *qps)
    assert (e.max_num_batched_tokens, e.max_num_seqs, e.gpu_memory_utilization) == (tokens, seqs, 0.92)
    assert (e.quantization, e.kv_cache_dtype) == ("fp8", "fp8")
    assert e.extra == extra


def test_flags_and_engine_args_given_win_over_the_preset(monkeypatch):
    from mlperf_vllm import presets

    e = _engine("--preset", "h200-fp8", "--scenario", "interactive", "--server-target-qps", "10",
                "--max-num-seqs", "128", "--precision", "bf16")
    assert (e.max_num_seqs, e.max_num_batched_tokens, e.quantization) == (128, 2048, None)
    table = dict(presets.PRESETS["h200-fp8"])
    table[Scenario.OFFLINE] = {**table[Scenario.OFFLINE], "engine_args": {"long_prefill_token_threshold": 256,
                                                                          "async_scheduling": True}}
    monkeypatch.setitem(presets.PRESETS, "h200-fp8", table)
    e = _engine("--preset", "h200-fp8", "--engine-arg", "long_prefill_token_threshold=512")
    assert e.extra == {"long_prefill_token_threshold": 512, "async_scheduling": True}


def test_fp8_paths_of_checkpoints():
    ct = json.loads((CONFIGS / "Llama-3.1-8B-Instruct-FP8" / "config.json").read_text())
    mo = json.loads((CONFIGS / "Llama-3.1-8B-Instruct-FP8-ModelOpt" / "config.json").read_text())
    bf16 = json.loads((CONFIGS / "Llama-3.1-8B-Instruct" / "config.json").read_text())
    assert fp8_checkpoint(ct).layout == "compressed-tensors" and not fp8_checkpoint(ct).kv_cache_scales
    assert fp8_checkpoint(mo).layout == "modelopt" and fp8_checkpoint(mo).kv_cache_scales
    assert fp8_checkpoint(bf16) is None
    # a pre-quantized checkpoint runs as stored: vLLM takes the method from it, whatever --precision says
    assert resolve_fp8(ct, "fp8") == (None, fp8_checkpoint(ct).describe())
    assert resolve_fp8(ct, None)[0] is None and "compressed-tensors: per-tensor weights" in resolve_fp8(ct, None)[1]
    assert resolve_fp8(bf16, "fp8") == ("fp8", ONLINE_FP8)
    assert resolve_fp8(bf16, None) == (None, "")
    legacy = {"quantization_config": {"quant_method": "modelopt",
                                      "quantization": {"quant_algo": "FP8", "kv_cache_quant_algo": "FP8"}}}
    assert fp8_checkpoint(legacy).kv_cache_scales
    channel = json.loads(json.dumps(ct))
    group = channel["quantization_config"]["config_groups"]["group_0"]
    group["weights"]["strategy"], group["input_activations"]["dynamic"] = "channel", True
    assert fp8_checkpoint(channel).describe().startswith(
        "pre-quantized FP8 checkpoint (compressed-tensors: per-channel weights, dynamic")
    int8 = json.loads(json.dumps(ct))
    int8["quantization_config"]["config_groups"]["group_0"]["weights"]["type"] = "int"
    assert fp8_checkpoint(int8) is None


def _resolve(tmp_path, *flags, model=None):
    from mlperf_vllm.orchestrate import plan

    cfg, device = run_args.parse(["--model", str(model or CONFIGS / "Llama-3.1-8B-Instruct-FP8"), "--load-format",
                                  "dummy", "--dataset", "synthetic", "--mode", "performance", "--device", "cpu",
                                  "--total-sample-count", "16", "--results-dir", str(tmp_path), *flags])
    return plan.resolve(cfg, device)


def test_the_plan_resolves_the_fp8_path_and_the_offline_ceiling(tmp_path):
    from mlperf_vllm.results import summary as summ
    from mlperf_vllm.results.atomic import write_json_atomic
    from mlperf_vllm.results.store import new_run_dir

    p = _resolve(tmp_path, "--precision", "fp8")
    assert p.cfg.engine.quantization is None and p.cfg.fp8_path.startswith("pre-quantized FP8 checkpoint")
    assert p.cfg.engine.max_model_len == p.samples.max_prompt_tokens + 128 and p.cfg.total_sample_count == 16
    with pytest.raises(UsageError, match="needs an earlier completed Offline run"):
        _resolve(tmp_path, "--scenario", "server", "--server-target-qps", "auto")
    # An Offline run of the same model and numerics, with other scheduler settings, bounds the Server rate
    offline = _resolve(tmp_path, "--max-num-seqs", "64")
    run = new_run_dir(tmp_path, "datacenter-offline")
    out = summ.RunOutcome(run.name, "2026-01-01T00:00:00", ["run.py"], {})
    out.performance = {"throughput": {"tokens_per_s": 500.0, "samples_per_s": 40.0, "completed_tokens_per_s": None,
                                      "completed_samples_per_s": None, "scheduled_samples_per_s": None},
                       "ttft_ns": {}, "tpot_ns": {}, "latency_ns": {}, "result_validity": "VALID", "valid": True,
                       "validity_checks": {}, "headline": {"name": "tokens_per_s", "value": 500.0, "unit": "tokens/s"}}
    write_json_atomic(run / "summary.json", summ.build(offline.cfg, out, "completed", "test"))
    auto = _resolve(tmp_path, "--scenario", "server", "--server-target-qps", "auto")
    assert auto.cfg.qps_policy is QpsPolicy.AUTO and auto.cfg.target_qps == 32.0
    assert auto.cfg.target_qps_note == f"auto: 0.8 x Offline 40/s of {run.name}"
    searched = _resolve(tmp_path, "--scenario", "server", "--server-target-qps", "search")
    assert searched.searches_qps and searched.ceiling.samples_per_s == 40.0 and searched.cfg.target_qps is None
    final = searched.with_target_qps(35.5, "search: confirmed")
    assert final.cfg.target_qps == 35.5 and searched.cfg.target_qps is None  # plans are values
    from mlperf_vllm.orchestrate.plan import user_conf_text
    assert "llama3_1-8b.Server.target_qps = 35.5" in user_conf_text(final.cfg)
    other_model = tmp_path / "bf16"
    shutil.copytree(CONFIGS / "Llama-3.1-8B-Instruct", other_model)
    with pytest.raises(UsageError, match="needs an earlier completed Offline run"):  # other numerics: no ceiling
        _resolve(tmp_path, "--scenario", "server", "--server-target-qps", "auto", model=other_model)


def test_singlestream_latency_is_measured_only_when_not_given(tmp_path):
    p = _resolve(tmp_path, "--category", "edge", "--scenario", "singlestream")
    assert p.measures_latency_on_engine
    assert not _resolve(tmp_path, "--category", "edge", "--scenario", "singlestream",
                        "--singlestream-expected-latency-ms", "500").measures_latency_on_engine
    measured = p.with_latency(512.5, "measured")
    assert measured.cfg.target_latency_ms == 512.5 and p.cfg.target_latency_ms is None


def test_the_settle_stage_reads_what_a_long_probe_misses_from_a_full_run_of_the_same_engine(tmp_path):
    # The H200's VALID 600 s Interactive run at 40 QPS (2026-12-02; its timings kept compressed): windows of
    # 140 s saw a median p99 TPOT 20% under the run's 27.75 ms.
    import gzip

    from mlperf_vllm.orchestrate import plan
    from mlperf_vllm.results.summary import engine_digest

    evidence = ROOT / "docs" / "gpu-evidence" / "h200-campaign-2026-12-02" / "results"
    results = tmp_path / "results"
    p = _resolve(results, "--preset", "h200-fp8", "--scenario", "interactive", "--server-target-qps", "search")
    assert plan.tail_reference(p.cfg, 140.0) is None  # no history
    run = results / "20261202-082437-datacenter-interactive"
    shutil.copytree(evidence / run.name, run)
    timings = run / "Performance" / "sut_timings.csv"
    timings.write_bytes(gzip.decompress((run / "Performance" / "sut_timings.csv.gz").read_bytes()))
    summary = json.loads((run / "summary.json").read_text())
    assert plan.tail_reference(p.cfg, 140.0) is None  # another engine (the H200's model path and GPU)
    summary["engine_digest"] = engine_digest(p.cfg)
    (run / "summary.json").write_text(json.dumps(summary))
    ref = plan.tail_reference(p.cfg, 140.0)
    assert (ref.run_id, ref.windows) == (run.name, 8) and ref.shortfall == pytest.approx(0.204, abs=0.005)
    assert plan.tail_reference(p.cfg, 15.0).shortfall == pytest.approx(0.31, abs=0.01)
    # Not from a test shorter than a full run, nor from an INVALID one
    lines = timings.read_text().splitlines()
    timings.write_text("\n".join(lines[:8000]) + "\n")  # the first ~200 s
    assert plan.tail_reference(p.cfg, 15.0) is None
    timings.write_bytes(gzip.decompress((run / "Performance" / "sut_timings.csv.gz").read_bytes()))
    summary["validity"]["performance"] = "INVALID"
    (run / "summary.json").write_text(json.dumps(summary))
    assert plan.tail_reference(p.cfg, 140.0) is None
