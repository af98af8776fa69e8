"""The tuner's core on a simulated engine: start, plan, ties, start failures, resume, budget, preset files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlperf_vllm.cli import run_args, run_main
from mlperf_vllm.config import Scenario
from mlperf_vllm.tune import fingerprint as fpr
from mlperf_vllm.tune import result
from mlperf_vllm.tune import settings as se
from mlperf_vllm.tune import start as st
from mlperf_vllm.tune.plan import Plan
from mlperf_vllm.tune.probelog import Probe, ProbeLog
from mlperf_vllm.tune.seam import START_TIMEOUT_S
from mlperf_vllm.tune.tuner import Tuner

from . import tune_sim as ts

ISL, OSL = 870, 128
H200_GPUS = ("NVIDIA H200", 139.8, 1, "570.86.15", "12.8")
LLAMA_8B_FP8 = st.ModelShape(layers=32, kv_heads=8, head_dim=128, weight_bytes=8.5e9, kv_bytes_per_elem=1.0)


def _fp(gpus=H200_GPUS, scenario="offline", quantization="fp8") -> fpr.Fingerprint:
    return fpr.collect("/models/llama-3.1-8b-fp8", quantization, "cnn_eval.json", scenario, gpus=gpus, vllm="0.11.0")


def _plan(scenario: Scenario, **kw) -> Plan:
    start = st.from_capacity(2060 * (ISL + OSL), ISL, OSL)
    return Plan(scenario, start, "KV capacity", se.vllm_defaults("NVIDIA H200", 139.8), ISL, OSL,
                max_seqs=start.max_num_seqs, start_qps=20.0, **kw)


def _tune(tmp_path: Path, scenario: Scenario, engine: ts.SimEngine, plan: Plan | None = None,
          log_name: str = "tune.jsonl"):
    plan = plan or _plan(scenario)
    probes = ProbeLog(tmp_path / log_name, "digest")
    tuner = Tuner(plan, engine, probes, limits=ts.LIMITS, edge_search=ts.edge_search, clock=engine.clock)
    return tuner.run(), plan


# start -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("raw,seqs", [(10, 64), (100, 128), (300, 384), (1000, 1024), (1120, 1280), (2060, 2304),
                                      (9000, 4096)])
def test_sequences_round_up_as_trtllm_bench_does(raw, seqs):
    assert st.from_capacity(int(raw * (ISL + OSL)), ISL, OSL).max_num_seqs == seqs


@pytest.mark.parametrize("raw,tokens", [(1000, 2048), (3000, 3072), (5000, 5120), (8736, 9216), (16068, 16384),
                                        (99999, 32768)])
def test_step_tokens_round_up_as_trtllm_bench_does(raw, tokens):
    assert st.round_tokens(min(raw, st.MAX_TOKENS)) == tokens


def test_the_start_for_an_h200_and_an_h100_is_the_issues_arithmetic():
    h200, h100 = st.from_capacity(2060 * (ISL + OSL), ISL, OSL), st.from_capacity(1120 * (ISL + OSL), ISL, OSL)
    assert (h200.max_num_seqs, h200.max_num_batched_tokens) == (2304, 16384)
    assert (h100.max_num_seqs, h100.max_num_batched_tokens) == (1280, 9216)


@pytest.mark.parametrize("gib", [48, 80, 141])
def test_every_card_gets_a_start_from_its_memory_before_any_run(gib):
    kv = st.kv_capacity_tokens(LLAMA_8B_FP8, gib)
    assert kv == int((gib * st.GIB * 0.9 - 8.5e9) / 65536)
    s = st.from_capacity(kv, ISL, OSL)
    assert st.MIN_TOKENS <= s.max_num_batched_tokens <= st.MAX_TOKENS and 64 <= s.max_num_seqs <= st.MAX_SEQS
    assert s.max_num_seqs >= kv / (ISL + OSL)  # rounded up, "slightly optimistic"


def test_the_h200_preset_is_the_start_only_on_an_h200():
    kv = st.kv_capacity_tokens(LLAMA_8B_FP8, 80)
    on_h200 = st.choose_start(_fp(), Scenario.INTERACTIVE, kv, ISL, OSL)
    assert on_h200.source.startswith("h200-fp8")
    assert on_h200.settings == se.Settings(2048, 256, True, 2048, None)
    h100 = ("NVIDIA H100 80GB HBM3", 79.6, 1, "570.86.15", "12.8")
    on_h100 = st.choose_start(_fp(h100), Scenario.INTERACTIVE, kv, ISL, OSL)
    assert on_h100.source.startswith("KV capacity") and on_h100.settings == st.from_capacity(kv, ISL, OSL)


def test_the_start_is_printed_beside_vllms_defaults_one_line_per_knob():
    lines = se.render_beside(se.Settings(16384, 2304), se.vllm_defaults("NVIDIA H100 80GB HBM3", 79.6))
    assert len(lines) == 1 + len(se.KNOBS)
    assert lines[2].split()[:3] == ["max_num_seqs", "2304", "1024"] and lines[2].endswith("*")
    assert lines[1].split()[:3] == ["max_num_batched_tokens", "16384", "16384"] and not lines[1].endswith("*")
    assert se.vllm_defaults("NVIDIA A100-SXM4-80GB", 80).max_num_batched_tokens == 8192


# fingerprint -------------------------------------------------------------------------------------------
def test_a_fingerprint_is_stable_and_says_what_changed(tmp_path):
    a = _fp()
    assert a.digest == _fp().digest and len(a.digest) == 16
    assert fpr.Fingerprint.from_dict(json.loads(json.dumps(a.to_dict()))) == a
    b = fpr.collect(a.checkpoint, "fp8", a.dataset, "offline", gpus=("NVIDIA H100 80GB HBM3", 79.6, 2, "570.86.15",
                                                                     "12.8"), vllm="0.12.0")
    assert b.digest != a.digest
    assert fpr.changes(a, b) == "GPU NVIDIA H200 -> NVIDIA H100 80GB HBM3; GPU memory (GiB) 139.8 -> 79.6; GPUs 1 -> 2; " \
                                "vLLM 0.11.0 -> 0.12.0"
    assert fpr.changes(a, a) == ""
    (tmp_path / "config.json").write_text('{"quantization_config": {"quant_method": "fp8"}}')
    assert len(fpr.collect(str(tmp_path), None, "d", "offline", gpus=H200_GPUS, vllm="x").checkpoint_digest) == 64


def test_nvidia_smi_output_is_read_into_the_fingerprint():
    csv = "NVIDIA H200, 143771, 570.86.15\nNVIDIA H200, 143771, 570.86.15\n"
    banner = "| NVIDIA-SMI 570.86.15   Driver Version: 570.86.15   CUDA Version: 12.8     |"
    assert fpr.parse_gpu_query(csv, banner) == ("NVIDIA H200", 140.4, 2, "570.86.15", "12.8")
    assert fpr.parse_gpu_query("") == ("unknown", 0.0, 0, "unknown", "unknown")


# the tune ----------------------------------------------------------------------------------------------
def _moved(model: ts.Model, tokens: int, seqs: int) -> ts.Model:
    return ts.Model(model.peak, tokens, seqs, model.async_gain, model.graph_gain, model.prefill_gain)


@pytest.mark.parametrize("scenario,model", [
    (Scenario.OFFLINE, ts.OFFLINE), (Scenario.OFFLINE, _moved(ts.OFFLINE, 8192, 1024)),
    (Scenario.OFFLINE, _moved(ts.OFFLINE, 24576, 2048)), (Scenario.OFFLINE, _moved(ts.OFFLINE, 4096, 512)),
    (Scenario.SERVER, ts.SERVER), (Scenario.SERVER, _moved(ts.SERVER, 8192, 512)),
    (Scenario.SERVER, _moved(ts.SERVER, 4096, 1024)), (Scenario.SERVER, _moved(ts.SERVER, 16384, 2048)),
], ids=lambda v: v.value if isinstance(v, Scenario) else f"best-{v.best_tokens:g}-{v.best_seqs:g}")
def test_the_tune_ends_within_3_percent_of_the_known_best_in_at_most_8_starts(tmp_path, scenario, model):
    engine = ts.SimEngine(model)
    outcome, plan = _tune(tmp_path, scenario, engine)
    best = model.best(plan.max_seqs, plan.prefill_threshold)
    assert engine.starts <= 8 and outcome.starts == engine.starts
    assert model.value(outcome.choice) >= 0.97 * best, (outcome.choice, model.value(outcome.choice) / best)
    assert model.value(outcome.choice) > 1.03 * model.value(plan.start)  # it moved, and for the better


def test_the_screen_moves_to_a_new_best_edge_when_it_runs_far_below_it(tmp_path):
    engine = ts.SimEngine(ts.INTERACTIVE)
    outcome, plan = _tune(tmp_path, Scenario.INTERACTIVE, engine)
    screens = [p.qps for p in outcome.probes if p.kind == "screen"]
    edges = [p for p in outcome.probes if p.kind == "edge"]
    moved = sorted(set(screens), key=screens.index)
    assert len(moved) >= 3 and moved == sorted(moved)  # each better candidate raised it
    for qps in moved:  # each screen QPS is an edge the tune measured on a candidate
        assert any(e.qps == qps for e in edges)
    assert engine.starts <= 8
    assert ts.INTERACTIVE.value(outcome.choice) > 5 * ts.INTERACTIVE.value(plan.start)


def test_a_difference_inside_the_noise_goes_to_the_simpler_setting(tmp_path):
    # Offline's async gain (0.4%) is inside the 1% noise floor: the tune keeps vLLM's default (off).
    outcome, _ = _tune(tmp_path, Scenario.OFFLINE, ts.SimEngine(ts.OFFLINE))
    assert outcome.choice.async_scheduling is False
    tried = [p for p in outcome.probes if p.settings["async_scheduling"]]
    assert tried, "async scheduling was measured"
    d = se.vllm_defaults("NVIDIA H200", 139.8)
    assert se.complexity(se.Settings(16384, 1024), d) < se.complexity(se.Settings(16384, 1024, True), d)
    assert se.complexity(se.Settings(12288, 1024), d) < se.complexity(se.Settings(8192, 1024), d)


@pytest.mark.parametrize("scenario,model", [(Scenario.OFFLINE, ts.OFFLINE), (Scenario.SERVER, ts.SERVER)])
def test_a_candidate_that_cannot_start_is_dropped_with_its_cause(tmp_path, scenario, model):
    clean, plan = _tune(tmp_path, scenario, ts.SimEngine(model), log_name="clean.jsonl")
    fails = se.Settings.from_dict(next(p.settings for p in clean.probes if p.started and p.settings != plan.start.to_dict()))
    engine = ts.SimEngine(model, fail={fails: "CUDA out of memory while capturing graphs"})
    outcome, _ = _tune(tmp_path, scenario, engine)
    failed = [p for p in outcome.probes if p.start_failure]
    assert [(p.settings, p.start_failure) for p in failed] == [(fails.to_dict(), "CUDA out of memory while capturing graphs")]
    assert failed[0].seconds <= START_TIMEOUT_S  # on the engine's clock: the failure cost no more than the timeout
    assert outcome.choice != fails and outcome.choice is not None
    row = next(r for r in result.candidates(outcome) if r["settings"] == fails.to_dict())
    assert row["start_failure"].startswith("CUDA out of memory") and row["tokens_per_s"] is None


def test_a_start_that_cannot_start_falls_back_to_vllms_defaults(tmp_path):
    plan = _plan(Scenario.OFFLINE)
    outcome, _ = _tune(tmp_path, Scenario.OFFLINE, ts.SimEngine(ts.OFFLINE, fail={plan.start: "rejected"}))
    assert outcome.probes[0].start_failure == "rejected" and outcome.probes[1].settings == plan.defaults.to_dict()
    assert outcome.choice is not None


@pytest.mark.parametrize("scenario,model", [(Scenario.OFFLINE, ts.OFFLINE), (Scenario.SERVER, ts.SERVER),
                                            (Scenario.INTERACTIVE, ts.INTERACTIVE)])
def test_a_tune_killed_at_any_probe_and_resumed_makes_the_same_choice(tmp_path, scenario, model):
    whole = ts.SimEngine(model)
    reference, _ = _tune(tmp_path, scenario, whole, log_name="whole.jsonl")
    for k in range(1, whole.measurements + 1):
        killed = ts.SimEngine(model, kill_at=k)
        with pytest.raises(KeyboardInterrupt):
            _tune(tmp_path, scenario, killed, log_name=f"killed-{k}.jsonl")
        logged = len(ProbeLog(tmp_path / f"killed-{k}.jsonl", "digest").probes)
        resumed = ts.SimEngine(model, done=dict(killed.done))
        outcome, _ = _tune(tmp_path, scenario, resumed, log_name=f"killed-{k}.jsonl")
        assert outcome.choice == reference.choice and outcome.stop_reason == reference.stop_reason
        assert len(killed.measured) + len(resumed.measured) == len(whole.measured)  # nothing measured twice
        assert len(resumed.measured) == len(whole.measured) - logged


def test_a_resumed_tune_that_is_complete_starts_no_engine(tmp_path):
    first, _ = _tune(tmp_path, Scenario.SERVER, ts.SimEngine(ts.SERVER))
    again = ts.SimEngine(ts.SERVER)
    second, _ = _tune(tmp_path, Scenario.SERVER, again)
    assert again.starts == 0 and second.choice == first.choice


def test_at_the_end_of_the_budget_the_best_so_far_is_chosen(tmp_path):
    engine = ts.SimEngine(ts.OFFLINE)
    outcome, plan = _tune(tmp_path, Scenario.OFFLINE, engine, _plan(Scenario.OFFLINE, budget_s=900.0,
                                                                    start_s=100.0, probe_s=60.0))
    assert outcome.stop_reason == "budget_exhausted" and outcome.seconds <= 900.0
    measured = {json.dumps(p.settings, sort_keys=True): p.metric for p in outcome.probes if p.metric}
    assert outcome.choice is not None and json.dumps(outcome.choice.to_dict(), sort_keys=True) in measured


def test_a_budget_that_holds_only_the_first_window_still_chooses_the_start(tmp_path):
    plan = _plan(Scenario.OFFLINE, budget_s=ts.START_S + ts.PROBE_S, start_s=ts.START_S, probe_s=ts.PROBE_S)
    outcome, _ = _tune(tmp_path, Scenario.OFFLINE, ts.SimEngine(ts.OFFLINE), plan)
    assert outcome.stop_reason == "budget_exhausted" and outcome.choice == plan.start and len(outcome.probes) == 1


def test_the_plan_and_its_estimate_print_before_any_engine_starts():
    plan = _plan(Scenario.SERVER, budget_s=3600.0)
    lines = plan.lines()
    assert "long_prefill_token_threshold" in lines[1] and "QPS search on the best 2" in lines[2]
    assert plan.estimate_s() == min(3600.0, 8 * 120 + 9 * 90 + 5 * 480 + 2 * 90)
    assert _plan(Scenario.OFFLINE).estimate_s() == 8 * 120 + 9 * 90
    assert "long_prefill" not in _plan(Scenario.OFFLINE).lines()[1]
    assert lines[4].split() == ["knob", "start", "vLLM", "default"] and len(lines) == 5 + 5


def test_the_log_skips_a_torn_line_and_other_fingerprints(tmp_path):
    path = tmp_path / "tune.jsonl"
    log = ProbeLog(path, "mine")
    log.append(Probe("offline", {"max_num_seqs": 1}, "mine", metric=1.0, seconds=5.0, started=True))
    with open(path, "a") as f:
        f.write(Probe("offline", {"max_num_seqs": 2}, "theirs", metric=2.0).to_json() + "\n")
        f.write('{"kind": "offl')  # killed mid-write
    again = ProbeLog(path, "mine")
    assert [p.metric for p in again.probes] == [1.0] and again.foreign == 1 and again.seconds == 5.0
    again.append(Probe("offline", {"max_num_seqs": 3}, "mine", metric=3.0))
    assert [p.metric for p in ProbeLog(path, "mine").probes] == [1.0, 3.0]


# the record and --preset FILE ----------------------------------------------------------------------------
def _tuned_preset(tmp_path: Path, scenario: Scenario) -> tuple[Path, dict]:
    model = ts.SERVER if scenario is Scenario.SERVER else ts.OFFLINE
    outcome, plan = _tune(tmp_path, scenario, ts.SimEngine(model))
    fp = _fp(scenario=scenario.value)
    edge = max((p.qps for p in outcome.probes if p.kind == "edge" and p.settings == outcome.choice.to_dict()),
               default=None)
    doc = result.preset_document(fp, scenario, outcome.choice, edge, {"precision": "fp8",
                                                                      "gpu_memory_utilization": 0.92})
    path = result.write_preset(tmp_path, doc)
    tune = result.summary(fp, plan, outcome, path)
    assert tune["preset_file"] == str(path) and tune["choice"]["settings"] == outcome.choice.to_dict()
    assert {"fingerprint", "start", "candidates", "choice", "stop_reason"} <= set(tune)
    assert all({"settings", "limiting", "margin", "seconds"} <= set(r) for r in tune["candidates"])
    return path, {"choice": outcome.choice, "edge": edge}


@pytest.mark.parametrize("scenario", [Scenario.OFFLINE, Scenario.SERVER])
def test_a_tuned_preset_file_replays_exactly(tmp_path, scenario):
    path, found = _tuned_preset(tmp_path, scenario)
    cfg, _ = run_args.parse(["--model", "m", "--scenario", scenario.value, "--preset", str(path)])
    e, choice = cfg.engine, found["choice"]
    assert (e.max_num_batched_tokens, e.max_num_seqs) == (choice.max_num_batched_tokens, choice.max_num_seqs)
    assert e.quantization == "fp8" and e.gpu_memory_utilization == 0.92 and cfg.preset == str(path)
    assert se.as_settings({"engine_args": e.extra, "max_num_batched_tokens": e.max_num_batched_tokens,
                           "max_num_seqs": e.max_num_seqs}, se.Settings(1, 1)) == choice
    if scenario is Scenario.SERVER:
        assert cfg.target_qps == pytest.approx(found["edge"], rel=1e-5)


@pytest.mark.parametrize("content,message", [
    (None, "no such file"),
    ("{not json", "is not a JSON preset file"),
    ('{"scenario": "offline", "settings": {"max_num_seqs": 8, "max_batch": 4}}', "unknown keys max_batch"),
    ('{"scenario": "offline", "settings": {}, "extra": 1}', "unknown keys extra"),
    ('{"scenario": "server", "settings": {"max_num_seqs": 8}}', "tuned for --scenario server"),
    ('{"scenario": "offline", "settings": {"max_num_seqs": "many"}}', "positive whole number"),
])
def test_a_bad_preset_file_is_one_line_and_exit_2(tmp_path, capsys, content, message):
    path = tmp_path / "tuned_preset.json"
    if content is not None:
        path.write_text(content)
    argv = ["--model", "demo", "--total-sample-count", "16", "--results-dir", str(tmp_path / "results"),
            "--preset", str(path)]
    assert run_main.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and err.startswith("error: ") and len(err.splitlines()) == 1, err
    assert not (tmp_path / "results").exists()


def test_a_start_that_hangs_or_raises_is_given_up_with_its_cause():
    import threading

    from mlperf_vllm.tune.seam import StartFailed, bounded_start

    release, cancelled = threading.Event(), []

    def hang() -> str:
        release.wait()
        return "late"

    with pytest.raises(StartFailed, match="not started within 0.01 s"):
        bounded_start(hang, 0.01, lambda: (cancelled.append(True), release.set()))
    assert cancelled == [True]

    def oom() -> str:
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB\nmore")

    with pytest.raises(StartFailed, match=r"^RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB$"):
        bounded_start(oom, 60, lambda: None)
    assert bounded_start(lambda: "engine", 60, lambda: None) == "engine"


def test_a_log_from_another_machine_is_not_reused_and_says_what_changed(tmp_path):
    h200, h100 = _fp(), _fp(("NVIDIA H100 80GB HBM3", 79.6, 1, "570.86.15", "12.8"))
    path = tmp_path / "tune.jsonl"
    ProbeLog(path, h200.digest, h200.to_dict()).append(Probe("offline", {"max_num_seqs": 1}, h200.digest, metric=1.0))
    same = ProbeLog(path, h200.digest, h200.to_dict())
    assert len(same.probes) == 1 and same.earlier() == []
    other = ProbeLog(path, h100.digest, h100.to_dict())
    assert other.probes == [] and other.foreign == 1
    [before] = other.earlier()
    assert fpr.changes(fpr.Fingerprint.from_dict(before), h100) == \
        "GPU NVIDIA H200 -> NVIDIA H100 80GB HBM3; GPU memory (GiB) 139.8 -> 79.6"


def test_a_server_tune_out_of_budget_chooses_by_the_edges_it_measured(tmp_path):
    plan = _plan(Scenario.SERVER, budget_s=2000.0, start_s=100.0, probe_s=60.0, search_s=500.0)
    outcome, _ = _tune(tmp_path, Scenario.SERVER, ts.SimEngine(ts.SERVER), plan)
    assert outcome.stop_reason == "budget_exhausted" and outcome.seconds <= 2000.0
    edges = {json.dumps(p.settings, sort_keys=True): p.qps for p in outcome.probes if p.kind == "edge" and p.qps}
    chosen = json.dumps(outcome.choice.to_dict(), sort_keys=True)
    assert chosen in edges and edges[chosen] >= 0.98 * max(edges.values())


def test_a_tune_where_nothing_starts_says_so(tmp_path):
    plan = _plan(Scenario.OFFLINE)
    engine = ts.SimEngine(ts.OFFLINE, fail={plan.start: "CUDA out of memory", plan.defaults: "CUDA out of memory"})
    outcome, _ = _tune(tmp_path, Scenario.OFFLINE, engine, plan)
    assert outcome.choice is None and outcome.stop_reason == "no_engine_started" and engine.starts == 2


def test_the_kv_cache_per_token_comes_from_the_checkpoints_config(tmp_path):
    llama_8b = {"num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8, "hidden_size": 4096,
                "torch_dtype": "bfloat16"}
    (tmp_path / "model-00001.safetensors").write_bytes(b"x" * 300)
    (tmp_path / "model-00002.safetensors").write_bytes(b"x" * 200)
    shape = st.shape_from_config(llama_8b, st.weight_bytes(tmp_path), "fp8_e4m3")
    assert shape == st.ModelShape(32, 8, 128, 500.0, 1.0) and shape.kv_bytes_per_token() == 65536
    assert st.shape_from_config(llama_8b, 0, "auto").kv_bytes_per_token() == 131072
    assert st.shape_from_config(llama_8b, 0).kv_bytes_per_token(tp=2) == 65536  # each GPU holds half the heads


def test_the_qps_search_gives_the_edge_and_what_limits_it():
    from mlperf_vllm.mlperf import qps_search as qs
    from mlperf_vllm.tune import edges

    def probe(q: float) -> qs.ProbeResult:  # TPOT 90% of its limit at 40 QPS
        tpot = 0.9 * ts.LIMITS.tpot_ms * (q / 40) ** 1.5
        return qs.ProbeResult(q, 300.0, tpot, None, 0, tpot < qs.PROBE_HEADROOM * ts.LIMITS.tpot_ms, 30.0)

    edge = edges.search_edge(probe, 10.0, ts.LIMITS)
    assert 40 * 0.98 <= edge.qps < 40 and edge.limiting == "TPOT" and 0.1 <= edge.margin < 0.13
    never = edges.search_edge(lambda q: qs.ProbeResult(q, 9e3, 9e3, None, 0, False, 30.0), 10.0, ts.LIMITS)
    assert never.qps is None
