"""The run's log file (run.log): one line per record, secrets redacted, quiet when the disk fills up."""

from __future__ import annotations

import logging
import sys

from .secrets import redact

LINE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class LogFileHandler(logging.FileHandler):
    """A log file that stops writing when the disk fills up instead of printing logging's traceback per record."""

    failed: OSError | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self.failed is None:
            super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):
            self.failed = exc  # the console still gets the run's one-line error
            return
        super().handleError(record)


def open_log_files() -> list[str]:
    """The paths of the log files the root logger writes (run.log while a run is on)."""
    return [h.baseFilename for h in logging.getLogger().handlers if isinstance(h, LogFileHandler)]


class ConsoleLineFormatter(logging.Formatter):
    """'LEVEL: message' on one line, secrets redacted, without the traceback (run.log keeps it)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(" ".join(f"{record.levelname}: {record.getMessage()}".split()))
