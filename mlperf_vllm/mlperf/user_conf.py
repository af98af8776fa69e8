"""A user's LoadGen user.conf, checked as LoadGen reads it (loadgen/test_settings_internal.cc FromConfig).

LoadGen splits each line at whitespace into `key = value`; a "#" token ends the line unless a value is
expected; a value must be a whole C number (strtoul, base 0) or a double (strtod). It refuses a file with
a bad value, a comment after a value, or '#word' followed by more words, but only after the engine has
loaded; it silently ignores `key=value` without spaces (one token: a key), a key without a value, or a
key whose scenario it never looks up (names are case-sensitive); and it reads a whole-number setting up to
its first non-digit ("1e3" is 1). Each is refused here, before anything starts, naming the line. Pure.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import UsageError

SCENARIOS = ("SingleStream", "MultiStream", "Server", "Offline", "*")
# Settings LoadGen reads as doubles (mlcommons-loadgen 6.0.17, checked value by value); it reads every other
# one as a whole number, up to its first non-digit. SingleStream's target_latency is a double, Server's is not.
DOUBLE_SETTINGS = ("target_qps", "target_latency_percentile", "accuracy_log_probability")
_WHOLE = re.compile(r"[+-]?(0[xX][0-9a-fA-F]+|[0-9]+)")  # strtoul(s, &end, 0) consuming all of s
_DOUBLE = re.compile(r"[+-]?((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|0[xX]([0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)"
                     r"([pP][+-]?\d+)?|inf(inity)?|nan(\([0-9A-Za-z_]*\))?)", re.I)  # strtod


def _strtoull(token: str) -> int:
    digits = re.match(r"[+-]?\d*", token).group(0)  # what C's strtoull reads before it stops
    return int(digits) if digits.strip("+-") else 0


def _number(token: str) -> bool:
    return bool(_WHOLE.fullmatch(token) or _DOUBLE.fullmatch(token))


def line_problem(line: str) -> str | None:
    """Why LoadGen would refuse, misread or silently ignore this line, or None."""
    tokens = line.split()
    if not tokens or tokens[0] == "#" or (tokens[0].startswith("#") and len(tokens) == 1):
        return None  # a comment (LoadGen ignores a lone '#word' as a key without a value)
    key = tokens[0]
    if key.startswith("#"):
        return f"'{key}' needs a space after '#': LoadGen reads '{key}' as a key and refuses the line"
    if "=" in key:
        return f"'{key}' has no spaces around '=': LoadGen reads it as a key and ignores the line; write 'KEY = VALUE'"
    if len(tokens) < 3:
        return f"'{line.strip()}' has no value; expected 'KEY = VALUE'"
    if tokens[1] != "=":
        return f"expected '=' after '{key}', found '{tokens[1]}'"
    if len(tokens) > 3:
        return f"'{key}' has more than one value ({' '.join(tokens[2:])}); LoadGen takes no comment after a value"
    value = tokens[2]
    if not _number(value):
        return f"the value '{value}' of '{key}' is not a number"
    parts = key.split(".")
    if len(parts) != 3 or parts[1] not in SCENARIOS:
        return (f"'{key}' is not MODEL.SCENARIO.SETTING with SCENARIO one of {', '.join(SCENARIOS)} (case matters); "
                "LoadGen would never read it")
    double = parts[2] in DOUBLE_SETTINGS or (parts[1], parts[2]) == ("SingleStream", "target_latency")
    if value.lower().lstrip("+-").startswith(("inf", "nan")):
        return f"the value '{value}' of '{key}' is not a finite number"
    if not double and not _WHOLE.fullmatch(value):
        return f"'{key}' takes a whole number, and LoadGen reads '{value}' as {_strtoull(value)}"
    return None


def check(path: Path) -> None:
    """UsageError (exit 2) naming the first line of --user-conf that LoadGen would refuse or ignore."""
    if not Path(path).is_file():
        raise UsageError(f"--user-conf {path} {'is a folder' if Path(path).is_dir() else 'does not exist'}.")
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"--user-conf {path} is not a text file; pass a LoadGen user.conf.") from None
    except OSError as exc:
        raise UsageError(f"--user-conf {path} cannot be read ({exc.strerror or exc}); make it readable.") from None
    for number, line in enumerate(text.splitlines(), start=1):
        problem = line_problem(line)
        if problem:
            raise UsageError(f"--user-conf {path} line {number}: {problem}.")
