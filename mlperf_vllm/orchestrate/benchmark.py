"""One run of run.py, start to end, in one place: plan -> run folder -> engine -> LoadGen tests (or the
QPS search and its confirmation) -> accuracy scored -> summary, report, history.

Each step returns what it measured; only `run` records it (in a RunOutcome) and writes the files. The
model load is never inside a timer; LoadGen's logs are the numbers; the run folder is created only
after every check that needs no engine has passed, and config.json and user.conf are written once,
when every value in them is known.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .. import __version__, interrupts, rules
from ..config import Backend, Mode, Scenario
from ..engines.base import Engine
from ..engines.factory import EngineFactory, EngineSpec, openai_spec, start_engine, vllm_spec
from ..errors import SetupError
from ..mlperf import harness, logs
from ..mlperf.dataset import describe
from ..mlperf.sut import SystemUnderTest
from ..results import environment, locks, store
from ..results import summary as summ
from ..results.atomic import (
    disk_error,
    disk_nearly_full,
    free_bytes,
    is_disk_error,
    write_json_atomic,
    write_text_atomic,
)
from ..results.folder import attach_run_log, write_machine_csv, write_timings_csv
from . import plan as planning
from .loadgen_tests import run_one, run_test06, score_accuracy
from .search_step import SearchStep, test_record
from .tune_run import attach as attach_tune

REPEAT_DIR = "Performance-repeat-"  # --repeat: the second performance test is Performance-repeat-2/
LAST_WORDS_LOCK_WAIT_S = 2.0  # a forced exit does not wait long for another process's history lock

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunResult:
    """How a run ended: its status, exit code (None: from the verdict), folder and summary."""

    status: str
    code: int | None
    run_dir: Path
    summary: dict[str, Any]
    removed_runs: list[str] = field(default_factory=list)
    error: str | None = None


def engine_spec(plan: planning.RunPlan, tokenizer: Any) -> EngineSpec:
    """What to start for this plan: in-process vLLM, or the HTTP client of --backend openai."""
    cfg = plan.cfg
    if cfg.backend is Backend.OPENAI:
        encode = (lambda text: tokenizer.encode(text, add_special_tokens=False)) if tokenizer is not None else None
        return openai_spec(cfg.engine, cfg.endpoints, cfg.served_model_name or cfg.model_label, encode,
                           cfg.stall_timeout_s)
    return vllm_spec(cfg.engine)


def write_plan(run_dir: Path, plan: planning.RunPlan) -> None:
    """config.json and user.conf: written once, when every value in them is known."""
    write_json_atomic(run_dir / "config.json", plan.cfg.to_dict())
    write_text_atomic(run_dir / "user.conf", planning.user_conf_text(plan.cfg))


class Measurement(SearchStep):
    """The LoadGen part of a run on a started engine; returns the final plan, fills the outcome."""

    def __init__(self, plan: planning.RunPlan, run_dir: Path, outcome: summ.RunOutcome, progress: bool) -> None:
        self.plan, self.run_dir, self.outcome, self.progress = plan, run_dir, outcome, progress

    def record(self, test: harness.TestRun, timings: list[dict[str, Any]], record: dict[str, Any] | None) -> None:
        self.keep(test, timings, f"{test.mode.value} test")
        self.outcome.timings[test.mode.value] = timings
        if record is not None:
            self.outcome.performance = record

    def keep(self, test: harness.TestRun, timings: list[dict[str, Any]], what: str) -> None:
        """A test in the summary's list (its failures logged by cause) and its SUT timings beside its logs."""
        entry = test_record(self.run_dir, test)
        for cause, n in entry.error_causes.items():
            log.error("%s: %d samples failed: %s", what, n, cause)
        self.outcome.tests.append(entry)
        if test.mode is Mode.PERFORMANCE or self.plan.cfg.extra_metrics:
            write_timings_csv(test.log_dir / "sut_timings.csv", timings)
            write_machine_csv(test.log_dir, test.machine, test.first_issue_ns)

    def run(self, engine: Engine) -> planning.RunPlan:
        import mlperf_loadgen as lg

        plan = self.plan
        if plan.measures_latency_on_engine:
            print("Measuring the per-query latency that sizes the SingleStream run ...", file=sys.stderr)
            plan = plan.with_latency(planning.measure_latency_ms(engine, plan.samples, plan.cfg.max_new_tokens),
                                     planning.LATENCY_NOTE)
            log.info("SingleStream expected latency %.1f ms (%s)", plan.cfg.target_latency_ms,
                     plan.cfg.target_latency_source)
        cfg = plan.cfg
        model_name = rules.loadgen_model_name(cfg.category, cfg.scenario)
        sut = SystemUnderTest(engine, plan.samples, stream=cfg.scenario.streams_tokens,
                              max_new_tokens=cfg.max_new_tokens, lg=lg)
        tests = list(cfg.mode.tests)
        if plan.searches_qps:
            # LoadGen reads its settings once; the QPS is the search's to decide, so the base file it
            # reads holds none, and the run's user.conf is written when the QPS is final.
            with tempfile.TemporaryDirectory(prefix="mlperf-base-conf-") as tmp:
                base = Path(tmp) / "user.conf"
                base.write_text(planning.user_conf_text(cfg))
                settings = harness.make_settings(model_name, cfg.scenario, base, lg)
            plan = self.search_and_confirm(plan, settings, sut, lg)
            write_plan(self.run_dir, plan)  # the confirmed QPS
            tests.remove(Mode.PERFORMANCE)  # done: the chosen attempt is Performance/
        else:
            write_plan(self.run_dir, plan)
            settings = harness.make_settings(model_name, cfg.scenario, self.run_dir / "user.conf", lg)
        self.plan = plan
        for test in tests:
            sub = self.run_dir / ("Accuracy" if test is Mode.ACCURACY else "Performance")
            run, timings, record = run_one(settings, sut, test, sub, len(plan.samples), plan.cfg.scenario, lg,
                                           self.progress, cfg.gc_freeze)
            self.record(run, timings, record)
        self.repeat(plan, settings, sut, lg)
        if cfg.compliance_test06:
            self.outcome.compliance = run_test06(self.run_dir, settings, sut, len(plan.samples), lg, self.progress,
                                                 cfg.gc_freeze)
        return plan

    def repeat(self, plan: planning.RunPlan, settings: Any, sut: SystemUnderTest, lg: Any) -> None:
        """--repeat: the performance test again at the result's settings, each into Performance-repeat-N/."""
        cfg = plan.cfg
        if cfg.repeat < 2 or self.outcome.performance is None:
            return
        if cfg.scenario in (Scenario.SERVER, Scenario.INTERACTIVE) and cfg.target_qps is not None:
            settings.server_target_qps = cfg.target_qps  # after a search: the confirmed rate, not the last tried
        if cfg.min_query_count is not None:
            settings.min_query_count = max(settings.min_query_count, cfg.min_query_count)
        for i in range(2, cfg.repeat + 1):
            sub = self.run_dir / f"{REPEAT_DIR}{i}"
            run, timings, record = run_one(settings, sut, Mode.PERFORMANCE, sub, len(plan.samples), cfg.scenario, lg,
                                           self.progress, cfg.gc_freeze)
            self.keep(run, timings, f"repeat {i}")
            self.outcome.repeats.append(summ.repeat_entry(cfg, sub.name, record, len(run.sut_errors)))
            log.info("repeat %d: %s", i, summ.repeat_line(self.outcome.repeats[-1], self.outcome.performance))


