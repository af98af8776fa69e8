"""vLLM's engine processes log into run.log: real vLLM logging configured in a real child process."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest

from mlperf_vllm.engines.process_logs import ENV_CONFIG_PATH, ENV_CONFIGURE, EngineProcessLogs
from mlperf_vllm.logfile import ConsoleLineFormatter, LogFileHandler
from mlperf_vllm.results.folder import attach_run_log

from .conftest import ROOT

pytestmark = pytest.mark.integration

# What an engine process does: vLLM's LoggingConfig, read from the environment, applied (older vLLM
# releases applied it when the process imported vllm).
CHILD = """
from vllm.config.logging import LoggingConfig
from vllm.logger import configure_logging, init_logger
configure_logging(LoggingConfig())
log = init_logger("vllm.v1.engine.core")
log.info("init engine took 1.5 s; token %s", "s3cret-value-42")
try:
    raise ValueError("No available memory for the cache blocks")
except ValueError:
    log.exception("EngineCore failed to start.")
"""


@pytest.fixture()
def run_log(tmp_path):
    handler = attach_run_log(tmp_path)
    yield tmp_path / "run.log"
    logging.getLogger().removeHandler(handler)
    handler.close()


def _child(env: dict[str, str]) -> subprocess.CompletedProcess:
    # a process vLLM starts gets this process's sys.path; the test's child gets the project root
    env = {**env, "PYTHONPATH": str(ROOT), "MY_API_TOKEN": "s3cret-value-42"}
    return subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=env, timeout=300)


def test_a_process_started_while_the_engine_starts_logs_into_run_log(run_log, monkeypatch):
    monkeypatch.setenv("VLLM_CONFIGURE_LOGGING", "0")  # as the console sets it
    monkeypatch.delenv(ENV_CONFIG_PATH, raising=False)
    vllm_logger = logging.getLogger("vllm")
    before = (list(vllm_logger.handlers), vllm_logger.propagate, vllm_logger.level)
    logs = EngineProcessLogs()
    with logs.starting():
        assert os.environ[ENV_CONFIGURE] == "1"
        child = _child(dict(os.environ))
        logging.getLogger("vllm").addHandler(logging.NullHandler())  # what vLLM's dictConfig does here
    assert child.returncode == 0, child.stderr[-2000:]
    text = run_log.read_text()
    assert " INFO vllm.v1.engine.core (MainProcess): init engine took 1.5 s; token ***REDACTED***" in text
    assert " ERROR vllm.v1.engine.core (MainProcess): EngineCore failed to start." in text
    assert "ValueError: No available memory for the cache blocks" in text  # the traceback, in run.log
    # the console gets the error on one line, no traceback, no INFO
    assert child.stderr.strip().splitlines() == ["ERROR: EngineCore failed to start."]
    # this process is as it was: variables back, its vllm logger propagating to the root's handlers again
    assert os.environ[ENV_CONFIGURE] == "0" and ENV_CONFIG_PATH not in os.environ
    assert (list(vllm_logger.handlers), vllm_logger.propagate, vllm_logger.level) == before
    logs.close()
    logs.close()  # idempotent


def test_nothing_changes_without_a_log_file(monkeypatch):
    monkeypatch.delenv(ENV_CONFIG_PATH, raising=False)
    monkeypatch.setenv(ENV_CONFIGURE, "0")
    logs = EngineProcessLogs()
    with logs.starting():
        assert os.environ[ENV_CONFIGURE] == "0" and ENV_CONFIG_PATH not in os.environ
    logs.close()


def test_the_config_file_lives_until_close(run_log):
    logs = EngineProcessLogs()
    with logs.starting():
        path = os.environ[ENV_CONFIG_PATH]
    assert os.path.exists(path)  # a process the engine core starts later still reads it
    logs.close()
    assert not os.path.exists(path)


def test_console_line_formatter_is_one_line_and_redacted(monkeypatch):
    monkeypatch.setenv("SOME_SECRET", "hunter2-hunter2")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = logging.LogRecord("vllm", logging.ERROR, __file__, 1, "failed:\n  key hunter2-hunter2",
                                   None, sys.exc_info())
    assert ConsoleLineFormatter().format(record) == "ERROR: failed: key ***REDACTED***"


def test_a_full_disk_stops_the_file_quietly(tmp_path, capsys):
    handler = LogFileHandler(tmp_path / "run.log", encoding="utf-8")
    handler.stream = open("/dev/full", "w", encoding="utf-8")  # every write fails with ENOSPC
    record = logging.LogRecord("vllm", logging.INFO, __file__, 1, "x" * 10_000, None, None)
    handler.emit(record)
    handler.emit(record)
    assert isinstance(handler.failed, OSError)
    assert capsys.readouterr().err == ""
    handler.stream = None
    handler.close()
