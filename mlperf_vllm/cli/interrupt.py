"""Ctrl-C and SIGTERM: the first stops the run cleanly (logs kept, run marked interrupted), a second
exits at once; no engine process outlives the tool."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from typing import Any

from .. import interrupts

log = logging.getLogger(__name__)


def kill_children(timeout_s: float = 3.0) -> int:
    """Terminate, then kill, every child process (vLLM engine cores and workers); returns how many."""
    try:
        import psutil
    except ImportError:
        import multiprocessing
        kids = multiprocessing.active_children()
        for k in kids:
            k.terminate()
        for k in kids:
            k.join(timeout_s)
        return len(kids)
    kids = psutil.Process().children(recursive=True)
    for k in kids:
        try:
            k.terminate()
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(kids, timeout=timeout_s)
    for k in alive:
        try:
            k.kill()
        except psutil.Error:
            pass
    return len(kids)


def exit_now(*_: Any) -> None:
    """Second interrupt: no more clean-up than killing the engine processes."""
    kill_children(timeout_s=1.0)
    logging.shutdown()
    os._exit(130)


def _watchdog() -> None:
    if interrupts.settled(interrupts.GRACE_S):
        return
    log.warning("the interrupt was not taken up within %.0f s (swallowed inside the engine start?); "
                "leaving now", interrupts.GRACE_S)
    print("Interrupted: leaving now (the engine did not stop in time).", file=sys.stderr)
    interrupts.say_last_words()
    exit_now()


def _interrupt(*_: Any) -> None:
    """Ctrl-C or SIGTERM: record it, make sure the process leaves within the grace time, and raise; while
    the run writes its results after the measurement (interrupts.shielded), only record it."""
    first = interrupts.request()
    if interrupts.is_shielded():
        if not first:
            exit_now()
        print("Interrupted: the run has ended; writing its results in full first (again to exit at once).",
              file=sys.stderr)
        return
    if first:
        threading.Thread(target=_watchdog, name="interrupt-watchdog", daemon=True).start()
    raise KeyboardInterrupt


def install() -> None:
    """SIGINT and SIGTERM raise KeyboardInterrupt in the main thread, and are recorded (interrupts.py)."""
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)


def second_interrupt_exits() -> None:
    """From now on, SIGINT or SIGTERM end the process at once."""
    signal.signal(signal.SIGINT, exit_now)
    signal.signal(signal.SIGTERM, exit_now)
