"""Read KEY=VALUE lines of a .env file into the environment (as `docker run --env-file .env` does)."""

from __future__ import annotations

import os
from pathlib import Path


def load_env_file(path: Path = Path(".env")) -> list[str]:
    """Set variables from path that the environment does not already have; returns their names only."""
    if not path.is_file():
        return []
    loaded = []
    for raw in path.read_text(errors="replace").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        key, value = key.strip(), value.strip().strip("'\"")
        if key and value and key not in os.environ:
            os.environ[key] = value
            loaded.append(key)
    return loaded
