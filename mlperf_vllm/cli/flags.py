"""Flag helpers shared by run.py and mmlu.py: 0/1 switches, numeric flags that fail in one line, and
which flags a command line gave."""

from __future__ import annotations

import argparse
import math
from typing import Callable, Sequence

from ..errors import UsageError


def switch(value: str) -> int:
    """A 0/1 switch that also works bare (--keep-all means --keep-all 1), as the seed's commands use it."""
    if value in ("0", "1"):
        return int(value)
    raise argparse.ArgumentTypeError(f"expected 0 or 1, got {value!r}")


def add_switch(group: argparse._ActionsContainer, flag: str, default: int, help_text: str) -> None:
    """Add a 0/1 switch flag: `--flag`, `--flag 1` and `--flag 0` all work."""
    group.add_argument(flag, type=switch, nargs="?", const=1, default=default, metavar="{0,1}", help=help_text)


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Show a default only where there is one worth showing."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default in (None, False, [], argparse.SUPPRESS) or "default" in text:
            return text
        return super()._get_help_string(action)


def number(flag: str, kind: Callable[[str], float] = float, low: float | None = None, high: float | None = None,
           text: str = "", low_open: bool = False, high_open: bool = False) -> Callable[[str], float]:
    """An argparse type for a numeric flag: a finite number in its range, else a UsageError naming the flag,
    the range (`text`) and the value given: one line and exit 2 instead of argparse's usage block."""
    word = "a whole number" if kind is int else "a number"

    def parse(given: str) -> float:
        try:
            value = kind(given)
        except ValueError:
            raise UsageError(f"{flag} must be {word}, got {given!r}.") from None
        if not math.isfinite(value):
            raise UsageError(f"{flag} must be a finite number, {text}; got {given!r}.")
        too_low = low is not None and (value < low or (low_open and value == low))
        too_high = high is not None and (value > high or (high_open and value == high))
        if too_low or too_high:
            raise UsageError(f"{flag} must be {text}, got {given!r}.")
        return value

    return parse


def _given_dests(parser: argparse.ArgumentParser, argv: Sequence[str]) -> set[str]:
    """Destinations of the flags that appear on the command line (given, whatever their value)."""
    given = set()
    for action in parser._actions:
        for opt in action.option_strings:
            if any(arg == opt or arg.startswith(opt + "=") for arg in argv):
                given.add(action.dest)
    return given
