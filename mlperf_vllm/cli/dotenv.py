"""Read KEY=VALUE lines of a .env file into the environment (as `docker run --env-file .env` does)."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

log = logging.getLogger(__name__)

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # POSIX: what a shell can `export`


def load_env_file(path: Path = Path(".env")) -> list[str]:
    """Set variables from path that the environment does not already have; returns their names only.

    A line that cannot be a variable is skipped with a warning naming its line number only: its name
    or value may be a secret (a key pasted without `NAME=`).
    """
    if not path.is_file():
        return []
    loaded = []
    # utf-8-sig: an editor's byte-order mark would otherwise become part of the first name
    for number, raw in enumerate(path.read_text(encoding="utf-8-sig", errors="replace").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if "=" not in line:
            log.warning("%s line %d is not NAME=VALUE; skipped", path, number)
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        key, value = key.strip(), value.strip().strip("'\"")
        if not _NAME.fullmatch(key):
            log.warning("%s line %d: the name before '=' is not a valid environment variable name (letters, digits "
                        "and _, not starting with a digit); skipped", path, number)
            continue
        if "\x00" in value:
            log.warning("%s line %d: the value of %s holds a NUL byte, which the environment cannot carry; skipped",
                        path, number, key)
            continue
        if value and key not in os.environ:
            os.environ[key] = value
            loaded.append(key)
    return loaded
