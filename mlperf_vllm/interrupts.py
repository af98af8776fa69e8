"""What a run knows of Ctrl-C / SIGTERM, shared by the CLI's signal handlers and the orchestrators.

The handlers raise KeyboardInterrupt in the main thread, but Python can swallow it: raised inside a
finalizer (`__del__`) during the engine start it is only printed ("Exception ignored in ..."). So the
request is also recorded here; the orchestrator checks it after each phase, and a watchdog ends the
process (after the run's last words: its summary marked interrupted) if the run has not taken notice
within GRACE_S.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Callable, Iterator

GRACE_S = 8.0  # then the process leaves on its own: Ctrl-C must stop a run within 10 s

_requested = threading.Event()
_settled = threading.Event()
_shield = threading.Event()
_last_words: list[Callable[[], None]] = []


def request() -> bool:
    """Record an interrupt; True for the first one."""
    first = not _requested.is_set()
    _requested.set()
    return first


def requested() -> bool:
    return _requested.is_set()


def check() -> None:
    """Raise KeyboardInterrupt if an interrupt was recorded (even one Python swallowed)."""
    if _requested.is_set():
        raise KeyboardInterrupt


@contextmanager
def shielded() -> Iterator[None]:
    """A section an interrupt must not cut short: the run's final writes (summary, report, history) once
    its measurement has ended. A first interrupt there is only recorded (requested() says so after); a
    second still exits at once."""
    _shield.set()
    try:
        yield
    finally:
        _shield.clear()


def is_shielded() -> bool:
    return _shield.is_set()


def settle() -> None:
    """The run has taken notice of the interrupt and is winding down on its own."""
    _settled.set()


def settled(timeout: float) -> bool:
    return _settled.wait(timeout)


def set_last_words(fn: Callable[[], None] | None) -> None:
    """What to write before a forced exit (the run's summary, marked interrupted); None clears it."""
    _last_words.clear()
    if fn is not None:
        _last_words.append(fn)


def say_last_words() -> None:
    for fn in list(_last_words):
        try:
            fn()
        except Exception:  # the process is leaving anyway; the run.log has what was written
            pass


def end_with_parent(parent_pid: int) -> bool:
    """Linux: have the kernel send this process SIGTERM when the process that started it ends, kill -9
    included, so that a run started for another (a tune's confirmation) never outlives it and holds a GPU
    that a rerun of the same command needs. False when the parent is already gone (or elsewhere: no effect)."""
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return True
    import os

    return os.getppid() == parent_pid  # checked after prctl: a parent that ended before it is seen here