def _new_outcome(plan: planning.RunPlan, run_dir: Path, command: list[str]) -> summ.RunOutcome:
    return summ.RunOutcome(run_dir.name, dt.datetime.now().astimezone().isoformat(timespec="seconds"), command,
                           describe(plan.samples))


def write_summary(plan: planning.RunPlan, run_dir: Path, outcome: summ.RunOutcome, status: str) -> dict[str, Any]:
    data = summ.build(plan.cfg, outcome, status=status, tool_version=__version__)
    write_json_atomic(run_dir / store.SUMMARY_FILE, data)
    return data


def _write_error(exc: OSError, path: Path) -> SetupError:
    """A results write refused by the system, as a one-line SetupError (exit 3)."""
    if isinstance(exc, SetupError):
        return exc
    if is_disk_error(exc):
        return disk_error(exc, path)
    return SetupError(f"cannot write {path}: {exc.strerror or exc}; check the folder and its permissions "
                      "(or pass another --results-dir), then run again.")


def start(plan: planning.RunPlan, command: list[str]) -> tuple[Path, summ.RunOutcome, locks.RunLock]:
    """Create the run folder, take its run lock and write what is known before the engine starts. The
    folder appears under the history lock with its `running` summary (no other process sees it without
    one). If the disk refuses (full, read-only), nothing has run yet: the new folder is removed again and
    SetupError (exit 3) raised."""
    cfg = plan.cfg
    env = environment.collect()
    try:
        cfg.results_dir.mkdir(parents=True, exist_ok=True)
        with locks.history_lock(cfg.results_dir):
            run_dir = store.new_run_dir(cfg.results_dir, f"{cfg.category.value}-{cfg.scenario.value}")
            return (run_dir, *_first_files(plan, run_dir, command, env))
    except OSError as exc:
        raise _write_error(exc, cfg.results_dir / "<new run folder>") from None


