"""One MMLU run, start to end: plan -> run folder -> engine -> scored questions -> files, report, history."""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import os
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from .. import __version__, interrupts
from ..config import EngineConfig
from ..engines.factory import EngineFactory, start_engine, vllm_spec
from ..errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_RUN_FAILED
from ..mmlu import data as mdata
from ..mmlu import evaluate as mev
from ..mmlu.subjects import DOMAIN_NAMES, LETTERS
from ..progress import Progress
from ..report.mmlu import render_mmlu
from ..results import environment, store
from ..results.atomic import write_json_atomic, write_text_atomic
from ..results.folder import attach_run_log

log = logging.getLogger(__name__)


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


def execute(plan: MmluPlan, command: list[str], factory: EngineFactory | None) -> MmluResult:
    """Run the plan; every outcome ends with a summary (and, with results, the report)."""
    run_dir = store.new_run_dir(plan.results_dir, "mmlu")
    attach_run_log(run_dir)
    write_json_atomic(run_dir / "config.json", plan.config)
    write_json_atomic(run_dir / "environment.json", environment.collect())
    started = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    write_json_atomic(run_dir / store.SUMMARY_FILE, _summary(plan, run_dir, started, command, "running", None))
    status, code, results, error = "completed", EXIT_OK, None, None
    interrupts.set_last_words(lambda: write_json_atomic(
        run_dir / store.SUMMARY_FILE, _summary(plan, run_dir, started, command, "interrupted", None)))
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
        status, code = "failed", EXIT_RUN_FAILED
        error = f"MMLU run failed: {type(exc).__name__}: {exc} (see {run_dir / 'run.log'})"
    interrupts.set_last_words(None)
    write_json_atomic(run_dir / store.SUMMARY_FILE, _summary(plan, run_dir, started, command, status, results))
    if results:
        render_mmlu(run_dir)
    store.update_latest(plan.results_dir, run_dir)
    removed: list[str] = []
    if not plan.keep_all and status == "completed":
        removed = [p.name for p in store.remove_earlier_runs(plan.results_dir, run_dir, "mmlu",
                                                             plan.config["scenario"])]
    store.rebuild_index(plan.results_dir)
    return MmluResult(status, code, run_dir, results, error, tuple(removed))
