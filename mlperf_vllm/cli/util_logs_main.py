"""util_logs.py: parse LoadGen's logs (any LoadGen run) into one structured JSON record."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

from ..errors import EXIT_OK, EXIT_USAGE
from ..mlperf import logs
from .console import error_line


def build_parser() -> argparse.ArgumentParser:
    """util_logs.py's flags."""
    p = argparse.ArgumentParser(prog="util_logs.py",
                                description="Parse mlperf_log_summary.txt and mlperf_log_detail.txt into JSON.")
    p.add_argument("log_dir", type=Path, help="a directory with LoadGen logs (or a run folder: its Performance/ is used)")
    p.add_argument("--compact", action="store_true", help="one line of JSON instead of indented")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of util_logs.py."""
    args = build_parser().parse_args(argv)
    try:
        record = logs.read_log_dir(args.log_dir)
    except (logs.LogParseError, OSError) as exc:
        print(error_line(str(exc)), file=sys.stderr)
        return EXIT_USAGE
    skipped = record["skipped_lines"]
    if skipped["count"]:
        lines = ", ".join(map(str, skipped["first"])) + (", ..." if skipped["count"] > len(skipped["first"]) else "")
        print(f"note: {skipped['count']} :::MLLOG lines of {logs.DETAIL_FILE} are not LoadGen records and were "
              f"skipped (line {lines})", file=sys.stderr)
    print(json.dumps(record, indent=None if args.compact else 2))
    return EXIT_OK
