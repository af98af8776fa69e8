"""A run folder's own files: run.log (every log record, secrets redacted), the SUT timing CSV and the
machine's readings beside it."""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path
from typing import Any, Callable

from .atomic import write_text_atomic
from ..logfile import LINE_FORMAT, LogFileHandler
from ..secrets import RedactingFormatter

TIMING_FIELDS = ("qsl_idx", "issued_ms", "ttft_ms", "latency_ms", "tpot_ms", "n_tokens", "error")
MACHINE_FILE = "machine.csv"


def attach_run_log(run_dir: Path) -> logging.Handler:
    """Send every log record (tracebacks included) to run_dir/run.log, secrets redacted."""
    handler = LogFileHandler(run_dir / "run.log", encoding="utf-8")
    handler.setFormatter(RedactingFormatter(LINE_FORMAT))
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


def write_machine_csv(log_dir: Path, machine: Any, t0_ns: int | None) -> None:
    """A performance test's machine readings (mlperf/machine.MachineStats) beside its SUT timings, on
    their clock (t_ms from the first issue); nothing when there were none."""
    if machine is not None and machine.rows and t0_ns is not None:
        write_text_atomic(log_dir / MACHINE_FILE, machine.csv_text(t0_ns))


def keep_interrupted_timings(path: Path, rows: Callable[[], list[dict[str, Any]]]) -> None:
    """An interrupted test's timings so far (the samples that completed), for diagnosis; a failed write
    is logged, never raised over the interrupt."""
    log = logging.getLogger(__name__)
    try:
        kept = rows()
        write_timings_csv(path, kept)
        log.info("kept the timings of the %d samples issued before the interrupt: %s", len(kept), path)
    except OSError as exc:
        log.info("timings of the interrupted test not written: %s", exc)
