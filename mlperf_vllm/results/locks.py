"""Locks that let any number of runs, report.py and --submission-dir share one results folder.

- The history lock (`results/.lock`, flock): exclusive while the history changes (a run folder made and
  its first summary written; index.md and `latest` rewritten; earlier runs removed), shared while
  --submission-dir reads the runs it packs. Each writer then sees every other's changes whole.
- A run's own lock (`<run>/.lock`): held by the run's process for as long as it writes in its folder.
  The kernel drops it when that process ends, however it ends (kill -9 included), so "is this run still
  being written?" has an answer that a reused pid cannot fool.

A folder where the lock file cannot be made or locked (read-only, another user's, a file system without
locks) is used without it, as before these locks existed; a reader never needs one.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ..errors import SetupError

log = logging.getLogger(__name__)

LOCK_FILE = ".lock"
WAIT_S = 120.0  # a writer holds the history lock for well under a second; a packer for a copy of the logs
RUN_LOCK_WAIT_S = 5.0  # a new run's lock is only ever tested (for an instant) by another process
_POLL_S = 0.05
_held = threading.local()  # per thread: the history locks this thread holds (flock does not nest per fd)


class LockTimeout(SetupError, OSError):
    """The history lock stayed held by another process for longer than the wait allowed (exit 3; also an
    OSError, so that what writes derived data goes on without it)."""

    def __init__(self, path: Path, wait_s: float) -> None:
        super().__init__(f"{path} stayed locked by another process for {wait_s:.0f} s (a run ending, or a "
                         "--submission-dir packing, in the same results folder); run again once it is done.")
        self.errno = errno.ETIMEDOUT


def _open(path: Path, create: bool) -> int | None:
    """A descriptor on the lock file (made if asked and allowed), or None where there is none to lock."""
    flags = os.O_CLOEXEC | (os.O_RDWR | os.O_CREAT if create else os.O_RDONLY)
    try:
        return os.open(path, flags, 0o666)
    except OSError:
        if not create:
            return None
    try:
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC)  # a folder we may read but not write
    except OSError as exc:
        log.debug("no lock at %s (%s): used without it", path, exc)
        return None


def _acquire(fd: int, mode: int, wait_s: float, path: Path) -> None:
    """Lock fd, waiting at most wait_s for another holder; on a file system without locks (ENOLCK,
    EOPNOTSUPP: some network and FUSE mounts) go on without one, as where the file cannot be made."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise LockTimeout(path, wait_s) from None
            time.sleep(_POLL_S)
        except OSError as exc:
            log.info("%s cannot be locked on its file system (%s): used without the lock", path, exc)
            return


@contextmanager
def history_lock(results_dir: Path, shared: bool = False, wait_s: float | None = None) -> Iterator[None]:
    """Hold the history lock of results_dir (re-entrant within a thread); raises LockTimeout (an OSError)
    when another process keeps it for longer than wait_s (default WAIT_S)."""
    held: dict[str, int] = _held.__dict__.setdefault("locks", {})
    key = os.path.abspath(results_dir)
    if key in held:
        held[key] += 1
        try:
            yield
        finally:
            held[key] -= 1
        return
    fd = _open(Path(results_dir) / LOCK_FILE, create=True) if Path(results_dir).is_dir() else None
    try:
        if fd is not None:
            _acquire(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX, WAIT_S if wait_s is None else wait_s,
                     Path(results_dir) / LOCK_FILE)
        held[key] = 1
        try:
            yield
        finally:
            del held[key]
    finally:
        if fd is not None:
            os.close(fd)  # closing the descriptor drops the lock


class RunLock:
    """The lock a run holds on its own folder while its process writes there."""

    def __init__(self, run_dir: Path) -> None:
        self.fd = _open(Path(run_dir) / LOCK_FILE, create=True)
        if self.fd is not None:
            try:
                _acquire(self.fd, fcntl.LOCK_EX, RUN_LOCK_WAIT_S, Path(run_dir) / LOCK_FILE)
            except LockTimeout as exc:  # never expected: only ever tested for an instant
                log.info("run lock not taken in %s: %s", run_dir, exc)

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def run_in_progress(run_dir: Path) -> bool | None:
    """Is a process still writing in this run folder? True or False from its run lock; None where it has
    none that can be tested (a run written before this lock existed, a file system without locks)."""
    fd = _open(Path(run_dir) / LOCK_FILE, create=False)
    if fd is None:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    except OSError:
        return None
    finally:
        os.close(fd)