def _first_files(plan: planning.RunPlan, run_dir: Path, command: list[str], env: dict[str, Any]
                 ) -> tuple[summ.RunOutcome, locks.RunLock]:
    run_lock = locks.RunLock(run_dir)
    handler = None
    try:
        handler = attach_run_log(run_dir)
        log.info("run folder %s", run_dir)
        outcome = _new_outcome(plan, run_dir, command)
        outcome.environment = env
        write_summary(plan, run_dir, outcome, status="running")
        write_json_atomic(run_dir / "environment.json", outcome.environment)
    except OSError as exc:
        error = _write_error(exc, Path(exc.filename) if exc.filename else run_dir)
        if handler is not None:
            logging.getLogger().removeHandler(handler)
            handler.close()
        run_lock.release()
        shutil.rmtree(run_dir, ignore_errors=True)  # nothing ran: no half-made run folder is left
        raise error from None
    return outcome, run_lock


def _keep_history(results_dir: Path, run_dir: Path) -> None:
    """latest and index.md; on a disk that refuses them the run's own files still stand."""
    for update in (store.update_latest, lambda d, _: store.rebuild_index(d)):
        try:
            update(results_dir, run_dir)
        except OSError as exc:  # derived data: `python report.py --rebuild-index` recreates both
            (log.info if is_disk_error(exc) else log.warning)(  # a full disk is the run's own error line
                "latest/index.md not updated (%s); `python report.py --rebuild-index --results-dir %s` recreates "
                "them", exc, results_dir)


def finish(plan: planning.RunPlan, run_dir: Path, outcome: summ.RunOutcome, status: str,
           render: Callable[[Path], Any]) -> tuple[dict[str, Any], list[str], SetupError | None]:
    """Final summary, report and plots; then latest and the index (and --keep-all 0 clean-up).

    If the summary cannot be written (disk full, read-only), the run is marked ended (failed, or
    interrupted) with the smallest write that can work, nothing else is written or removed, and the
    error is returned with that small summary."""
    results_dir = plan.cfg.results_dir
    try:
        data = write_summary(plan, run_dir, outcome, status)
    except OSError as exc:
        error = _write_error(exc, run_dir / store.SUMMARY_FILE)
        log.info("the run's summary could not be written: %s", error)
        ended = "interrupted" if status == "interrupted" else "failed"
        data = summ.build(plan.cfg, outcome, status=ended, tool_version=__version__)
        small = store.mark_ended(run_dir, data, ended, f"results not written: {error}")
        _keep_history(results_dir, run_dir)
        return small or store.ended_summary(data, ended, str(error)), [], error
    try:
        render(run_dir)
    except Exception:  # a broken plot must never lose the run: summary.json is already written
        log.exception("rendering the report failed; `python report.py %s` re-renders it", run_dir)
    removed = _remove_earlier(plan.cfg, run_dir) if not plan.cfg.keep_all and status == "completed" else []
    _keep_history(results_dir, run_dir)
    return data, removed, None


