"""Typed errors that say what to do, and the exit codes they map to (one place for all CLIs)."""

from __future__ import annotations

EXIT_OK = 0
EXIT_USAGE = 2  # fix the command before starting: flags, inputs, a missing GPU or token for the model asked for
EXIT_SETUP = 3  # the machine is not ready: disk, permissions, a download that failed
EXIT_RUN_FAILED = 4  # the engine or LoadGen failed during the run
EXIT_NOT_VALID = 5  # the run finished, but it is INVALID or the accuracy gate failed
EXIT_INTERRUPTED = 130


class BenchError(Exception):
    """An error with a one-line message for the user and an exit code."""

    exit_code = EXIT_RUN_FAILED


class UsageError(BenchError):
    """A flag or a combination of flags is wrong."""

    exit_code = EXIT_USAGE


class SetupError(BenchError):
    """Something the run needs is missing (model, GPU, token, disk, permissions)."""

    exit_code = EXIT_SETUP


class DataError(BenchError):
    """An input file is missing or not in the expected format."""

    exit_code = EXIT_USAGE

