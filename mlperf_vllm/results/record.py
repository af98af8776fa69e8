"""The one reader of summary.json: a typed, shape-checked view used by the index, report, compare,
submission and the auto-QPS lookup. A file of another shape is refused here, once, with a reason."""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SUMMARY_FILE = "summary.json"
KNOWN_SCHEMAS = (1,)
STATUSES = ("running", "completed", "failed", "interrupted")


class ForeignSummary(ValueError):
    """A summary.json that is not one of ours (or not one we can read)."""


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _num_or_none(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


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
        if data.get("schema_version") not in KNOWN_SCHEMAS:
            raise ForeignSummary(f"schema_version {data.get('schema_version')!r} is not one of {KNOWN_SCHEMAS}")
        status = data.get("status")
        if status not in STATUSES:
            raise ForeignSummary(f"status {status!r} is not one of {', '.join(STATUSES)}")
        meta, config = _section(data, "meta"), _section(data, "config")
        head, validity = _section(data, "headline"), _section(data, "validity")
        run = _section(data, "run")
        perf = run.get("performance") if isinstance(run.get("performance"), dict) else {}
        if not isinstance(meta.get("run_id"), str) or not config:
            raise ForeignSummary("no meta.run_id or no config")
        pid = meta.get("pid")
        return cls(
            data=data, kind=str(data.get("kind") or "benchmark"), status=status, run_id=meta["run_id"],
            started_at=str(meta.get("started_at") or ""), host=_str_or_none(meta.get("host")),
            pid=pid if isinstance(pid, int) else None,
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
        except PermissionError:  # alive, owned by someone else
            return False
        return False

    @property
    def shown_status(self) -> str:
        """The status as the history shows it: a run whose process is gone is 'stopped', not 'running'."""
        return "stopped (process gone)" if self.process_gone else self.status


def read_summary(run_dir: Path) -> RunSummary:
    """The run's summary; raises ForeignSummary (missing, unreadable, not JSON, or another shape)."""
    path = Path(run_dir) / SUMMARY_FILE
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ForeignSummary(f"no {SUMMARY_FILE}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ForeignSummary(f"{SUMMARY_FILE} is unreadable ({type(exc).__name__})") from None
    try:
        return RunSummary.parse(data)
    except ForeignSummary as exc:
        raise ForeignSummary(f"{SUMMARY_FILE} is not a run summary: {exc}") from None
