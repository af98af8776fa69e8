"""The run plan: every `auto` of a run decided in one place, before any file depends on it.

Decided before the run folder exists: model, device, data, parallelism, max model len, the FP8 path,
the Offline ceiling and `--server-target-qps auto`. Decided on the loaded engine, before the files
that depend on them are written: SingleStream's expected latency (measured here) and the searched
QPS (measured by the search, handed back here with `with_target_qps`).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, replace

from .. import rules
from ..checkpoint import resolve_fp8
from ..config import Backend, Device, Mode, QpsPolicy, RunConfig, Scenario
from ..engines.base import Engine, GenerationRequest, generate
from ..errors import UsageError
from ..mlperf import harness
from ..mlperf.dataset import Samples
from ..results import store, timeline
from ..results.summary import ceiling_digest, engine_digest
from . import preflight

LATENCY_PROBES = 5  # sequential queries timed to size a SingleStream run (after one warm-up query)
AUTO_QPS_SHARE = 0.8  # --server-target-qps auto: this share of the Offline samples/s


@dataclass(frozen=True)
class Ceiling:
    """The newest comparable Offline rate: no Server or Interactive rate can exceed it."""

    samples_per_s: float
    run_id: str


@dataclass(frozen=True)
class RunPlan:
    """A fully resolved run: configuration, samples, and what the history said."""

    cfg: RunConfig
    samples: Samples
    model: preflight.ResolvedModel
    ceiling: Ceiling | None = None

    @property
    def measures_latency_on_engine(self) -> bool:
        """SingleStream without an expected latency: LoadGen's sizing needs one measured on the engine."""
        c = self.cfg
        return (c.scenario is Scenario.SINGLESTREAM and Mode.PERFORMANCE in c.mode.tests
                and c.target_latency_ms is None and c.user_conf is None and c.accuracy_log is None)

    @property
    def searches_qps(self) -> bool:
        return self.cfg.qps_policy is QpsPolicy.SEARCH and self.cfg.accuracy_log is None

    def with_latency(self, latency_ms: float, note: str) -> "RunPlan":
        return replace(self, cfg=replace(self.cfg, target_latency_ms=latency_ms, target_latency_source=note))

    def with_target_qps(self, qps: float, note: str, min_query_count: int | None = None) -> "RunPlan":
        return replace(self, cfg=replace(self.cfg, target_qps=qps, target_qps_note=note,
                                         min_query_count=min_query_count))


def _device(cfg: RunConfig, device_flag: str, model: preflight.ResolvedModel) -> Device:
    if cfg.backend is Backend.OPENAI:
        from ..engines.openai_http import check_endpoints
        check_endpoints(cfg.endpoints, cfg.served_model_name or cfg.model_label)
        return Device.REMOTE
    if cfg.accuracy_log is not None:
        return Device.CPU  # scoring only: no engine
    return preflight.resolve_device(device_flag, model)


def offline_ceiling(cfg: RunConfig) -> Ceiling | None:
    """Samples/s of the newest completed Offline run of the same model, numerics and GPUs."""
    want = ceiling_digest(cfg)
    entry = store.newest(cfg.results_dir, lambda s: (
        s.status == "completed" and s.scenario == Scenario.OFFLINE.value and s.category == cfg.category.value
        and s.ceiling_digest == want and bool(s.samples_per_sec)))
    if entry is None or entry.summary is None or entry.summary.samples_per_sec is None:
        return None
    return Ceiling(entry.summary.samples_per_sec, entry.path.name)


TAIL_MIN_TEST_S = 500.0  # a reference test spans about MLPerf's 600 s of issue time
MAX_TAIL_SHORTFALL = 0.35


@dataclass(frozen=True)
class TailReference:
    """How far the p99 TPOT of windows of `seconds` fell under the whole test's p99 (the median window's
    shortfall), in a full-length VALID run of the same engine settings and scenario."""

    run_id: str
    seconds: float
    shortfall: float
    windows: int


