"""The seam between the tuner and an engine: start one with given settings, measure it, close it.

The tuner decides; an adapter measures. A start that cannot succeed (out of memory, settings the
engine rejects) must raise StartFailed with its cause, and within START_TIMEOUT_S: the adapter watches
the engine's start (its process exit, its log) and gives up rather than waiting for a ready engine
that will never come. Every measurement starts on an idle engine.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable, Protocol, TypeVar

from .settings import Settings

START_TIMEOUT_S = 60.0  # a start that neither succeeds nor fails by then is given up as failed
T = TypeVar("T")


class StartFailed(Exception):
    """The engine did not start with these settings; `cause` says why in one line."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


@dataclass(frozen=True)
class Screen:
    """One probe at a fixed QPS: the p99 latencies the limits apply to."""

    qps: float
    p99_ttft_ms: float
    p99_tpot_ms: float


@dataclass(frozen=True)
class Edge:
    """A QPS search's result: the highest QPS that passed, and its nearest limit at that rate."""

    qps: float | None
    limiting: str | None = None
    margin: float | None = None


class Session(Protocol):
    """A started engine."""

    def tokens_per_s(self) -> float:
        """Offline: generated tokens/s over a warm window of the run's own data set."""

    def screen(self, qps: float) -> Screen:
        """Server/Interactive: one probe at `qps`, from an idle engine."""

    def close(self) -> None:
        """Stop the engine and free its memory."""


class Engine(Protocol):
    """Starts sessions; raises StartFailed within `timeout_s` when it cannot."""

    def start(self, settings: Settings, timeout_s: float) -> Session:
        ...


class EdgeSearch(Protocol):
    """The QPS search on a running engine (mlperf/qps_search.py plugs in here)."""

    def __call__(self, session: Session, start_qps: float) -> Edge:
        ...


@dataclass(frozen=True)
class Limits:
    """The scenario's p99 limits (rules.py has them per scenario)."""

    ttft_ms: float
    tpot_ms: float

    def margin(self, p99_ttft_ms: float, p99_tpot_ms: float) -> tuple[str, float]:
        """(limiting constraint, 1 - p99/limit) of the constraint nearest its limit."""
        ttft, tpot = 1 - p99_ttft_ms / self.ttft_ms, 1 - p99_tpot_ms / self.tpot_ms
        return ("TTFT", round(ttft, 6)) if ttft <= tpot else ("TPOT", round(tpot, 6))


def bounded_start(start: Callable[[], T], timeout_s: float, cancel: Callable[[], None],
                  progress: Callable[[], object] | None = None) -> T:
    """Run `start` (an engine start) and return what it returns; StartFailed with its cause when it raises,
    or when it has not returned within `timeout_s`: then `cancel` (e.g. kill the engine's process) is called
    and the start is abandoned, so that no candidate holds the tune longer than that. With `progress` (a value
    that changes while the start makes headway, e.g. the size of the engine's log), the limit counts from its
    last change instead: a large model loads and compiles for minutes, but never minutes in silence."""
    done = threading.Event()
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["value"] = start()
        except StartFailed as e:
            box["error"] = e
        except Exception as e:  # noqa: BLE001 - any start error drops the candidate; its text is the cause
            box["error"] = StartFailed(f"{type(e).__name__}: {e}".splitlines()[0])
        finally:
            done.set()

    threading.Thread(target=target, name="tune-engine-start", daemon=True).start()
    last_change, mark = time.monotonic(), progress() if progress is not None else None
    while not done.wait(min(timeout_s, 1.0) if progress is not None else timeout_s):
        now = progress() if progress is not None else None
        if now != mark:
            last_change, mark = time.monotonic(), now
        if progress is None or time.monotonic() - last_change >= timeout_s:
            cancel()
            what = "not started within" if progress is None else "no progress in its log for"
            raise StartFailed(f"{what} {timeout_s:g} s; given up")
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]