def _remove_earlier(cfg: Any, run_dir: Path) -> list[str]:
    """--keep-all 0: the earlier runs of this category and scenario that have finished, as lines to print."""
    try:
        removals = store.remove_earlier_runs(cfg.results_dir, run_dir, cfg.category.value, cfg.scenario.value)
    except OSError as exc:  # the history lock stayed held (another process packing a submission?)
        log.warning("--keep-all 0: no earlier run removed: %s", exc)
        return []
    for removal in removals:
        log.info("--keep-all 0: removed earlier run %s", removal.line())
    return [removal.line() for removal in removals]


def execute(plan: planning.RunPlan, command: list[str], tokenizer: Any, factory: EngineFactory | None,
            on_interrupt: Callable[[], None], advise: Callable[[BaseException, Path], str]) -> RunResult:
    """Run the plan: every outcome (completed, failed, interrupted) ends with a summary and a report. The
    run holds its folder's run lock until then (no --keep-all 0 of another run removes it meanwhile)."""
    run_dir, outcome, run_lock = start(plan, command)
    try:
        return _run_in(plan, run_dir, outcome, tokenizer, factory, on_interrupt, advise)
    finally:
        run_lock.release()


def _run_in(plan: planning.RunPlan, run_dir: Path, outcome: summ.RunOutcome, tokenizer: Any,
            factory: EngineFactory | None, on_interrupt: Callable[[], None],
            advise: Callable[[BaseException, Path], str]) -> RunResult:
    from ..errors import EXIT_INTERRUPTED, EXIT_RUN_FAILED, EXIT_SETUP, BenchError
    from ..report.render import render_run

    cfg = plan.cfg
    progress = sys.stderr.isatty()
    status, code, error = "completed", None, None
    measurement = Measurement(plan, run_dir, outcome, progress)
    interrupts.set_last_words(lambda: _last_words(measurement, run_dir, outcome))
    try:
        interrupts.check()
        if cfg.accuracy_log is None:
            t0 = time.perf_counter()
            print(f"Connecting to {len(cfg.endpoints)} endpoint(s) ..." if cfg.backend is Backend.OPENAI
                  else f"Starting the engine ({cfg.model_label}) ...", file=sys.stderr)
            engine = (factory or start_engine)(engine_spec(plan, tokenizer))
            outcome.engine_start_s = round(time.perf_counter() - t0, 3)
            try:
                interrupts.check()  # an interrupt swallowed during the start (e.g. inside a finalizer)
                plan = measurement.run(engine)
            finally:
                plan = measurement.plan
                engine.shutdown()
                _note_client_stats(engine, outcome)
            acc_log = run_dir / "Accuracy" / logs.ACCURACY_FILE
        else:
            write_plan(run_dir, plan)
            acc_log = cfg.accuracy_log
            outcome.notes.append(f"accuracy scored from an existing log: {cfg.accuracy_log}")
        if cfg.mode is not Mode.PERFORMANCE:
            outcome.accuracy = score_accuracy(run_dir, plan, acc_log, tokenizer, progress)
    except KeyboardInterrupt:
        interrupts.settle()
        on_interrupt()
        status, code = "interrupted", EXIT_INTERRUPTED
        log.warning("interrupted: the run stops here; its logs so far are kept in %s", run_dir)
    except BenchError as exc:
        status, code, error = "failed", exc.exit_code, str(exc)
        log.exception("run failed")
    except Exception as exc:  # the run folder keeps what was done; the traceback goes to run.log
        status, code = "failed", EXIT_RUN_FAILED
        log.exception("run failed")
        if is_disk_error(exc) or disk_nearly_full(run_dir):  # LoadGen's own writes fail silently: empty logs
            code, error = EXIT_SETUP, _disk_full_line(run_dir, exc)
        else:
            error = f"run failed: {advise(exc, run_dir)} (details in {run_dir / 'run.log'})"
    with interrupts.shielded():  # the measurement is over: an interrupt now must not cut the results short
        if cfg.tune_record is not None:  # the confirmation of a tune: its preset and its record, however it ended
            outcome.tune = attach_tune(run_dir, plan.cfg)
        if not (run_dir / "config.json").exists():  # the run ended before its values were final
            try:
                write_plan(run_dir, plan)
            except OSError as exc:  # the error that ended the run says why (the disk, usually)
                log.info("config.json not written: %s", exc)
        interrupts.set_last_words(None)
        data, removed, write_error = finish(plan, run_dir, outcome, status, render_run)
    if write_error is not None:
        if status != "interrupted":
            status, code = "failed", write_error.exit_code
        try:
            on_disk = store.read_summary(run_dir).status
        except store.ForeignSummary:
            on_disk = None
        marked = (f"marked {on_disk}" if on_disk in ("failed", "interrupted")  # else not even the small one fit
                  else "shown as stopped once this process has ended")
        disk = (f"{str(write_error).rstrip('.')} (the run is {marked}; its files so far stay in {run_dir}; earlier "
                "runs are untouched)")
        error = disk if error is None or is_disk_error(write_error) else f"{error.rstrip('.')}; also {disk}"
    return RunResult(status, code, run_dir, data, removed, error)


