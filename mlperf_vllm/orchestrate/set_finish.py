"""The end of a submission set: the checker's verdict in one line, what a demo cannot give, the readiness table.

A demo set (--model demo: its own tiny model and generated data) can never pass the checker: the demo model
fails the accuracy gate, and a few samples in a few seconds are neither the full data set nor the 600 s
minimum duration nor enough queries for early stopping. Such a set ends with exit code 0 when those are its
only failures, each named; anything else (a layout error, a latency failure, TEST06) still fails it.
"""

from __future__ import annotations

import re
from typing import Any

from ..results.record import RunSummary
from . import checker
from .ledger import Assessment, State
from .set_attempts import reasons_of

CELL_CHARS = 70  # a readiness cell's reason, cut to keep the table readable (status.json has it whole)
# The checker's errors on a demo tree, by what the demo lacks (tests/test_submission_checker.py pins them).
DEMO_CHECKER = (
    ("the full data set", (r"performance_sample_count, found \d+, needs to be >= \d+",
                           r"Required minimum samples per query not met by user config",
                           r"accurcy run does not cover all dataset")),  # sic, the checker's spelling
    ("the 600 s minimum duration", (r"Test duration less than 600s in user config",)),
    ("enough queries for early stopping", (r"Early stopping condition was not met",)),
    ("a result (follows from the above)", (r"Some (performance|accuracy) checks Checks failed for: ",
                                           r"NoResults .*mlperf_log_detail\.txt", r"SUMMARY: submission has errors")),
)
# A demo run's own verdicts that follow from the same: reasons of performance INVALID (results/summary.py).
DEMO_REASONS = ("minimum duration not met", "minimum query count not met",
                "early stopping not met: too few queries")


def checker_line(result: checker.CheckerResult | None) -> str:
    """The checker's verdict in one line, as submission.summary_lines prints it."""
    if result is None:
        return "not run: no checker found (set MLPERF_INFERENCE_DIR to a mlcommons/inference checkout)"
    where = f"; full output: {result.log}" if result.log else ""
    if result.passed:
        return f"passed ({result.script}){where}"
    head = "; ".join(result.errors[:3]) or " | ".join(result.tail)
    return f"failed (exit {result.returncode}, {len(result.errors)} errors): {head}{where}"


def demo_waiver(errors: list[str], failed: list[tuple[str, str, RunSummary | None]]) -> tuple[list[str], list[str]]:
    """(what a demo cannot give, with counts; what else failed) from the checker's errors and the failed
    steps (name, test, the summary of its run)."""
    named: dict[str, int] = {}
    other: list[str] = []
    for error in errors:
        kind = next((k for k, patterns in DEMO_CHECKER if any(re.search(p, error) for p in patterns)), None)
        if kind is None:
            other.append(f"checker: {error}")
        else:
            named[kind] = named.get(kind, 0) + 1
    for name, test, summary in failed:
        if test == "accuracy" and summary is not None and summary.accuracy_verdict == "FAIL":
            kind = "accuracy (the demo model fails the gate)"
        elif test == "performance" and summary is not None and summary.performance_verdict == "INVALID" and \
                reasons_of(summary) and all(r.startswith(DEMO_REASONS) for r in reasons_of(summary)):
            kind = "the 600 s minimum duration"
        else:
            other.append(f"{name} failed")
            continue
        named[kind] = named.get(kind, 0) + 1
    return [f"{k} ({n}x)" for k, n in named.items()], other


def cell(a: Assessment | None, attempts: list[dict[str, Any]]) -> str:
    """A readiness cell: ok, or the state and why; the attempt it came from when there were several."""
    if a is None:
        return "not required"
    note = ""
    if len(attempts) > 1:
        rate = attempts[-1].get("target_qps")
        note = f" (attempt {len(attempts)}" + (f", {rate:g} QPS)" if isinstance(rate, (int, float)) else ")")
    if a.state is State.DONE:
        return "ok" + note
    why = a.why.split(": ", 1)[-1]
    why = why if len(why) <= CELL_CHARS else why[:CELL_CHARS - 3] + "..."
    return f"{a.state.value.upper()}: {why}{note}"
