"""Atomic file writes: a reader never sees a half-written file, even after a crash."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .secrets import redact

_UMASK: list[int] = []


def _file_mode() -> int:
    """0666 minus the process umask: what open() would give, so that atomic files read like LoadGen's own."""
    if not _UMASK:
        current = os.umask(0o022)  # reading the umask means setting it; put it straight back
        os.umask(current)
        _UMASK.append(current)
    return 0o666 & ~_UMASK[0]


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write data to path via a temporary file in the same directory, fsync, then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, _file_mode())  # mkstemp creates 0600; results are meant to be read by others
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_text_atomic(path: Path, text: str) -> None:
    """Atomically write UTF-8 text, with every secret value redacted."""
    write_bytes_atomic(path, redact(text).encode("utf-8"))


def write_json_atomic(path: Path, obj: Any) -> None:
    """Atomically write pretty JSON (sorted keys are not used: field order carries meaning)."""
    write_text_atomic(path, json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")
