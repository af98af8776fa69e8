"""The step ledger of a submission set: what is done, what must run again and why. Pure but for reading
run folders and writing status.json atomically.

A step's key is a digest of every setting that changes its result (model, numerics, engine settings, data set,
scenario, QPS policy, sample counts, durations, round, GPUs). A step is done only when its files validate, by the
verdicts the run itself wrote into summary.json: performance VALID, accuracy gate PASS, TEST06's checks passed.
A step recorded with other settings is stale and says which settings changed; a run folder whose process died
before it completed (kill -9, a crash, a reboot) is unfinished and runs again. A step the set was killed in
names the newest run folder of its scenario at its start; a newer one is that step's run (taken over when it
completed). The packing steps' settings name the run folders they pack.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import RunConfig
from ..mlperf import logs
from ..results.atomic import write_json_atomic
from ..results.record import ForeignSummary, RunSummary, read_summary
from .set_plan import SetPlan, Step

STATUS_SCHEMA = 1
# RunConfig fields that change a run's result; the rest (results folder, report extras, mode) do not.
RESULT_FIELDS = ("category", "scenario", "model_label", "dataset", "dataset_path", "total_sample_count",
                 "max_new_tokens", "high_accuracy", "min_duration_ms", "qps_policy", "target_qps",
                 "target_latency_ms", "user_conf", "backend", "version", "endpoints", "served_model_name",
                 "gc_freeze", "compliance_test06")
# Files each test leaves when it completed (what packing copies; submission.REQUIRED_FILES, TEST06_FILES).
TEST_FILES = {
    "performance": (f"Performance/{logs.SUMMARY_FILE}", f"Performance/{logs.DETAIL_FILE}"),
    "accuracy": (f"Accuracy/{logs.SUMMARY_FILE}", f"Accuracy/{logs.DETAIL_FILE}", f"Accuracy/{logs.ACCURACY_FILE}",
                 "Accuracy/accuracy.txt"),
    "test06": ("TEST06/verify_accuracy.txt", f"TEST06/{logs.SUMMARY_FILE}", f"TEST06/{logs.DETAIL_FILE}",
               f"TEST06/{logs.ACCURACY_FILE}"),
}


class State(str, enum.Enum):
    """Where a step stands."""

    PENDING = "pending"  # never run with these settings
    RUNNING = "running"  # its run's process is alive
    DONE = "done"  # its files validate
    FAILED = "failed"  # it completed and its verdict is a failure (INVALID, accuracy FAIL, TEST06 failed)
    UNFINISHED = "unfinished"  # started, never completed (killed, crashed, interrupted): runs again
    STALE = "stale"  # recorded with other settings: runs again


REDO = (State.PENDING, State.UNFINISHED, State.STALE)


@dataclass(frozen=True)
class Assessment:
    """A step's state, in words, and the run folder it refers to."""

    state: State
    why: str
    run: str | None = None
    after: str | None = None  # while running: the newest run folder of its scenario when the run started ("": none)


def settings_of(config: dict[str, Any], gpus: tuple[int, ...] | list[int] | None) -> dict[str, Any]:
    """The flat settings that change a run's result, from its config (RunConfig.to_dict or summary.json)."""
    out: dict[str, Any] = {k: config.get(k) for k in RESULT_FIELDS}
    for key, value in sorted((config.get("engine") or {}).items()):
        out[f"engine.{key}"] = value
    out["gpus"] = "every visible GPU" if gpus is None else ",".join(map(str, gpus))
    conf = config.get("user_conf")
    if conf:  # the file's content decides the run, not its name
        try:
            out["user_conf_sha256"] = hashlib.sha256(Path(str(conf)).read_bytes()).hexdigest()[:16]
        except OSError:
            out["user_conf_sha256"] = None
    return out


def run_settings(cfg: RunConfig, gpus: tuple[int, ...] | None) -> dict[str, Any]:
    """settings_of a RunConfig, JSON-normalised so that a recorded copy compares equal."""
    return json.loads(json.dumps(settings_of(cfg.to_dict(), gpus), default=str))


def key_of(settings: dict[str, Any], test: str) -> str:
    """The step's key: its test and a digest of its settings."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return f"{test}:{digest}"


def changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What changed between two settings, e.g. "engine.max_num_seqs 256 -> 512"."""
    return [f"{k} {old.get(k)!r} -> {new.get(k)!r}" for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]


def _missing(run_dir: Path, test: str) -> str | None:
    for rel in TEST_FILES.get(test, ()):
        path = run_dir / rel
        if not path.is_file() or path.stat().st_size == 0:
            return f"{rel} is missing or empty"
    return None


