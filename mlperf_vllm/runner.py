"""One run of run.py: run folder -> engine -> LoadGen tests -> logs parsed -> accuracy scored -> report.

The model load is never inside a timer; LoadGen's logs are the numbers; the run folder is created
only after every check that needs no engine has passed.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import statistics
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from . import __version__, rules
from .config import Mode, RunConfig, Scenario
from .engines.base import Engine, GenerationRequest, generate
from .mlperf import accuracy as acc
from .mlperf import harness, logs
from .mlperf.dataset import Samples
from .mlperf.sut import SystemUnderTest
from .progress import Progress
from .results import environment, store, summary as summ
from .results.atomic import write_json_atomic, write_text_atomic
from .results.secrets import RedactingFormatter

log = logging.getLogger(__name__)

EngineFactory = Callable[[RunConfig], Engine]
LATENCY_PROBES = 5  # sequential queries timed to size a SingleStream run (after one warm-up query)


@dataclass
class RunContext:
    """What the run has produced so far (for the summary, also when it ends early)."""

    cfg: RunConfig
    run_dir: Path
    samples: Samples
    started_at: str
    command: list[str]
    environment: dict[str, Any] = field(default_factory=dict)
    engine_start_s: float | None = None
    tests: list[harness.TestRun] = field(default_factory=list)
    performance: dict[str, Any] | None = None
    accuracy: dict[str, Any] | None = None
    timings: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    search: dict[str, Any] | None = None
    compliance: dict[str, Any] | None = None


def default_engine_factory(cfg: RunConfig) -> Engine:
    """vLLM in-process (one replica, or vLLM's data parallelism over several)."""
    from .engines.vllm_engine import start_vllm
    return start_vllm(cfg.engine)


def attach_run_log(run_dir: Path) -> logging.Handler:
    """Send every log record (tracebacks included) to run_dir/run.log, secrets redacted."""
    handler = logging.FileHandler(run_dir / "run.log", encoding="utf-8")
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.INFO)
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    return handler


def user_conf_text(cfg: RunConfig) -> str:
    """The user.conf this run uses: the user's file as is, or one rendered from the flags."""
    if cfg.user_conf is not None:
        return cfg.user_conf.read_text()
    return harness.render_user_conf(harness.UserConfRequest(
        model_name=rules.loadgen_model_name(cfg.category, cfg.scenario), scenario=cfg.scenario,
        total_sample_count=cfg.total_sample_count, official_sample_count=rules.DATASET_SIZE[cfg.category],
        target_qps=cfg.target_qps, target_latency_ms=cfg.target_latency_ms, min_duration_ms=cfg.min_duration_ms))


def start(cfg: RunConfig, samples: Samples, command: list[str]) -> RunContext:
    """Create the run folder and write what is known before the engine starts."""
    run_dir = store.new_run_dir(cfg.results_dir, f"{cfg.category.value}-{cfg.scenario.value}")
    attach_run_log(run_dir)
    ctx = RunContext(cfg, run_dir, samples, dt.datetime.now().astimezone().isoformat(timespec="seconds"), command)
    log.info("run folder %s", run_dir)
    write_json_atomic(run_dir / "config.json", cfg.to_dict())
    write_text_atomic(run_dir / "user.conf", user_conf_text(cfg))
    ctx.environment = environment.collect()
    write_json_atomic(run_dir / "environment.json", ctx.environment)
    write_summary(ctx, status="running")
    return ctx


def write_summary(ctx: RunContext, status: str) -> dict[str, Any]:
    """summary.json for the current state of the run."""
    data = summ.build(ctx, status=status, tool_version=__version__)
    write_json_atomic(ctx.run_dir / store.SUMMARY_FILE, data)
    return data


