"""A scenario's attempts in a submission set and what to do after each, by the class of failure:

- the run failed (an engine crash, run.py exit 4 or a signal): one retry at the same settings;
- Server or Interactive performance INVALID because of latency (p99 TTFT/TPOT over the limit, or early
  stopping over it): the QPS steps down MAX_STEP_DOWNS times, each attempt STEP_DOWN below the one before
  (3 steps of 5%: at most 14% under the first rate), unless accuracy or TEST06 failed too (the scenario is
  blocked whatever its QPS) and --pack-failed is off; a rate set in a --user-conf is the user's and stays;
- accuracy or TEST06 failed, or performance INVALID for another reason: no retry (the verdict would repeat).

Every attempt is kept (its run folder stays) and listed in status.json and the readiness table. Pure:
verdicts and the attempt history in, a decision out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..config import Scenario
from ..results.record import RunSummary
from .ledger import REDO, Assessment, State
from .set_plan import MAX_STEP_DOWNS, STEP_DOWN
STREAMING = (Scenario.SERVER, Scenario.INTERACTIVE)
# Reasons (results/summary.py validity_reasons) a lower QPS can cure: latency over MLPerf's limits.
LATENCY_REASONS = ("latency constraints not met", "early stopping not met: more than 1% of queries are over")


@dataclass(frozen=True)
class Next:
    """The next attempt of a scenario: its rate (None: the set's own, or its search) and why it runs."""

    target_qps: float | None
    why: str
    step_down: bool = False


def entry(number: int, asked_qps: float | None, step_down: bool) -> dict[str, Any]:
    """An attempt as status.json keeps it, before its run has a verdict."""
    return {"attempt": number, "asked_qps": asked_qps, "step_down": step_down, "run": None, "ended": "running",
            "target_qps": asked_qps, "performance": None, "why": "running"}


def fill(attempt: dict[str, Any], run: str | None, ended: str, summary: RunSummary | None) -> dict[str, Any]:
    """The attempt with what its run left: the folder, how it ended, the rate it ran at and its verdict."""
    out = {**attempt, "run": run, "ended": ended}
    if ended == "unfinished":
        return {**out, "why": "stopped before it completed (killed, crashed or rebooted)"}
    if summary is None or ended != "completed":
        return {**out, "why": f"run.py ended {ended}" + ("" if summary else " without a summary")}
    config = summary.data.get("config") or {}
    qps = config.get("target_qps") if config.get("scenario") in {s.value for s in STREAMING} else None
    reasons = reasons_of(summary)
    verdict = summary.performance_verdict
    why = f"performance {verdict or 'not measured'}" + (f": {reasons[0]}" if reasons and verdict != "VALID" else "")
    return {**out, "performance": verdict,
            "target_qps": qps if isinstance(qps, (int, float)) else attempt.get("asked_qps"), "why": why}


def reasons_of(summary: RunSummary) -> list[str]:
    return [r for r in (summary.data.get("validity") or {}).get("reasons") or [] if isinstance(r, str)]


def latency_bound(summary: RunSummary | None) -> bool:
    """Is the performance run INVALID because of latency (which a lower QPS cures)?"""
    return summary is not None and summary.performance_verdict == "INVALID" and any(
        r.startswith(LATENCY_REASONS) for r in reasons_of(summary))


def next_attempt(scenario: Scenario, states: dict[str, Assessment], history: list[dict[str, Any]], crashes: int,
                 last: RunSummary | None, pack_failed: bool) -> Next | None:
    """What to run next for a scenario (None: nothing). `states` maps its tests to their assessment, `crashes`
    counts the runs that failed in this command, `last` is the summary of the run its verdicts come from."""
    prev = history[-1] if history else None
    if crashes >= 2:
        return None  # the retry failed too: the steps stay unfinished, and the next command tries again
    if any(a.state in REDO for a in states.values()):
        if crashes == 1:
            return Next(prev.get("asked_qps") if prev else None, "the run failed; retrying once at the same settings",
                        bool(prev and prev.get("step_down")))
        qps = prev.get("asked_qps") if prev and prev.get("ended") != "completed" else None
        return Next(qps, "", bool(prev and prev.get("step_down") and qps is not None))
    perf = states.get("performance")
    blocked = any(states[t].state is State.FAILED for t in ("accuracy", "test06") if t in states)
    used = sum(1 for a in history if a.get("step_down"))
    if scenario not in STREAMING or perf is None or perf.state is not State.FAILED or not latency_bound(last):
        return None
    rate = (last.data.get("config") or {}).get("target_qps") if last else None
    if used >= MAX_STEP_DOWNS or (blocked and not pack_failed) or not isinstance(rate, (int, float)) or rate <= 0:
        return None
    lower = round(rate * (1 - STEP_DOWN), 3)
    return Next(lower, f"performance INVALID on latency at {rate:g} QPS; step {used + 1} of {MAX_STEP_DOWNS}: "
                       f"{lower:g} QPS ({STEP_DOWN:.0%} lower)", True)


def lines(display: str, history: list[dict[str, Any]]) -> list[str]:
    """One line per attempt, for the readiness table (a scenario with one attempt has none)."""
    if len(history) < 2:
        return []
    out = [f"{display}: {len(history)} attempts, every run folder kept"]
    for a in history:
        rate = f" at {a['target_qps']:g} QPS" if isinstance(a.get("target_qps"), (int, float)) else ""
        kind = " (QPS step-down)" if a.get("step_down") else ""
        out.append(f"  {a.get('attempt')}. {a.get('run') or 'no run folder'}{rate}{kind}: {a.get('ended')}, "
                   f"{a.get('why')}")
    return out