def verdict(test: str, summary: RunSummary, run_dir: Path) -> Assessment:
    """A run's verdict on one of its tests, from its summary.json and the files it left."""
    run = run_dir.name
    if summary.status == "running":
        if summary.process_gone:
            return Assessment(State.UNFINISHED, f"{run} stopped before it completed (its process is gone)", run)
        return Assessment(State.RUNNING, f"{run} is running (pid {summary.pid})", run)
    if summary.status != "completed":
        return Assessment(State.UNFINISHED, f"{run} ended {summary.status}", run)
    validity = summary.data.get("validity") or {}
    if test == "performance":
        ok, seen = summary.performance_verdict == "VALID", f"performance {summary.performance_verdict or 'not measured'}"
        reasons = [r for r in validity.get("reasons") or [] if isinstance(r, str)]
        seen += f": {reasons[0]}" if reasons and not ok else ""
    elif test == "accuracy":
        ok, seen = summary.accuracy_verdict == "PASS", f"accuracy {summary.accuracy_verdict or 'not scored'}"
    else:
        t06 = (summary.data.get("compliance") or {}).get("TEST06") or {}
        ok = t06.get("passed") is True
        problems = [p for p in t06.get("problems") or [] if isinstance(p, str)]
        seen = "TEST06 passed" if ok else "TEST06 " + ("failed: " + problems[0] if problems else
                                                       "failed" if t06 else "not run")
    missing = _missing(run_dir, test)
    if missing:
        return Assessment(State.UNFINISHED if ok else State.FAILED, f"{run}: {missing}", run)
    return Assessment(State.DONE if ok else State.FAILED, f"{run}: {seen}", run)


def _run_key(name: str, label: str) -> tuple[str, int] | None:
    """(time stamp, number) of a run folder named <YYYYMMDD-hhmmss>-<label>[-N] (store.new_run_dir), else None."""
    stamp, rest = name[:15], name[16:]
    if len(name) < 17 or name[15] != "-" or not stamp.replace("-", "").isdigit():
        return None
    if rest == label:
        return stamp, 1
    head, _, n = rest.rpartition("-")
    return (stamp, int(n)) if head == label and n.isdigit() else None


def newest_run(results_dir: Path, label: str) -> str:
    """The newest run folder of a category and scenario ("category-scenario"), "" when there is none."""
    try:
        names = [(key, p.name) for p in results_dir.iterdir()
                 if (key := _run_key(p.name, label)) is not None and p.is_dir() and not p.is_symlink()]
    except OSError:
        return ""
    return max(names)[1] if names else ""


def adopt(results_dir: Path, label: str, after: str) -> str | None:
    """The run a step started before the set was killed: the newest run folder of its scenario, if it is newer
    than the newest one there was when the step started (so a set killed after its run completed does not
    run it again)."""
    newest = newest_run(results_dir, label)
    before = _run_key(after, label) if after else None
    if not newest or (before is not None and (_run_key(newest, label) or before) <= before):
        return None
    return newest


def assess(step: Step, settings: dict[str, Any], recorded: dict[str, Any] | None, results_dir: Path,
           label: str = "") -> Assessment:
    """Where a step stands, given what the last status.json recorded for it (None: nothing). `label` is its
    run folders' "category-scenario"."""
    if recorded and recorded.get("state") == State.RUNNING.value and not recorded.get("run"):
        run = adopt(results_dir, label, str(recorded["after"])) if isinstance(recorded.get("after"), str) else None
        if run is None:
            return Assessment(State.UNFINISHED, "the set stopped while this step ran (killed, crashed or rebooted)")
        recorded = {**recorded, "run": run}
    if not recorded or not recorded.get("run"):
        return Assessment(State.PENDING, "not run yet")
    old = recorded.get("settings")
    if isinstance(old, dict) and old != settings:
        changed = changes(old, settings)
        shown = "; ".join(changed[:3]) + (f"; {len(changed) - 3} more" if len(changed) > 3 else "")
        return Assessment(State.STALE, f"settings changed since {recorded['run']}: {shown}", recorded["run"])
    run_dir = results_dir / str(recorded["run"])
    if not run_dir.is_dir():
        return Assessment(State.UNFINISHED, f"its run folder {run_dir} is gone", str(recorded["run"]))
    try:
        summary = read_summary(run_dir)
    except ForeignSummary as exc:
        return Assessment(State.UNFINISHED, f"{run_dir.name}: {exc} (stopped before it wrote one)", run_dir.name)
    return verdict(step.test, summary, run_dir)


@dataclass(frozen=True)
class Ledger:
    """Every step of a plan with its key, settings and state."""

    steps: tuple[Step, ...]
    settings: tuple[dict[str, Any], ...]
    assessments: tuple[Assessment, ...]

    def keys(self) -> tuple[str, ...]:
        return tuple(key_of(s, step.test) for step, s in zip(self.steps, self.settings))

    def to_redo(self) -> tuple[Step, ...]:
        """Steps that must run: never run, unfinished or stale. A failed step is not run again here (its verdict
        would repeat; set_attempts decides the one exception, a QPS step-down); changing its settings makes it
        stale."""
        return tuple(step for step, a in zip(self.steps, self.assessments) if a.state in REDO)


def final_settings(run_settings_list: list[dict[str, Any]], packing: dict[str, Any], runs: list[str]
                   ) -> dict[str, Any]:
    """A packing step's settings: every scenario's, the run folders it packs, where and as whom."""
    return json.loads(json.dumps({"runs": run_settings_list, "packed": sorted(runs), **packing}, default=str))