def run_tests(ctx: RunContext, engine: Engine, progress_enabled: bool) -> None:
    """Run every LoadGen test of the mode on one engine and one TestSettings (one FromConfig call)."""
    import mlperf_loadgen as lg

    if (ctx.cfg.scenario is Scenario.SINGLESTREAM and Mode.PERFORMANCE in ctx.cfg.mode.tests
            and ctx.cfg.target_latency_ms is None and ctx.cfg.user_conf is None):
        measure_expected_latency(ctx, engine)
    cfg = ctx.cfg
    model_name = rules.loadgen_model_name(cfg.category, cfg.scenario)
    settings = harness.make_settings(model_name, cfg.scenario, ctx.run_dir / "user.conf", lg)
    sut = SystemUnderTest(engine, ctx.samples, stream=cfg.scenario.streams_tokens,
                          max_new_tokens=cfg.max_new_tokens, lg=lg)
    if cfg.target_qps_source == "search":
        from .search_runner import confirm_or_step_down, run_search
        ceiling = last_offline_samples_per_s(cfg)  # no Server rate can exceed Offline's
        settings.server_target_qps = run_search(ctx, settings, sut, lg, ceiling, progress_enabled)
    for test in cfg.mode.tests:
        if test is Mode.PERFORMANCE and cfg.target_qps_source == "search":
            def run_perf(qps: float, sub: Path) -> dict[str, Any]:
                settings.server_target_qps = qps
                _one_test(ctx, settings, sut, Mode.PERFORMANCE, sub, lg, progress_enabled)
                return ctx.performance or {}
            confirm_or_step_down(ctx, run_perf, settings.server_target_qps)
        else:
            sub = ctx.run_dir / ("Accuracy" if test is Mode.ACCURACY else "Performance")
            _one_test(ctx, settings, sut, test, sub, lg, progress_enabled)
    if cfg.compliance_test06:
        run_test06(ctx, settings, sut, lg, progress_enabled)


def measure_expected_latency(ctx: RunContext, engine: Engine) -> None:
    """Set SingleStream's expected latency from a few sequential queries on the loaded engine.

    LoadGen sizes a SingleStream run from it (at least 2 x min duration / latency queries, rounded up
    past a multiple of the sample count); mlperf.conf's 10 ms placeholder would mean tens of thousands
    of LLM queries. The first query warms up and is not counted. user.conf is rewritten before LoadGen
    reads it, so the run folder holds exactly what LoadGen used.
    """
    cfg = ctx.cfg
    prompts = ctx.samples.prompts
    print("Measuring the per-query latency that sizes the SingleStream run ...", file=sys.stderr)
    seconds = []
    for i in range(LATENCY_PROBES + 1):
        t0 = time.perf_counter()
        generate(engine, [GenerationRequest(i, prompts[i % len(prompts)], max_new_tokens=cfg.max_new_tokens)])
        seconds.append(time.perf_counter() - t0)
    latency_ms = round(statistics.median(seconds[1:]) * 1000, 1)
    ctx.cfg = replace(cfg, target_latency_ms=latency_ms,
                      target_latency_source=f"measured: median of {LATENCY_PROBES} sequential queries before the test")
    log.info("SingleStream expected latency %.1f ms (%s)", latency_ms, ctx.cfg.target_latency_source)
    write_json_atomic(ctx.run_dir / "config.json", ctx.cfg.to_dict())
    write_text_atomic(ctx.run_dir / "user.conf", user_conf_text(ctx.cfg))


def run_test06(ctx: RunContext, settings: Any, sut: SystemUnderTest, lg: Any, progress_enabled: bool) -> None:
    """TEST06: a performance run under the official audit.config, then its three checks."""
    from .mlperf import compliance

    out = ctx.run_dir / "TEST06"
    out.mkdir(parents=True, exist_ok=True)
    audit = out / "audit.config"
    write_text_atomic(audit, compliance.TEST06_AUDIT_CONFIG)
    log.info("TEST06 compliance run")
    with Progress("TEST06", lambda: (sut.completed, sut.completed_tokens), enabled=progress_enabled):
        harness.run_test(settings, Mode.PERFORMANCE, sut, len(ctx.samples), out, lg, audit_config=audit)
    entries = acc.load_accuracy_log(out / logs.ACCURACY_FILE)
    detail = logs.parse_detail((out / logs.DETAIL_FILE).read_text())
    applied = detail.values.get("effective_accuracy_log_sampling_target") == 100
    result = compliance.verify_test06(entries, str(detail.values.get("effective_scenario", "Offline")))
    write_text_atomic(out / "verify_accuracy.txt", result.verify_accuracy_txt())
    ctx.compliance = {"TEST06": {"passed": result.passed and applied, "audit_config_applied": applied,
                                 "first_token_check": result.first_token, "eos_check": result.eos,
                                 "sample_length_check": result.sample_length, "samples_logged": result.samples,
                                 "loadgen_errors": detail.values.get("num_errors"),
                                 "problems": result.problems[:10], "log_dir": "TEST06"}}


