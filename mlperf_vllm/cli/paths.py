"""Path flags checked against what a file system can hold, before anything opens them.

Linux refuses a path of PATH_MAX bytes or more, and a name (one component) of more than NAME_MAX bytes,
with ENAMETOOLONG wherever the path is first used; here such a flag is one line naming the flag and the
limit. Folders the tool writes into keep room for the longest path it writes beneath them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from ..errors import UsageError

NAME_MAX = 255  # bytes in one file name (ext4, xfs, btrfs, tmpfs)
PATH_MAX = 4096  # bytes in a path, its terminating NUL included
# The longest path the tool writes under a results folder, e.g.
# 20260101-000000-datacenter-singlestream-2/Performance-repeat-10/.mlperf_log_detail.txt.0123abcd.tmp
RESULTS_ROOM = 160
# ... and under a submission tree: closed/<submitter>/results/<system>/llama3.1-8b-edge/SingleStream/TEST06/
# performance/run_1/mlperf_log_detail.txt, with room for the submitter's and the system's names.
SUBMISSION_ROOM = 640
STAGING_NAME_ROOM = 24  # the submission tree is built in ".<name>.partial-XXXXXXXX" beside it


def shown(text: str, most: int = 100) -> str:
    """A path short enough for a one-line message: its start and its end."""
    return text if len(text) <= most else f"{text[:most // 2]}...{text[-(most // 2 - 3):]} ({len(text):,} characters)"


def problem(text: str, room: int = 0, name_room: int = 0) -> str | None:
    """Why the file system would refuse this path (or a path `room` bytes longer beneath it), or None."""
    raw = os.fsencode(text)
    names = raw.split(b"/")
    longest = max(names, key=len)
    last = names[-1] or (names[-2] if len(names) > 1 else b"")
    if len(longest) > NAME_MAX:
        return f"a name in it is {len(longest)} bytes long, more than the {NAME_MAX} a file name may have"
    if len(last) + name_room > NAME_MAX:
        return (f"its last name is {len(last)} bytes long; the tool needs {name_room} bytes more beside it, and a "
                f"file name may have {NAME_MAX}")
    if len(raw) + room >= PATH_MAX:
        extra = f" (plus the {room} the tool writes beneath it)" if room else ""
        return f"it is {len(raw)} bytes long{extra}, and a path may have {PATH_MAX - 1}"
    return None


def flag(name: str, room: int = 0, name_room: int = 0) -> Callable[[str], Path]:
    """An argparse type for a path flag: a Path, or a UsageError (exit 2) naming the flag and the limit."""

    def parse(given: str) -> Path:
        why = problem(given, room, name_room)
        if why:
            raise UsageError(f"{name} {shown(given)}: {why}; use a shorter path.")
        return Path(given)

    return parse


def model_ref(name: str) -> Callable[[str], str]:
    """An argparse type for a flag that is a Hugging Face id or a local path (--model, --tokenizer)."""

    def parse(given: str) -> str:
        why = problem(given)
        if why:
            raise UsageError(f"{name} {shown(given)}: {why}; pass a shorter path or a Hugging Face id.")
        return given

    return parse
