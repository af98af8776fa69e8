"""One MMLU run, start to end: plan -> run folder -> engine -> scored questions -> files, report, history."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
import os
import shutil
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from .. import __version__, interrupts
from ..config import EngineConfig
from ..engines.factory import EngineFactory, start_engine, vllm_spec
from ..errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_RUN_FAILED, EXIT_SETUP, SetupError
from ..mmlu import data as mdata
from ..mmlu import evaluate as mev
from ..mmlu.subjects import DOMAIN_NAMES, LETTERS
from ..progress import Progress
from ..report.mmlu import render_mmlu
from ..results import environment, locks, store
from ..results.atomic import disk_error, is_disk_error, write_json_atomic, write_text_atomic
from ..results.folder import attach_run_log

log = logging.getLogger(__name__)

SUMMARY_ROOM_BYTES = 4096  # the running summary's size on disk (see _start)


@dataclass(frozen=True)
class MmluPlan:
    """A resolved MMLU run: engine settings, prompts and what to record."""

    engine: EngineConfig
    config: dict[str, Any]  # config.json
    questions: list[mdata.Question]
    prompts: list[list[int]]
    choice_ids: list[int]
    results_dir: Path
    keep_all: bool
    extra_metrics: bool
    demo_data: bool


@dataclass(frozen=True)
class MmluResult:
    status: str
    code: int
    run_dir: Path
    results: dict[str, Any] | None
    error: str | None = None
    removed_runs: tuple[str, ...] = ()


def samples_csv(scored: Sequence[mev.Scored]) -> str:
    """One row per question: answer, prediction, the four log-probabilities, latency."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["subject", "domain", "question_id", "answer", "prediction", "correct",
                *(f"logprob_{x}" for x in LETTERS), "latency_ms"])
    for s in scored:
        q = s.question
        w.writerow([q.subject, DOMAIN_NAMES[q.domain], q.qid, LETTERS[q.answer], LETTERS[s.prediction], int(s.correct),
                    *(f"{v:.6f}" for v in s.logprobs), f"{s.latency_ms:.1f}"])
    return buf.getvalue()


def latency_stats(scored: Sequence[mev.Scored]) -> dict[str, float] | None:
    """Per-question latency percentiles (ms), for --extra-metrics."""
    import numpy as np

    values = np.asarray([s.latency_ms for s in scored], dtype=float)
    if not len(values):
        return None
    return {f"p{p}": round(float(np.percentile(values, p)), 1) for p in (50, 90, 99)} | {
        "mean": round(float(values.mean()), 1)}


def _summary(plan: MmluPlan, run_dir: Path, started: str, command: list[str], status: str,
             results: dict[str, Any] | None) -> dict[str, Any]:
    notes = []
    if plan.demo_data:
        notes.append("demo data: generated questions, not MMLU; the demo model has random weights (about 25% expected)")
    return {"schema_version": 1, "status": status, "kind": "mmlu",
            "meta": {"run_id": run_dir.name, "started_at": started, "tool_version": __version__, "command": command,
                     "host": socket.gethostname(), "pid": os.getpid()},
            "config": plan.config, "notes": notes,
            "headline": {"name": "mmlu_accuracy", "unit": "%",
                         "value": results["overall"]["accuracy"] if results else None},
            "validity": {}, "mmlu": results}


def _start(plan: MmluPlan, command: list[str]) -> tuple[Path, str, locks.RunLock]:
    """The run folder (made with its first files under the history lock, and held by its run lock) and
    what is known before the engine starts. If the disk refuses (full, read-only), nothing has run yet:
    the new folder is removed again and DiskError (exit 3) raised."""
    env = environment.collect()
    try:
        plan.results_dir.mkdir(parents=True, exist_ok=True)
        with locks.history_lock(plan.results_dir):
            run_dir = store.new_run_dir(plan.results_dir, "mmlu")
            return (run_dir, *_first_files(plan, run_dir, command, env))
    except OSError as exc:
        raise (disk_error(exc, plan.results_dir / "<new run folder>") if is_disk_error(exc) else exc) from None


def _first_files(plan: MmluPlan, run_dir: Path, command: list[str], env: dict[str, Any]
                 ) -> tuple[str, locks.RunLock]:
    run_lock = locks.RunLock(run_dir)
    handler = None
    try:
        handler = attach_run_log(run_dir)
        write_json_atomic(run_dir / "config.json", plan.config)
        write_json_atomic(run_dir / "environment.json", env)
        started = dt.datetime.now().astimezone().isoformat(timespec="seconds")
        running = json.dumps(_summary(plan, run_dir, started, command, "running", None), indent=2,
                             ensure_ascii=False, default=str) + "\n"
        # padded to one file-system block (no extra space used): room for store.mark_ended to write the
        # ended summary over this file's own bytes when a full disk refuses every new file
        write_text_atomic(run_dir / store.SUMMARY_FILE, running.ljust(SUMMARY_ROOM_BYTES))
    except OSError as exc:
        if handler is not None:
            logging.getLogger().removeHandler(handler)
            handler.close()
        run_lock.release()
        shutil.rmtree(run_dir, ignore_errors=True)  # nothing ran: no half-made run folder is left
        if is_disk_error(exc):
            raise disk_error(exc, Path(exc.filename) if exc.filename else run_dir) from None
        raise
    return started, run_lock


