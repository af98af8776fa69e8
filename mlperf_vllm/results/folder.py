"""A run folder's own files: run.log (every log record, secrets redacted) and the SUT timing CSV."""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path
from typing import Any

from .atomic import write_text_atomic
from .secrets import RedactingFormatter

TIMING_FIELDS = ("qsl_idx", "issued_ms", "ttft_ms", "latency_ms", "tpot_ms", "n_tokens", "error")


def attach_run_log(run_dir: Path) -> logging.Handler:
    """Send every log record (tracebacks included) to run_dir/run.log, secrets redacted."""
    handler = logging.FileHandler(run_dir / "run.log", encoding="utf-8")
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.INFO)
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    return handler


def write_timings_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    """Per-sample SUT timings (the SUT's clock, from issue; LoadGen's figures are the official ones)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(TIMING_FIELDS), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    write_text_atomic(path, buf.getvalue())
