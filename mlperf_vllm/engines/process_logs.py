"""vLLM's engine-core processes write their log lines into this process's log files (run.log).

The engine core runs in processes vLLM starts (always with data parallelism, and on a GPU): they begin
with none of this process's handlers, so the engine's own account of its start (weights, torch.compile,
CUDA graphs, the KV-cache size) and the cause when it fails to start went to the console or nowhere.
vLLM configures logging in every process it starts from two variables, VLLM_CONFIGURE_LOGGING and
VLLM_LOGGING_CONFIG_PATH (read when the process imports vllm, and by newer versions into the engine's
config). `EngineProcessLogs.starting` sets them while the engine starts, pointing at a dictConfig that
sends the `vllm` logger to the same files as this process's root logger, each line naming its process,
secrets redacted, and its errors to stderr one line each, like this process's console. vLLM applies
that configuration to this process's `vllm` logger too; it is put back as it was, so that its records
keep going to the root logger's handlers (and a later run's run.log), not to the files of this one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

from ..logfile import LINE_FORMAT, open_log_files

ENV_CONFIGURE = "VLLM_CONFIGURE_LOGGING"
ENV_CONFIG_PATH = "VLLM_LOGGING_CONFIG_PATH"
PROCESS_LINE_FORMAT = LINE_FORMAT.replace("%(name)s:", "%(name)s (%(processName)s):")


def logging_config(files: list[str]) -> dict[str, Any]:
    """The dictConfig of an engine process: the `vllm` logger to `files` (INFO and up) and stderr (errors)."""
    handlers: dict[str, Any] = {
        f"file{i}": {"class": "mlperf_vllm.logfile.LogFileHandler", "filename": path, "encoding": "utf-8",
                     "level": "INFO", "formatter": "line"}
        for i, path in enumerate(files)
    }
    handlers["console"] = {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "level": "ERROR",
                           "formatter": "console"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "line": {"()": "mlperf_vllm.secrets.RedactingFormatter", "fmt": PROCESS_LINE_FORMAT},
            "console": {"()": "mlperf_vllm.logfile.ConsoleLineFormatter"},
        },
        "handlers": handlers,
        "loggers": {"vllm": {"handlers": list(handlers), "level": "INFO", "propagate": False}},
    }


class EngineProcessLogs:
    """While an engine starts, the processes it starts log into this process's log files.

    The configuration file stays until `close` (at the engine's shutdown): a process started by the
    engine core later imports vllm too, and vLLM refuses a configuration path that does not exist."""

    def __init__(self) -> None:
        self._dir: Path | None = None

    @contextlib.contextmanager
    def starting(self) -> Iterator[None]:
        """Around the engine's construction; does nothing when this process writes no log file."""
        files = open_log_files()
        if not files:
            yield
            return
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="mlperf-vllm-logging-"))
        path = self._dir / "vllm_logging.json"
        path.write_text(json.dumps(logging_config(files)), encoding="utf-8")
        saved_env = {k: os.environ.get(k) for k in (ENV_CONFIGURE, ENV_CONFIG_PATH)}
        vllm_logger = logging.getLogger("vllm")
        saved = (list(vllm_logger.handlers), vllm_logger.propagate, vllm_logger.level)
        os.environ[ENV_CONFIGURE], os.environ[ENV_CONFIG_PATH] = "1", str(path)
        try:
            yield
        finally:
            for key, value in saved_env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            _restore(vllm_logger, *saved)

    def close(self) -> None:
        """Remove the configuration file (idempotent)."""
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


def _restore(logger: logging.Logger, handlers: list[logging.Handler], propagate: bool, level: int) -> None:
    for handler in list(logger.handlers):
        if handler not in handlers:
            logger.removeHandler(handler)
            handler.close()
    for handler in handlers:
        if handler not in logger.handlers:
            logger.addHandler(handler)
    logger.propagate, logger.level = propagate, level