def pack_selection(plan: SetPlan, book: Ledger, pack_failed: bool) -> tuple[list[str], list[str]]:
    """The run folders to pack (one per scenario) and the scenarios left out, with why. A scenario goes in when
    every step of it is done; with --pack-failed also when its steps ended failed (never when unfinished)."""
    states = dict(zip((s.name for s in book.steps), book.assessments))
    runs, left_out = [], []
    for run in plan.runs:
        mine = [states[s.name] for s in run.steps]
        bad = [(s.name, a) for s, a in zip(run.steps, mine) if a.state is not State.DONE]
        ended = all(a.state in (State.DONE, State.FAILED) for a in mine)
        if mine[0].run and (not bad or (pack_failed and ended)):
            runs.append(mine[0].run)
        else:
            name, a = bad[0] if bad else (run.steps[0].name, mine[0])
            left_out.append(f"{run.cfg.scenario.display} ({name} {a.state.value})")
    return runs, left_out


def build(plan: SetPlan, packing: dict[str, Any], previous: dict[str, Any] | None, results_dir: Path) -> Ledger:
    """The ledger of a plan against the last status.json (None: a first run)."""
    recorded = {e.get("name"): e for e in (previous or {}).get("steps") or [] if isinstance(e, dict)}
    steps, settings, states = [], [], []
    per_run = [run_settings(r.cfg, plan.gpus) for r in plan.runs]
    for run, s in zip(plan.runs, per_run):
        label = f"{plan.category.value}-{run.cfg.scenario.value}"
        for step in run.steps:
            steps.append(step)
            settings.append(s)
            states.append(assess(step, s, recorded.get(step.name), results_dir, label))
    so_far = Ledger(tuple(steps), tuple(settings), tuple(states))
    packed = final_settings(per_run, packing, pack_selection(plan, so_far, bool(packing.get("pack_failed")))[0])
    for step in plan.final:
        steps.append(step)
        settings.append(packed)
        states.append(_final_state(recorded.get(step.name) or {}, packed))
    return Ledger(tuple(steps), tuple(settings), tuple(states))


def _final_state(entry: dict[str, Any], packed: dict[str, Any]) -> Assessment:
    """A packing step against its record: kept when it ended with these settings and runs, else to do again."""
    state = entry.get("state")
    if state in (State.DONE.value, State.FAILED.value):
        if entry.get("settings") == packed:
            return Assessment(State(state), str(entry.get("why") or state))
        return Assessment(State.STALE, "settings changed: " + "; ".join(changes(entry.get("settings") or {},
                                                                                packed)[:2]))
    if state == State.RUNNING.value:
        return Assessment(State.UNFINISHED, "the set stopped during this step (killed, crashed or rebooted)")
    return Assessment(State.PENDING, "after the runs")


def remaining_s(plan: SetPlan, ledger: Ledger) -> float:
    """Seconds left by the plan's estimates: every step not done, plus an engine start per scenario with one."""
    todo = {s.name for s in ledger.to_redo()}
    starts = sum(r.engine_start_s for r in plan.runs if any(s.name in todo for s in r.steps))
    return starts + sum(s.estimate_s for s in plan.steps if s.name in todo)


def status_document(plan: SetPlan, ledger: Ledger, started_at: str, elapsed_s: float,
                    step_elapsed: dict[str, float] | None = None, meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """status.json: one entry per step (state, why, run, key, estimate, elapsed), the set's elapsed and remaining."""
    step_elapsed = step_elapsed or {}
    entries = [{"name": step.name, "scenario": step.scenario.value if step.scenario else None, "test": step.test,
                "gpus": step.gpus, "state": a.state.value, "why": a.why, "run": a.run, "key": key,
                "settings": settings, "estimate_s": round(step.estimate_s, 1),
                "elapsed_s": step_elapsed.get(step.name), **({"after": a.after} if a.after is not None else {})}
               for step, settings, a, key in zip(ledger.steps, ledger.settings, ledger.assessments, ledger.keys())]
    return {"schema_version": STATUS_SCHEMA, "kind": "submission-set", "category": plan.category.value,
            "gpus": None if plan.gpus is None else list(plan.gpus), **(meta or {}), "started_at": started_at,
            "updated_at": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "elapsed_s": round(elapsed_s, 1), "remaining_s": round(remaining_s(plan, ledger), 1),
            "steps": entries}


def status_path(results_dir: Path, category: str) -> Path:
    """Where a set's status.json lives: beside its runs, one per category."""
    return results_dir / f"submission-set-{category}" / "status.json"


def write_status(path: Path, document: dict[str, Any]) -> None:
    """Written atomically: a terminal watching it never reads half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, document)


def read_status(path: Path) -> dict[str, Any] | None:
    """The last status.json, or None when there is none (or it is not one of ours: the set starts afresh)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) and data.get("kind") == "submission-set" else None
