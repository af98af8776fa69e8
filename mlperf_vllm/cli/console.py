"""Console output: warnings and errors only, one line each; details go to the run's run.log."""

from __future__ import annotations

import logging
import os
import sys

from ..logfile import ConsoleLineFormatter
from ..secrets import redact

_HANDLER_NAME = "mlperf_vllm.console"


class _QuietLibraries(logging.Filter):
    """vLLM's and torch's warnings are for run.log; the console shows only their errors."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith(("vllm", "torch", "transformers", "py.warnings")):
            return record.levelno >= logging.ERROR
        return record.exc_info is None  # tracebacks go to run.log; the console gets the one-line error


def configure_console_logging(level: int = logging.WARNING) -> None:
    """Warnings to stderr; vLLM's loggers propagate to ours (so run.log gets them) instead of printing."""
    os.environ.setdefault("VLLM_CONFIGURE_LOGGING", "0")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TORCH_CPP_LOG_LEVEL", "ERROR")
    logging.captureWarnings(True)
    root = logging.getLogger()
    if any(getattr(h, "name", None) == _HANDLER_NAME for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.name = _HANDLER_NAME
    handler.setLevel(level)
    handler.setFormatter(ConsoleLineFormatter())
    handler.addFilter(_QuietLibraries())
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def error_line(message: object) -> str:
    """One line, prefixed, whatever the message holds, with every secret value redacted."""
    # redacted before and after the whitespace is joined: a value may hold whitespace itself
    return "error: " + redact(" ".join(redact(str(message)).split()))


def say(text: str, err: bool = False) -> None:
    """Print one console line (stdout, or stderr with err), with every secret value redacted."""
    print(redact(text), file=sys.stderr if err else sys.stdout)
