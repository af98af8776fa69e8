"""Run a submission set: each scenario that is not done as one run.py run (--mode both, TEST06 for datacenter)
on one warm engine, then the tree (packing and truncation) and the official checker, with status.json kept
current and a readiness table at the end. Resume: the same command skips steps whose files validate.

The scenario runs themselves are the caller's (`run_scenario`: exactly what one run.py call does); this module
decides what runs, records it in the ledger and packs.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

from ..errors import EXIT_INTERRUPTED, EXIT_NOT_VALID, EXIT_OK, EXIT_SETUP, EXIT_USAGE, BenchError, UsageError
from ..results.record import ForeignSummary, read_summary
from . import ledger, submission
from .ledger import REDO, Assessment, State
from .set_plan import SetPlan, minutes

CELL_CHARS = 70  # a readiness cell's reason, cut to keep the table readable (status.json has it whole)


@dataclass(frozen=True)
class Packing:
    """Where and as whom the set is packed."""

    results_dir: Path
    submission_dir: Path
    system_name: str
    submitter: str
    version: str
    pack_failed: bool

    def settings(self) -> dict[str, Any]:
        return {"submission_dir": str(self.submission_dir), "system_name": self.system_name,
                "submitter": self.submitter, "version": self.version, "pack_failed": self.pack_failed}


@dataclass(frozen=True)
class ScenarioResult:
    """What one scenario's run left: its folder and how the process ended (completed, failed, interrupted)."""

    run_dir: Path | None
    status: str
    exit_code: int = 0  # run.py's: 2 or 3 (the command or the machine is wrong) stops the set


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class SetRunner:
    """One set, start to end; every change of state goes to status.json at once."""

    def __init__(self, plan: SetPlan, packing: Packing, run_scenario: Callable[[Any], ScenarioResult],
                 say: Callable[[str], None]) -> None:
        self.plan, self.packing, self.run_scenario, self.say = plan, packing, run_scenario, say
        self.path = ledger.status_path(packing.results_dir, plan.category.value)
        previous = ledger.read_status(self.path)
        self.previous = previous or {}
        self.book = ledger.build(plan, packing.settings(), previous, packing.results_dir)
        self.started_at = (previous or {}).get("started_at") or dt.datetime.now().astimezone().isoformat(
            timespec="seconds")
        self.t0 = time.monotonic()
        self.elapsed: dict[str, float] = {}
        self.checker = "not run"

    def set_state(self, name: str, assessment: Assessment) -> None:
        states = [assessment if s.name == name else a for s, a in zip(self.book.steps, self.book.assessments)]
        self.book = replace(self.book, assessments=tuple(states))

    def state(self, name: str) -> Assessment:
        return next(a for s, a in zip(self.book.steps, self.book.assessments) if s.name == name)

    def save(self) -> None:
        meta = {"pid": os.getpid(), "host": socket.gethostname(), "submitter": self.packing.submitter, "system_name": self.packing.system_name,
                "submission_dir": str(self.packing.submission_dir), "pack_failed": self.packing.pack_failed}
        ledger.write_status(self.path, ledger.status_document(self.plan, self.book, self.started_at,
                                                              time.monotonic() - self.t0, self.elapsed, meta))

    def run(self) -> int:
        busy = [(s.name, a.why) for s, a in zip(self.book.steps, self.book.assessments) if a.state is State.RUNNING]
        if busy:
            raise UsageError(f"{busy[0][0]} is running in another process ({busy[0][1]}); wait for it or stop it, "
                             "then run the same command again.")
        self.check_target()
        other = self.previous.get("pid")
        if isinstance(other, int) and other != os.getpid() and self.previous.get("host") == socket.gethostname() \
                and _alive(other):
            raise UsageError(f"this set is already running (pid {other}, {self.path}); wait for it or stop it, "
                             "then run the same command again.")
        for step, a in zip(self.book.steps, self.book.assessments):
            if a.state is not State.PENDING:
                self.say(f"  {step.name}: {a.state.value} — {a.why}")
        self.say(f"Set: {len(self.book.to_redo())} of {len(self.book.steps)} steps to run, about "
                 f"{minutes(ledger.remaining_s(self.plan, self.book))}; progress in {self.path}")
        self.save()
        for run in self.plan.runs:
            code = self.run_one(run)
            if code is not None:
                return code
        return self.pack_and_check()

    def run_one(self, run: Any) -> int | None:
        """A scenario's run when any of its steps must run again (an engine crash gets one retry)."""
        names = [s.name for s in run.steps]
        if not any(self.state(n).state in REDO for n in names):
            return None
        for attempt in (1, 2):
            for n in names:
                self.set_state(n, Assessment(State.RUNNING, f"{run.cfg.scenario.display} running (attempt {attempt})"))
            self.save()
            t0 = time.monotonic()
            result = self.run_scenario(run.cfg)
            self.record(run, result, time.monotonic() - t0)
            if result.status == "interrupted":
                return EXIT_INTERRUPTED
            if result.exit_code in (EXIT_USAGE, EXIT_SETUP):
                self.say(f"Set stopped: {run.cfg.scenario.display}'s run.py refused to start (exit "
                         f"{result.exit_code}, its message is above); fix that, then run the same command again.")
                return result.exit_code
            if result.status != "failed" or attempt == 2:
                return None
            self.say(f"  {run.cfg.scenario.display}: the run failed; retrying once")
        return None

    def record(self, run: Any, result: ScenarioResult, seconds: float) -> None:
        """Each step's verdict from the run's folder, one line per step, and status.json."""
        summary = None
        if result.run_dir is not None:
            try:
                summary = read_summary(result.run_dir)
            except ForeignSummary:
                summary = None
        tests = {t.get("mode"): t.get("seconds") for t in (summary.data.get("tests") or []) if isinstance(t, dict)} \
            if summary else {}
        for step in run.steps:
            if summary is None:
                a = Assessment(State.UNFINISHED, f"{run.cfg.scenario.display} ended {result.status} without a summary",
                               result.run_dir.name if result.run_dir else None)
            else:
                a = ledger.verdict(step.test, summary, result.run_dir)
            self.set_state(step.name, a)
            self.elapsed[step.name] = round(tests.get(step.test) or seconds, 1)
            left = minutes(ledger.remaining_s(self.plan, self.book))
            self.say(f"  {step.name}: {a.state.value} — {a.why} ({minutes(self.elapsed[step.name])}; "
                     f"set remaining ~{left})")
        self.save()

    def pack_and_check(self) -> int:
        """The tree from the set's runs (failed ones only with --pack-failed), its checker verdict, the table."""
        runs = [(s, a) for s, a in zip(self.book.steps, self.book.assessments) if s.scenario is not None]
        failed = [s.name for s, a in runs if a.state is not State.DONE]
        if self.state("pack").state is State.DONE and self.packing.submission_dir.exists():
            self.say(f"  pack: done — {self.packing.submission_dir} (skipped)")
            self.checker = self.state("check").why
        elif failed and not self.packing.pack_failed:
            self.say(f"Not packed: {', '.join(failed)} did not pass; --pack-failed packs them anyway, named as failed.")
        else:
            self.pack({a.run for _, a in runs if a.run}, failed)
        self.say("\n".join(self.readiness()))
        self.say(f"Submission checker: {self.checker}")
        done = all(a.state is State.DONE for a in self.book.assessments)
        return EXIT_OK if done and self.checker.startswith("passed") else EXIT_NOT_VALID

    def pack(self, names: set[str], failed: list[str]) -> None:
        p = self.packing
        self.set_aside_own_tree()
        if failed:
            self.say(f"  packing although they FAILED (--pack-failed): {', '.join(failed)}")
        try:
            report = submission.build(p.results_dir, p.submission_dir, p.system_name, p.submitter, p.version,
                                      allow_invalid=p.pack_failed, only=frozenset(names))
        except BenchError as exc:
            self.set_state("pack", Assessment(State.FAILED, str(exc)))
            self.save()
            self.say(f"  pack: failed — {exc}")
            return
        self.checker = report.checker
        where = str(p.submission_dir)
        self.set_state("pack", Assessment(State.DONE, f"{len(report.entries)} scenarios into {where}"))
        self.set_state("truncate", Assessment(State.DONE, "accuracy logs cut, hash= added; full logs kept in the runs"))
        self.set_state("check", Assessment(State.DONE if report.checker.startswith("passed") else State.FAILED,
                                           report.checker))
        self.save()
        self.say("\n".join(submission.summary_lines(report)))

    def own_tree(self) -> bool:
        """Did this set pack --submission-dir before (so it may replace it)?"""
        return self.previous.get("submission_dir") == str(self.packing.submission_dir) and any(
            e.get("name") == "pack" and e.get("state") in (State.DONE.value, State.FAILED.value)
            for e in self.previous.get("steps") or [] if isinstance(e, dict))

    def check_target(self) -> None:
        """Before any run: --submission-dir must be new, empty, or this set's own earlier tree."""
        out = self.packing.submission_dir
        if out.exists() and not out.is_dir():
            raise UsageError(f"--submission-dir {out} is a file, not a folder; pass a new folder.")
        if out.is_dir() and any(out.iterdir()) and not self.own_tree():
            raise UsageError(f"--submission-dir {out} is not empty and this set did not pack it; choose a new folder.")

    def set_aside_own_tree(self) -> None:
        """A tree this set packed before (now stale) is renamed, never deleted, so the new one can take its place."""
        out = self.packing.submission_dir
        if self.own_tree() and out.is_dir() and any(out.iterdir()):
            aside = out.with_name(f"{out.name}.replaced-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}")
            out.rename(aside)
            self.say(f"  the tree this set packed before is kept as {aside}")

    def readiness(self) -> list[str]:
        """Scenario x performance, accuracy, TEST06, packed."""
        lines = ["| scenario | performance | accuracy | TEST06 | packed |", "|---|---|---|---|---|"]
        for run in self.plan.runs:
            cells = {s.test: self.state(s.name) for s in run.steps}

            def cell(test: str) -> str:
                a = cells.get(test)
                if a is None:
                    return "not required"
                why = a.why.split(": ", 1)[-1]
                why = why if len(why) <= CELL_CHARS else why[:CELL_CHARS - 3] + "..."
                return "ok" if a.state is State.DONE else f"{a.state.value.upper()}: {why}"
            lines.append(f"| {run.cfg.scenario.display} | {cell('performance')} | {cell('accuracy')} | "
                         f"{cell('test06')} | {self.packed(run)} |")
        return lines

    def packed(self, run: Any) -> str:
        """Whether the tree holds this scenario, and whether it went in failed (--pack-failed)."""
        p = self.packing
        bench = submission.BENCHMARK[self.plan.category.value]
        where = p.submission_dir / "closed" / p.submitter / "results" / p.system_name / bench / run.cfg.scenario.display
        if self.state("pack").state is not State.DONE or not where.is_dir():
            return "no"
        return "yes" if all(self.state(s.name).state is State.DONE for s in run.steps) else "yes (failed)"
