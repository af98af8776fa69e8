"""Run a submission set: each scenario that is not done as one run.py run (--mode both, TEST06 for datacenter)
on one warm engine, then the tree (packing and truncation) and the official checker, with status.json kept
current and a readiness table at the end. Resume: the same command skips steps whose files validate, takes over a run that completed while the set
was being killed, and packs or checks again only what was not finished. A scenario's tests share one engine
start and one run folder (the folder packing takes them from), so a kill inside that run repeats the run.

The scenario runs themselves are the caller's (`run_scenario`: exactly what one run.py call does); this module
decides what runs, records it in the ledger and packs.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

from ..errors import (
    EXIT_INTERRUPTED,
    EXIT_NOT_VALID,
    EXIT_OK,
    EXIT_RUN_FAILED,
    EXIT_SETUP,
    EXIT_USAGE,
    BenchError,
    UsageError,
)
from ..results.record import ForeignSummary, RunSummary, read_summary
from . import checker, ledger, set_attempts, set_finish, submission
from .ledger import REDO, Assessment, State
from .set_plan import ScenarioRun, SetPlan, minutes


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

    def __init__(self, plan: SetPlan, packing: Packing,
                 run_scenario: Callable[[Any, float | None], ScenarioResult], say: Callable[[str], None],
                 demo: bool = False) -> None:
        self.plan, self.packing, self.run_scenario, self.say, self.demo = plan, packing, run_scenario, say, demo
        self.path = ledger.status_path(packing.results_dir, plan.category.value)
        previous = ledger.read_status(self.path)
        self.previous = previous or {}
        self.book = ledger.build(plan, packing.settings(), previous, packing.results_dir)
        self.started_at = (previous or {}).get("started_at") or dt.datetime.now().astimezone().isoformat(
            timespec="seconds")
        self.t0 = time.monotonic()
        self.elapsed: dict[str, float] = {}
        self.checker = "not run"
        errors = self.previous.get("checker_errors")
        self.checker_errors: list[str] = [e for e in errors if isinstance(e, str)] if isinstance(errors, list) else []
        self.attempts = self.known_attempts()

    def known_attempts(self) -> dict[str, list[dict[str, Any]]]:
        """The attempts status.json lists, per scenario; an attempt the set was killed in gets its run's verdict.
        A scenario whose settings changed starts a new list (its earlier run folders stay)."""
        recorded = self.previous.get("attempts") if isinstance(self.previous.get("attempts"), dict) else {}
        out: dict[str, list[dict[str, Any]]] = {}
        for run in self.plan.runs:
            first = self.state(run.steps[0].name)
            history = [dict(a) for a in recorded.get(run.cfg.scenario.value) or [] if isinstance(a, dict)]
            if first.state is State.STALE or (first.state is State.PENDING and not first.run):
                history = []
            if history and history[-1].get("ended") == "running":
                ended = "completed" if first.state in (State.DONE, State.FAILED) else "unfinished"
                history[-1] = set_attempts.fill(history[-1], first.run, ended, self.summary(first.run))
            out[run.cfg.scenario.value] = history
        return out

    def summary(self, run: str | None) -> RunSummary | None:
        if not run:
            return None
        try:
            return read_summary(self.packing.results_dir / run)
        except ForeignSummary:
            return None

    def set_state(self, name: str, assessment: Assessment) -> None:
        states = [assessment if s.name == name else a for s, a in zip(self.book.steps, self.book.assessments)]
        self.book = replace(self.book, assessments=tuple(states))

    def state(self, name: str) -> Assessment:
        return next(a for s, a in zip(self.book.steps, self.book.assessments) if s.name == name)

    def save(self) -> None:
        meta = {"pid": os.getpid(), "host": socket.gethostname(), "submitter": self.packing.submitter,
                "system_name": self.packing.system_name, "submission_dir": str(self.packing.submission_dir),
                "pack_failed": self.packing.pack_failed, "attempts": self.attempts,
                "checker_errors": self.checker_errors}
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

    def next_attempt(self, run: ScenarioRun, crashes: int) -> set_attempts.Next | None:
        states = {s.test: self.state(s.name) for s in run.steps}
        history = self.attempts[run.cfg.scenario.value]
        return set_attempts.next_attempt(run.cfg.scenario, states, history, crashes,
                                         self.summary(states[run.steps[0].test].run), self.packing.pack_failed)

    def run_one(self, run: ScenarioRun) -> int | None:
        """A scenario's attempts until its steps have their verdicts (set_attempts says when to try again)."""
        history, crashes = self.attempts[run.cfg.scenario.value], 0
        label = f"{self.plan.category.value}-{run.cfg.scenario.value}"
        while (attempt := self.next_attempt(run, crashes)) is not None:
            if attempt.why:
                self.say(f"  {run.cfg.scenario.display}: {attempt.why}")
            history.append(set_attempts.entry(len(history) + 1, attempt.target_qps, attempt.step_down))
            after = ledger.newest_run(self.packing.results_dir, label)
            for step in run.steps:
                self.set_state(step.name, Assessment(State.RUNNING, f"{run.cfg.scenario.display} running (attempt "
                                                     f"{len(history)})", None, after))
            self.save()
            t0 = time.monotonic()
            result = self.run_scenario(run.cfg, attempt.target_qps)
            self.record(run, result, time.monotonic() - t0)
            if result.status == "interrupted":
                return EXIT_INTERRUPTED
            if result.exit_code in (EXIT_USAGE, EXIT_SETUP):
                self.say(f"Set stopped: {run.cfg.scenario.display}'s run.py refused to start (exit "
                         f"{result.exit_code}, its message is above); fix that, then run the same command again.")
                return result.exit_code
            if result.status != "completed" or any(self.state(s.name).state in REDO for s in run.steps):
                crashes += 1
        return None

    def record(self, run: ScenarioRun, result: ScenarioResult, seconds: float) -> None:
        """Each step's verdict from the run's folder, one line per step, the attempt, and status.json."""
        name = result.run_dir.name if result.run_dir is not None else None
        summary = self.summary(name)
        history = self.attempts[run.cfg.scenario.value]
        history[-1] = set_attempts.fill(history[-1], name, result.status, summary)
        tests = {t.get("mode"): t.get("seconds") for t in (summary.data.get("tests") or []) if isinstance(t, dict)} \
            if summary else {}
        for step in run.steps:
            if summary is None or result.run_dir is None:
                a = Assessment(State.UNFINISHED, f"{run.cfg.scenario.display} ended {result.status} without a summary",
                               name)
            else:
                a = ledger.verdict(step.test, summary, result.run_dir)
            self.set_state(step.name, a)
            self.elapsed[step.name] = round(tests.get(step.test) or seconds, 1)
            left = minutes(ledger.remaining_s(self.plan, self.book))
            self.say(f"  {step.name}: {a.state.value} — {a.why} ({minutes(self.elapsed[step.name])}; "
                     f"set elapsed {minutes(time.monotonic() - self.t0)}, remaining ~{left})")
        self.save()

    def pack_and_check(self) -> int:
        """The tree from the set's runs (failed ones only with --pack-failed), its checker verdict, the table."""
        runs, left_out = ledger.pack_selection(self.plan, self.book, self.packing.pack_failed)
        settings = ledger.final_settings([ledger.run_settings(r.cfg, self.plan.gpus) for r in self.plan.runs],
                                         self.packing.settings(), runs)
        pack = self.state("pack")
        fresh = pack.state is State.DONE and self.final_settings() == settings and self.packing.submission_dir.is_dir()
        if left_out:
            self.say(f"Not packed: {', '.join(left_out)}; --pack-failed packs a scenario whose steps failed, "
                     "named as failed.")
        if fresh:
            self.say(f"  pack: done — {pack.why} (skipped)")
        elif runs:
            self.book = replace(self.book, settings=tuple(settings if s.scenario is None else v
                                                          for s, v in zip(self.book.steps, self.book.settings)))
            fresh = self.pack(runs)
        check = self.state("check")
        if fresh and pack.state is State.DONE and check.state in (State.DONE, State.FAILED):
            self.checker = check.why
            self.say(f"  check: {check.state.value} (skipped: this tree was checked before)")
        elif fresh:
            self.check()
        self.say("\n".join(self.readiness()))
        self.say(f"Submission checker: {self.checker}")
        return self.exit_code()

    def final_settings(self) -> dict[str, Any] | None:
        return next((v for s, v in zip(self.book.steps, self.book.settings) if s.name == "pack"), None)

    def pack(self, runs: list[str]) -> bool:
        """Lay out the tree and truncate its accuracy logs (one atomic rename); the checker is its own step."""
        p = self.packing
        self.set_aside_own_tree()
        failed = [s.name for s, a in zip(self.book.steps, self.book.assessments)
                  if s.scenario is not None and a.state is not State.DONE and a.run in runs]
        if failed:
            self.say(f"  packing although they FAILED (--pack-failed): {', '.join(failed)}")
        for name in ("pack", "truncate", "check"):
            self.set_state(name, Assessment(State.RUNNING, "packing"))
        self.save()
        t0 = time.monotonic()
        try:
            report = submission.build(p.results_dir, p.submission_dir, p.system_name, p.submitter, p.version,
                                      run_official_checker=False, allow_invalid=p.pack_failed, only=frozenset(runs))
        except BenchError as exc:
            for name in ("pack", "truncate", "check"):
                self.set_state(name, Assessment(State.FAILED, str(exc)))
            self.save()
            self.say(f"  pack: failed — {exc}")
            return False
        self.elapsed["pack"] = round(time.monotonic() - t0, 1)
        self.set_state("pack", Assessment(State.DONE, f"{len(report.entries)} scenarios into {p.submission_dir}"))
        self.set_state("truncate", Assessment(State.DONE, "accuracy logs cut, hash= added; full logs kept in the runs"))
        self.set_state("check", Assessment(State.PENDING, "after packing"))
        self.save()
        self.say("\n".join(submission.summary_lines(report)[:-1]))
        self.say(f"  pack: done — {self.state('pack').why} ({minutes(self.elapsed['pack'])})")
        return True

    def check(self) -> None:
        """The official checker on the packed tree; its verdict is the check step's."""
        p = self.packing
        self.set_state("check", Assessment(State.RUNNING, "the official submission checker"))
        self.save()
        t0 = time.monotonic()
        result = checker.run_checker(p.submission_dir, p.submitter, p.version)
        self.elapsed["check"] = round(time.monotonic() - t0, 1)
        self.checker = set_finish.checker_line(result)
        self.checker_errors = list(result.errors) if result is not None else []
        passed = result is not None and result.passed
        self.set_state("check", Assessment(State.DONE if passed else State.FAILED, self.checker))
        self.save()
        self.say(f"  check: {self.state('check').state.value} ({minutes(self.elapsed['check'])}; set elapsed "
                 f"{minutes(time.monotonic() - self.t0)})")

    def exit_code(self) -> int:
        """0 when every step is done and the checker passed, or (a demo) when what fails is only what a demo
        cannot give, each named; 4 when a run failed twice; 5 otherwise."""
        steps = list(zip(self.book.steps, self.book.assessments))
        if any(a.state in REDO or a.state is State.RUNNING for s, a in steps if s.scenario is not None):
            return EXIT_RUN_FAILED
        if all(a.state is State.DONE for _, a in steps):
            return EXIT_OK
        if not self.demo or self.state("pack").state is not State.DONE or self.state("check").state is State.RUNNING:
            return EXIT_NOT_VALID
        failed = [(s.name, s.test, self.summary(a.run)) for s, a in steps
                  if s.scenario is not None and a.state is State.FAILED]
        named, other = set_finish.demo_waiver(self.checker_errors, failed)
        if other:
            self.say(f"Demo set: fails for more than a demo cannot give: {'; '.join(other[:3])}")
            return EXIT_NOT_VALID
        self.say("Demo set: the checker accepts the tree but for what a demo cannot give: " + "; ".join(named))
        return EXIT_OK

    def own_tree(self) -> bool:
        """Did this set pack --submission-dir before (so it may replace it)? A pack the set was killed in counts:
        the tree appears whole or not at all."""
        return self.previous.get("submission_dir") == str(self.packing.submission_dir) and any(
            e.get("name") == "pack" and e.get("state") in (State.DONE.value, State.FAILED.value, State.RUNNING.value)
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
        if not self.own_tree():
            return
        for staging in out.parent.glob(f".{out.name}.partial-*"):  # a pack killed mid-way left it (never the tree)
            shutil.rmtree(staging, ignore_errors=True)
        if out.is_dir() and any(out.iterdir()):
            aside = out.with_name(f"{out.name}.replaced-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}")
            out.rename(aside)
            self.say(f"  the tree this set packed before is kept as {aside}")

    def readiness(self) -> list[str]:
        """Scenario x performance, accuracy, TEST06, packed; then every attempt of a scenario tried more than once."""
        lines = ["| scenario | performance | accuracy | TEST06 | packed |", "|---|---|---|---|---|"]
        tried: list[str] = []
        for run in self.plan.runs:
            history = self.attempts.get(run.cfg.scenario.value) or []
            cells = {s.test: set_finish.cell(self.state(s.name), history if s.test == "performance" else [])
                     for s in run.steps}
            lines.append(f"| {run.cfg.scenario.display} | {cells.get('performance', 'not required')} | "
                         f"{cells.get('accuracy', 'not required')} | {cells.get('test06', 'not required')} | "
                         f"{self.packed(run)} |")
            tried += set_attempts.lines(run.cfg.scenario.display, history)
        return lines + tried

    def packed(self, run: ScenarioRun) -> str:
        """Whether the tree holds this scenario, and whether it went in failed (--pack-failed)."""
        p = self.packing
        bench = submission.BENCHMARK[self.plan.category.value]
        where = p.submission_dir / "closed" / p.submitter / "results" / p.system_name / bench / run.cfg.scenario.display
        if self.state("pack").state is not State.DONE or not where.is_dir():
            return "no"
        return "yes" if all(self.state(s.name).state is State.DONE for s in run.steps) else "yes (failed)"