def _one_test(ctx: RunContext, settings: Any, sut: SystemUnderTest, test: Mode, sub: Path, lg: Any,
              progress_enabled: bool) -> None:
    cfg = ctx.cfg
    log.info("LoadGen %s %s test at target QPS %s", cfg.scenario.display, test.value, settings.server_target_qps)
    with Progress(f"{test.value} {cfg.scenario.display}", lambda: (sut.completed, sut.completed_tokens),
                  enabled=progress_enabled):
        run = harness.run_test(settings, test, sut, len(ctx.samples), sub, lg)
    ctx.tests.append(run)
    ctx.timings[test.value] = sut.timing_rows()
    if test is Mode.PERFORMANCE or cfg.extra_metrics:
        write_timings_csv(sub / "sut_timings.csv", ctx.timings[test.value])
    log.info("%s test done in %.1f s: %d samples, %d engine errors", test.value, run.seconds,
             run.samples_completed, len(run.sut_errors))
    if test is Mode.PERFORMANCE:
        ctx.performance = logs.read_log_dir(sub)


def write_timings_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    """Per-sample SUT timings (the SUT's clock, from issue; LoadGen's figures are the official ones)."""
    buf = io.StringIO()
    fields = ["qsl_idx", "issued_ms", "ttft_ms", "latency_ms", "tpot_ms", "n_tokens", "error"]
    writer = csv.DictWriter(buf, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
    write_text_atomic(path, buf.getvalue())


def score_accuracy(ctx: RunContext, accuracy_log: Path, tokenizer: Any, progress_enabled: bool) -> dict[str, Any]:
    """Score the accuracy log into Accuracy/rouge.json and Accuracy/accuracy.txt."""
    cfg = ctx.cfg
    if ctx.samples.references is None:
        raise ValueError("the data set has no references to score against")
    entries = acc.load_accuracy_log(accuracy_log)
    with Progress("scoring ROUGE", None, enabled=progress_enabled, total=len(entries)) as bar:
        scores = acc.score_accuracy_log(entries, ctx.samples.references, tokenizer, source=str(accuracy_log),
                                        progress=bar.update)
    verdict = acc.gate(scores, cfg.category, cfg.high_accuracy)
    result = {"scores": scores, "gate": verdict.to_dict(), "accuracy_log": str(accuracy_log),
              "log_entries": len(entries)}
    out_dir = ctx.run_dir / "Accuracy"
    write_json_atomic(out_dir / "rouge.json", result)
    write_text_atomic(out_dir / "accuracy.txt", acc.accuracy_txt(scores))
    ctx.accuracy = result
    return result


def finish(ctx: RunContext, status: str, render: Callable[[Path], None]) -> dict[str, Any]:
    """Final summary, report and plots; then latest and the index (and --keep-all 0 clean-up)."""
    data = write_summary(ctx, status=status)
    try:
        render(ctx.run_dir)
    except Exception:  # a broken plot must never lose the run: summary.json is already written
        log.exception("rendering the report failed; `python report.py %s` re-renders it", ctx.run_dir)
    results_dir = ctx.cfg.results_dir
    store.update_latest(results_dir, ctx.run_dir)
    if not ctx.cfg.keep_all and status == "completed":
        removed = store.remove_earlier_runs(results_dir, ctx.run_dir, ctx.cfg.category.value, ctx.cfg.scenario.value)
        for path in removed:
            log.info("--keep-all 0: removed earlier run %s", path)
        data["removed_runs"] = [p.name for p in removed]
    store.rebuild_index(results_dir)
    return data


def last_offline_samples_per_s(cfg: RunConfig) -> tuple[float, str] | None:
    """Samples/s of the newest completed Offline run of the same model and engine settings."""
    want = summ.engine_digest(cfg)
    for entry in store.history(cfg.results_dir):
        s = entry.summary or {}
        c = s.get("config", {})
        perf = (s.get("run", {}).get("performance") or {})
        if (s.get("status") == "completed" and c.get("scenario") == Scenario.OFFLINE.value
                and c.get("category") == cfg.category.value and s.get("engine_digest") == want
                and perf.get("samples_per_sec")):
            return float(perf["samples_per_sec"]), entry.path.name
    return None


def elapsed(t0: float) -> float:
    """Seconds since t0 (perf_counter)."""
    return round(time.perf_counter() - t0, 3)
