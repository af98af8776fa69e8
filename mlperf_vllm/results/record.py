"""The one reader of summary.json: a typed, shape-checked view used by the index, report, compare,
submission and the auto-QPS lookup. A file of another shape is refused here, once, with a reason."""

from __future__ import annotations

import json
import math
import os
import socket
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SUMMARY_FILE = "summary.json"
KNOWN_SCHEMAS = (1,)
STATUSES = ("running", "completed", "failed", "interrupted")
MAX_SUMMARY_BYTES = 64 * 1024**2  # a real one is well under 1 MiB, LoadGen's whole record included
PID_MAX = 4_194_304  # Linux's largest pid (PID_MAX_LIMIT): anything outside 1..PID_MAX is not a process


class ForeignSummary(ValueError):
    """A summary.json that is not one of ours (or not one we can read)."""


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _num_or_none(value: Any) -> float | None:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except OverflowError:  # an integer past a float's range
        return None
    return number if math.isfinite(number) else None  # NaN and Infinity are no measurement


def _short(value: Any) -> str:
    """A value as a message quotes it: repr, cut short (a crafted file may hold megabytes in one field)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _pid(value: Any) -> int | None:
    """meta.pid: a process id or absent; anything else is not a summary this tool wrote."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= PID_MAX:
        raise ForeignSummary(f"meta.pid {_short(value)} is not a process id")
    return value


def _section(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ForeignSummary(f"'{key}' is a {type(value).__name__}, not an object")
    return value


@dataclass(frozen=True)
class RunSummary:
    """What the history needs to know of one run, plus the checked raw data for the renderers."""

    data: dict[str, Any]
    kind: str  # benchmark | mmlu
    status: str
    run_id: str
    started_at: str
    host: str | None
    pid: int | None
    category: str | None
    scenario: str | None
    mode: str | None
    model_label: str | None
    engine_digest: str | None
    ceiling_digest: str | None
    headline_value: float | None
    headline_unit: str | None
    performance_verdict: str | None
    accuracy_verdict: str | None
    samples_per_sec: float | None

    @classmethod
    def parse(cls, data: Any) -> "RunSummary":
        """Check the shape of a decoded summary.json; raises ForeignSummary saying what is wrong."""
        if not isinstance(data, dict):
            raise ForeignSummary(f"a JSON {type(data).__name__}, not an object")
        version = data.get("schema_version")
        if isinstance(version, bool) or version not in KNOWN_SCHEMAS:
            raise ForeignSummary(f"schema_version {_short(version)} is not one of {KNOWN_SCHEMAS}")
        status = data.get("status")
        if not isinstance(status, str) or status not in STATUSES:
            raise ForeignSummary(f"status {_short(status)} is not one of {', '.join(STATUSES)}")
        meta, config = _section(data, "meta"), _section(data, "config")
        head, validity = _section(data, "headline"), _section(data, "validity")
        run = _section(data, "run")
        perf = run.get("performance") if isinstance(run.get("performance"), dict) else {}
        if not isinstance(meta.get("run_id"), str) or not config:
            raise ForeignSummary("no meta.run_id or no config")
        pid = _pid(meta.get("pid"))
        return cls(
            data=data, kind=_str_or_none(data.get("kind")) or "benchmark", status=status, run_id=meta["run_id"],
            started_at=_str_or_none(meta.get("started_at")) or "", host=_str_or_none(meta.get("host")),
            pid=pid,
            category=_str_or_none(config.get("category")), scenario=_str_or_none(config.get("scenario")),
            mode=_str_or_none(config.get("mode")), model_label=_str_or_none(config.get("model_label")),
            engine_digest=_str_or_none(data.get("engine_digest")),
            ceiling_digest=_str_or_none(data.get("ceiling_digest")),
            headline_value=_num_or_none(head.get("value")), headline_unit=_str_or_none(head.get("unit")),
            performance_verdict=_str_or_none(validity.get("performance")),
            accuracy_verdict=_str_or_none(validity.get("accuracy")),
            samples_per_sec=_num_or_none(perf.get("samples_per_sec")),
        )

    @property
    def process_gone(self) -> bool:
        """A 'running' run whose process on this host no longer exists (killed, crashed, machine rebooted)."""
        if self.status != "running" or self.pid is None or self.host != socket.gethostname():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except OSError:  # PermissionError: alive, owned by someone else
            return False
        return False

    @property
    def shown_status(self) -> str:
        """The status as the history shows it: a run whose process is gone is 'stopped', not 'running'."""
        return "stopped (process gone)" if self.process_gone else self.status


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, refusing what is not a plain file of a sane size (a folder, a FIFO that would
    block for ever, a device); raises ForeignSummary saying which."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise ForeignSummary(f"no {SUMMARY_FILE}") from None
    except OSError as exc:
        raise ForeignSummary(f"{SUMMARY_FILE} is unreadable ({exc.strerror or type(exc).__name__})") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ForeignSummary(f"{SUMMARY_FILE} is a folder, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise ForeignSummary(f"{SUMMARY_FILE} is not a regular file")
        chunks, size = [], 0
        while size <= MAX_SUMMARY_BYTES and (chunk := os.read(fd, 1 << 20)):
            chunks.append(chunk)
            size += len(chunk)
        data = b"".join(chunks)
    except OSError as exc:
        raise ForeignSummary(f"{SUMMARY_FILE} is unreadable ({exc.strerror or type(exc).__name__})") from None
    finally:
        os.close(fd)
    if len(data) > MAX_SUMMARY_BYTES:
        raise ForeignSummary(f"{SUMMARY_FILE} is over {MAX_SUMMARY_BYTES // 1024**2} MiB")
    return data


def read_summary(run_dir: Path) -> RunSummary:
    """The run's summary; raises ForeignSummary (missing, unreadable, not JSON, or another shape)."""
    data = _read_bytes(Path(run_dir) / SUMMARY_FILE)
    try:
        decoded = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ForeignSummary(f"{SUMMARY_FILE} is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        what = "empty" if not data.strip() else f"not JSON ({exc.msg} at line {exc.lineno})"
        raise ForeignSummary(f"{SUMMARY_FILE} is {what}") from None
    except (ValueError, RecursionError, MemoryError) as exc:  # an integer of 5000 digits; nesting 100000 deep
        why = "nested too deeply" if isinstance(exc, RecursionError) else type(exc).__name__
        raise ForeignSummary(f"{SUMMARY_FILE} cannot be decoded ({why})") from None
    try:
        return RunSummary.parse(decoded)
    except ForeignSummary as exc:
        raise ForeignSummary(f"{SUMMARY_FILE} is not a run summary: {exc}") from None
