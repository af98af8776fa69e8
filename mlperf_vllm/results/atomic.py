"""Atomic file writes: a reader never sees a half-written file, even after a crash.

A write that fails because the disk is full, over quota or read-only raises DiskError (exit 3, one
line naming the folder and the fix); it is also an OSError, so callers that handle OSError still do.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from ..errors import SetupError
from ..secrets import redact

DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
DISK_ERRNOS = (*DISK_FULL_ERRNOS, errno.EROFS)
NEARLY_FULL_BYTES = 1024**2  # below this, LoadGen's own log writes (which fail silently) are cut short


class DiskError(SetupError, OSError):
    """The disk under the results refused a write: full, over quota, or read-only."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.errno = code


def is_disk_error(exc: BaseException) -> bool:
    """A write failed because of the disk itself (full, quota, read-only), not because of the path."""
    return isinstance(exc, OSError) and exc.errno in DISK_ERRNOS


def disk_error(exc: OSError, path: Path) -> DiskError:
    """The one-line error for a disk fault while writing path."""
    if isinstance(exc, DiskError):
        return exc
    folder = Path(path).parent
    if exc.errno == errno.EROFS:
        return DiskError(f"cannot write {path}: the file system of {folder} is read-only; remount it read-write or "
                         "use a folder on a writable disk.", exc.errno)
    what = "over its quota" if exc.errno == errno.EDQUOT else "full"
    return DiskError(f"cannot write {path}: the disk of {folder} is {what} (no space left on device); free some "
                     "space there or use a folder on another disk, then run again.", exc.errno or errno.ENOSPC)


def free_bytes(path: Path) -> int | None:
    """Free bytes on the disk holding path (its nearest existing ancestor); None when unknown."""
    probe = Path(path)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        return shutil.disk_usage(probe).free
    except OSError:
        return None


def disk_nearly_full(path: Path) -> bool:
    """Is the disk of path (nearly) full? LoadGen's writes fail silently there, leaving empty logs."""
    free = free_bytes(path)
    return free is not None and free < NEARLY_FULL_BYTES

_UMASK: list[int] = []


def _file_mode() -> int:
    """0666 minus the process umask: what open() would give, so that atomic files read like LoadGen's own."""
    if not _UMASK:
        current = os.umask(0o022)  # reading the umask means setting it; put it straight back
        os.umask(current)
        _UMASK.append(current)
    return 0o666 & ~_UMASK[0]


def dir_mode() -> int:
    """0777 minus the process umask: the mode mkdir() would give (mkdtemp gives 0700)."""
    return (_file_mode() | 0o111) & ~(_UMASK[0] if _UMASK else 0o022)


def _write_fd(fd: int, data: bytes) -> None:
    """The low-level write: all of data to fd, then fsync (so a full disk shows here, not after the rename)."""
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write data to path via a temporary file in the same directory, fsync, then rename.

    On a full or read-only disk it raises DiskError and leaves neither a temporary file nor a changed path.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise (disk_error(exc, path) if is_disk_error(exc) else exc) from None
    try:
        os.fchmod(fd, _file_mode())  # mkstemp creates 0600; results are meant to be read by others
        _write_fd(fd, data)
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if is_disk_error(exc):
            raise disk_error(exc, path) from None  # type: ignore[arg-type]
        raise


def overwrite_in_place(path: Path, data: bytes) -> bool:
    """Last resort on a full disk: write data over an existing file's own bytes (no new blocks needed on
    ext4, xfs or tmpfs), padded with spaces to its old length. True when done; never raises."""
    try:
        fd = os.open(path, os.O_WRONLY)
    except OSError:
        return False
    try:
        size = os.fstat(fd).st_size
        if len(data) > size:
            return False
        padded = data + b" " * (size - len(data))  # JSON allows trailing whitespace
        if os.pwrite(fd, padded, 0) != size:
            return False
        os.fsync(fd)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def write_text_atomic(path: Path, text: str) -> None:
    """Atomically write UTF-8 text, with every secret value redacted."""
    write_bytes_atomic(path, redact(text).encode("utf-8"))


def write_json_atomic(path: Path, obj: Any) -> None:
    """Atomically write pretty JSON (sorted keys are not used: field order carries meaning)."""
    write_text_atomic(path, json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")
