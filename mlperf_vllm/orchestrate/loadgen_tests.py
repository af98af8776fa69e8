"""The LoadGen tests of a run and the scoring of its accuracy log; each returns what it produced."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from ..config import Mode, Scenario
from ..mlperf import accuracy as acc
from ..mlperf import compliance, harness, logs
from ..mlperf.sut import SystemUnderTest
from ..progress import Progress
from ..results.atomic import write_json_atomic, write_text_atomic
from .plan import RunPlan

log = logging.getLogger(__name__)


def run_one(settings: Any, sut: SystemUnderTest, test: Mode, sub: Path, n_samples: int, scenario: Scenario, lg: Any,
            progress: bool, gc_freeze: bool = False
            ) -> tuple[harness.TestRun, list[dict[str, Any]], dict[str, Any] | None]:
    """One LoadGen test into sub/: (what ran, the SUT's timings, the parsed performance record or None)."""
    log.info("LoadGen %s %s test at target QPS %s", scenario.display, test.value, settings.server_target_qps)
    run = harness.run_test(settings, test, sut, n_samples, sub, lg, gc_freeze=gc_freeze,
                           label=f"{test.value} {scenario.display}", show_progress=progress)
    log.info("%s test done in %.1f s: %d samples, %d engine errors", test.value, run.seconds,
             run.samples_completed, len(run.sut_errors))
    record = logs.read_log_dir(sub) if test is Mode.PERFORMANCE else None
    return run, sut.timing_rows(), record


def run_test06(run_dir: Path, settings: Any, sut: SystemUnderTest, n_samples: int, lg: Any,
               progress: bool, gc_freeze: bool = False) -> dict[str, Any]:
    """TEST06: a performance run under the official audit.config, then its three checks."""
    out = run_dir / "TEST06"
    out.mkdir(parents=True, exist_ok=True)
    audit = out / "audit.config"
    write_text_atomic(audit, compliance.TEST06_AUDIT_CONFIG)
    log.info("TEST06 compliance run")
    harness.run_test(settings, Mode.PERFORMANCE, sut, n_samples, out, lg, audit_config=audit, gc_freeze=gc_freeze,
                     label="TEST06", show_progress=progress)
    entries = acc.load_accuracy_log(out / logs.ACCURACY_FILE)
    detail = logs.parse_detail((out / logs.DETAIL_FILE).read_text())
    applied = detail.values.get("effective_accuracy_log_sampling_target") == 100
    result = compliance.verify_test06(entries, str(detail.values.get("effective_scenario", "Offline")))
    write_text_atomic(out / "verify_accuracy.txt", result.verify_accuracy_txt())
    return {"TEST06": {"passed": result.passed and applied, "audit_config_applied": applied,
                       "first_token_check": result.first_token, "eos_check": result.eos,
                       "sample_length_check": result.sample_length, "samples_logged": result.samples,
                       "loadgen_errors": detail.values.get("num_errors"),
                       "problems": result.problems[:10], "log_dir": "TEST06"}}


def score_accuracy(run_dir: Path, plan: RunPlan, accuracy_log: Path, tokenizer: Any,
                   progress: bool) -> dict[str, Any]:
    """Score the accuracy log into Accuracy/rouge.json and Accuracy/accuracy.txt; returns the result."""
    cfg = plan.cfg
    if plan.samples.references is None:
        raise ValueError("the data set has no references to score against")
    entries = acc.load_accuracy_log(accuracy_log)
    with Progress("scoring ROUGE", None, enabled=progress, total=len(entries)) as bar:
        scores = acc.score_accuracy_log(entries, plan.samples.references, tokenizer, source=str(accuracy_log),
                                        progress=bar.update)
    verdict = acc.gate(scores, cfg.category, cfg.high_accuracy)
    result = {"scores": scores, "gate": verdict.to_dict(), "accuracy_log": str(accuracy_log),
              "log_entries": len(entries)}
    out_dir = run_dir / "Accuracy"
    write_json_atomic(out_dir / "rouge.json", result)
    write_text_atomic(out_dir / "accuracy.txt", acc.accuracy_txt(scores))
    return result