def _end(plan: MmluPlan, run_dir: Path, started: str, command: list[str], status: str,
         results: dict[str, Any] | None) -> str | None:
    """The final summary; when the disk refuses it, the run is marked ended (as benchmark.finish does) and
    the one-line error (exit 3) returned."""
    data = _summary(plan, run_dir, started, command, status, results)
    try:
        write_json_atomic(run_dir / store.SUMMARY_FILE, data)
        return None
    except OSError as exc:
        path = run_dir / store.SUMMARY_FILE
        error = disk_error(exc, path) if is_disk_error(exc) else SetupError(
            f"cannot write {path}: {exc.strerror or exc}; check the folder and its permissions, then run again.")
    ended = "interrupted" if status == "interrupted" else "failed"
    written = store.mark_ended(run_dir, data, ended, f"results not written: {error}")
    marked = f"marked {ended}" if written else "shown as stopped once this process has ended"
    return (f"{str(error).rstrip('.')} (the run is {marked}; its files so far stay in {run_dir}; earlier runs are "
            "untouched)")


def _keep_history(plan: MmluPlan, run_dir: Path) -> None:
    """latest and index.md; on a disk that refuses them the run's own files still stand."""
    for update in (store.update_latest, lambda d, _: store.rebuild_index(d)):
        try:
            update(plan.results_dir, run_dir)
        except OSError as exc:  # derived data: `python report.py --rebuild-index` recreates both
            (log.info if is_disk_error(exc) else log.warning)(
                "latest/index.md not updated (%s); `python report.py --rebuild-index --results-dir %s` recreates "
                "them", exc, plan.results_dir)


def _last_words(plan: MmluPlan, run_dir: Path, started: str, command: list[str]) -> None:
    """Before a forced exit: the summary marked interrupted (the smallest one on a full disk)."""
    data = _summary(plan, run_dir, started, command, "interrupted", None)
    try:
        write_json_atomic(run_dir / store.SUMMARY_FILE, data)
    except OSError as exc:
        store.mark_ended(run_dir, data, "interrupted", f"interrupted; results not written: {exc}")


def _failure(exc: Exception, run_dir: Path) -> tuple[int, str]:
    """Exit code and one line for a run that raised: a full disk is the machine's fault (exit 3), not the run's."""
    if is_disk_error(exc):
        path = Path(exc.filename) if getattr(exc, "filename", None) else run_dir
        return EXIT_SETUP, str(disk_error(exc, path))  # type: ignore[arg-type]
    return EXIT_RUN_FAILED, f"MMLU run failed: {type(exc).__name__}: {exc} (see {run_dir / 'run.log'})"


def execute(plan: MmluPlan, command: list[str], factory: EngineFactory | None) -> MmluResult:
    """Run the plan; every outcome ends with a summary (and, with results, the report). The run holds its
    folder's run lock until then."""
    run_dir, started, run_lock = _start(plan, command)
    try:
        return _run_in(plan, command, factory, run_dir, started)
    finally:
        run_lock.release()


def _run_in(plan: MmluPlan, command: list[str], factory: EngineFactory | None, run_dir: Path,
            started: str) -> MmluResult:
    status, code, results, error = "completed", EXIT_OK, None, None
    interrupts.set_last_words(lambda: _last_words(plan, run_dir, started, command))
    try:
        interrupts.check()
        print(f"Starting the engine ({plan.config['model_label']}) ...", file=sys.stderr)
        engine = (factory or start_engine)(vllm_spec(plan.engine))
        try:
            interrupts.check()  # one swallowed during the engine start
            t0 = time.perf_counter()
            with Progress("MMLU", None, enabled=sys.stderr.isatty(), total=len(plan.questions)) as bar:
                scored = mev.evaluate(engine, plan.questions, plan.prompts, plan.choice_ids, progress=bar)
            seconds = time.perf_counter() - t0
        finally:
            engine.shutdown()
        results = mev.aggregate(scored)
        if plan.extra_metrics:
            results["latency_ms"] = latency_stats(scored)
        write_json_atomic(run_dir / "overall.json", {**results["overall"], "seconds": round(seconds, 2)})
        write_json_atomic(run_dir / "by_domain.json", results["by_domain"])
        write_json_atomic(run_dir / "by_subject.json", results["by_subject"])
        write_text_atomic(run_dir / "samples.csv", samples_csv(scored))
    except KeyboardInterrupt:
        interrupts.settle()
        status, code = "interrupted", EXIT_INTERRUPTED
    except Exception as exc:
        log.exception("MMLU run failed")
        status, (code, error) = "failed", _failure(exc, run_dir)
    interrupts.set_last_words(None)
    with interrupts.shielded():  # the run is over: an interrupt now must not cut its results short
        return _finish(plan, run_dir, started, command, status, code, results, error)


def _finish(plan: MmluPlan, run_dir: Path, started: str, command: list[str], status: str, code: int,
            results: dict[str, Any] | None, error: str | None) -> MmluResult:
    """The final summary, the report, --keep-all 0 and the history."""
    refused = _end(plan, run_dir, started, command, status, results)
    if refused is not None:  # its one line says what was lost; nothing else is written
        error = refused if error is None or code == EXIT_SETUP else f"{error.rstrip('.')}; also {refused}"
        if status != "interrupted":
            status, code = "failed", EXIT_SETUP
        _keep_history(plan, run_dir)
        return MmluResult(status, code, run_dir, None, error)
    if results:
        try:
            render_mmlu(run_dir)
        except Exception:  # a broken report must never lose the run: summary.json is already written
            log.exception("rendering the MMLU report failed; `python report.py %s` re-renders it", run_dir)
    removed: list[str] = []
    if not plan.keep_all and status == "completed":
        try:
            removed = [r.line() for r in store.remove_earlier_runs(plan.results_dir, run_dir, "mmlu",
                                                                   plan.config["scenario"])]
        except OSError as exc:  # the history lock stayed held (another process packing a submission?)
            log.warning("--keep-all 0: no earlier run removed: %s", exc)
    _keep_history(plan, run_dir)
    return MmluResult(status, code, run_dir, results, error, tuple(removed))