def _note_client_stats(engine: Engine, outcome: summ.RunOutcome) -> None:
    """The HTTP client's resends, rate limits, stalls and re-encoded replies, when any, in the run's notes."""
    from ..engines.openai_http import ClientStats  # light: aiohttp loads only when a client is made

    stats = getattr(engine, "stats", None)
    note = stats.note() if isinstance(stats, ClientStats) else None
    if note:
        outcome.notes.append(note)


def _disk_full_line(run_dir: Path, exc: BaseException) -> str:
    """The one line for a run that failed because its disk filled up (or turned read-only)."""
    if isinstance(exc, OSError) and is_disk_error(exc):
        return str(_write_error(exc, Path(exc.filename) if exc.filename else run_dir))
    free = free_bytes(run_dir)
    left = f"{free // 1024} KiB free" if free is not None else "no space left"
    return (f"the disk of {run_dir.parent} is full ({left}): LoadGen's logs in {run_dir} are cut short; free some "
            "space or pass a --results-dir on another disk, then run again.")


def _last_words(measurement: Measurement, run_dir: Path, outcome: summ.RunOutcome) -> None:
    """Before a forced exit: the summary marked interrupted and the index (the report: report.py later)."""
    log.warning("interrupted: forced exit; `python report.py %s` renders the report", run_dir)
    measurement.keep_search_so_far("interrupt")
    if not (run_dir / "config.json").exists():
        write_plan(run_dir, measurement.plan)
    try:
        write_summary(measurement.plan, run_dir, outcome, "interrupted")
    except OSError as exc:  # a full disk: the smallest summary that says so
        data = summ.build(measurement.plan.cfg, outcome, status="interrupted", tool_version=__version__)
        store.mark_ended(run_dir, data, "interrupted", f"interrupted; results not written: {exc}")
    store.rebuild_index(measurement.plan.cfg.results_dir, wait_s=LAST_WORDS_LOCK_WAIT_S)

