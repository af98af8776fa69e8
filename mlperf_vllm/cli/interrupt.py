"""Ctrl-C and SIGTERM: the first stops the run cleanly (logs kept, run marked interrupted), a second
exits at once; no engine process outlives the tool."""

from __future__ import annotations

import logging
import os
import signal
from typing import Any

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


def _raise_interrupt(*_: Any) -> None:
    raise KeyboardInterrupt


def install() -> None:
    """SIGTERM behaves like Ctrl-C (KeyboardInterrupt in the main thread)."""
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def second_interrupt_exits() -> None:
    """From now on, SIGINT or SIGTERM end the process at once."""
    signal.signal(signal.SIGINT, exit_now)
    signal.signal(signal.SIGTERM, exit_now)