def tail_reference(cfg: RunConfig, seconds: float) -> TailReference | None:
    """From the newest completed VALID performance run of the same engine and scenario whose timings span
    a full-length test (results/timeline.py): what a probe of `seconds` misses of its p99 TPOT."""
    want = engine_digest(cfg)
    for entry in store.history(cfg.results_dir):
        s = entry.summary
        if (s is None or s.status != "completed" or s.scenario != cfg.scenario.value
                or s.category != cfg.category.value or s.engine_digest != want or s.performance_verdict != "VALID"):
            continue
        rows = timeline.read_timings(entry.path / "Performance" / timeline.TIMINGS_FILE)
        issued = [r["issued_ms"] for r in rows if r.get("issued_ms") is not None]
        if not issued or max(issued) - min(issued) < TAIL_MIN_TEST_S * 1000:
            continue
        w = timeline.probe_windows(rows, seconds)
        if w["windows"] and w.get("median_shortfall") is not None:
            share = min(MAX_TAIL_SHORTFALL, max(0.0, w["median_shortfall"]))
            return TailReference(entry.path.name, seconds, round(share, 4), w["windows"])
    return None


def resolve(cfg: RunConfig, device_flag: str) -> RunPlan:
    """Check and decide everything that needs no engine; raises UsageError/SetupError, writes nothing."""
    if cfg.accuracy_log is not None:  # a typo fails here, before the model, the servers or any folder
        from ..mlperf.accuracy import check_accuracy_log_path
        check_accuracy_log_path(cfg.accuracy_log)
    model = preflight.resolve_model(cfg.engine.model, cfg.engine.tokenizer, preflight.needs_tokenizer(cfg),
                                    preflight.tokenizer_use(cfg))
    device = _device(cfg, device_flag, model)
    samples = preflight.load_samples(cfg, model)
    par = preflight.resolve_parallelism(cfg, model, device)
    quantization, fp8_path = resolve_fp8(model.config, cfg.engine.quantization)
    engine = replace(cfg.engine, model=model.path, tokenizer=model.tokenizer, quantization=quantization,
                     tensor_parallel_size=par.tensor_parallel_size, data_parallel_size=par.data_parallel_size,
                     max_model_len=preflight.check_max_model_len(cfg, samples))
    cfg = replace(cfg, engine=engine, device=device, total_sample_count=len(samples), parallelism=par.note,
                  fp8_path=fp8_path)
    ceiling = offline_ceiling(cfg) if cfg.qps_policy in (QpsPolicy.AUTO, QpsPolicy.SEARCH) else None
    if cfg.qps_policy is QpsPolicy.AUTO:
        if ceiling is None:
            raise UsageError("--server-target-qps auto needs an earlier completed Offline run of the same model and "
                             f"precision in {cfg.results_dir}; run --scenario offline first or give a number.")
        cfg = replace(cfg, target_qps=round(AUTO_QPS_SHARE * ceiling.samples_per_s, 4),
                      target_qps_note=f"auto: {AUTO_QPS_SHARE:g} x Offline {ceiling.samples_per_s:g}/s of "
                                      f"{ceiling.run_id}")
    if not cfg.rescore_only:
        preflight.check_results_dir(cfg.results_dir)
    return RunPlan(cfg, samples, model, ceiling)


def measure_latency_ms(engine: Engine, samples: Samples, max_new_tokens: int) -> float:
    """SingleStream's expected latency: the median of a few sequential queries after one warm-up.

    LoadGen sizes a SingleStream run from it (at least 2 x min duration / latency queries); mlperf.conf's
    10 ms placeholder would mean tens of thousands of LLM queries.
    """
    prompts = samples.prompts
    seconds = []
    for i in range(LATENCY_PROBES + 1):
        t0 = time.perf_counter()
        generate(engine, [GenerationRequest(i, prompts[i % len(prompts)], max_new_tokens=max_new_tokens)])
        seconds.append(time.perf_counter() - t0)
    return round(statistics.median(seconds[1:]) * 1000, 1)


LATENCY_NOTE = f"measured: median of {LATENCY_PROBES} sequential queries before the test"


def user_conf_text(cfg: RunConfig) -> str:
    """The user.conf of a run: the user's file as is, or one rendered from the plan."""
    if cfg.user_conf is not None:
        return cfg.user_conf.read_text()
    return harness.render_user_conf(harness.UserConfRequest(
        model_name=rules.loadgen_model_name(cfg.category, cfg.scenario), scenario=cfg.scenario,
        total_sample_count=cfg.total_sample_count, official_sample_count=rules.DATASET_SIZE[cfg.category],
        target_qps=cfg.target_qps, target_latency_ms=cfg.target_latency_ms, min_duration_ms=cfg.min_duration_ms,
        min_query_count=cfg.min_query_count))
