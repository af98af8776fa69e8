"""The results history: one folder per run, `latest`, and an index rebuilt from the folders.

A finished run is never lost: folders are created with a unique name (mkdir is atomic), every file
is written atomically, `latest` is swapped with a rename, and index.md is derived data that
`python report.py --rebuild-index` recreates from the folders at any time.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from .atomic import write_text_atomic

log = logging.getLogger(__name__)

SUMMARY_FILE = "summary.json"
INDEX_FILE = "index.md"
LATEST_LINK = "latest"


def new_run_dir(results_dir: Path, label: str, now: dt.datetime | None = None) -> Path:
    """Create results/<YYYYMMDD-hhmmss>-<label>[-N]/, unique even for runs started in the same second."""
    results_dir.mkdir(parents=True, exist_ok=True)
    stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    base = f"{stamp}-{label}"
    for n in range(1, 10_000):
        path = results_dir / (base if n == 1 else f"{base}-{n}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise RuntimeError(f"could not create a unique run folder under {results_dir}")


def read_summary(run_dir: Path) -> dict[str, Any] | None:
    """A run's summary.json, or None when missing or unreadable."""
    try:
        return json.loads((run_dir / SUMMARY_FILE).read_text())
    except (OSError, json.JSONDecodeError):
        return None


@dataclass(frozen=True)
class RunEntry:
    """One run folder of the history."""

    path: Path
    summary: dict[str, Any] | None

    @property
    def started_at(self) -> str:
        meta = (self.summary or {}).get("meta", {})
        return str(meta.get("started_at") or self.path.name[:15])


def iter_runs(results_dir: Path) -> Iterator[RunEntry]:
    """Every run folder (a directory with a summary.json or named like a run), any order."""
    if not results_dir.is_dir():
        return
    for child in results_dir.iterdir():
        if child.is_symlink() or not child.is_dir() or child.name.startswith("."):
            continue
        summary = read_summary(child)
        if summary is not None or (child.name[:8].isdigit() and child.name[8:9] == "-"):
            yield RunEntry(child, summary)


def history(results_dir: Path) -> list[RunEntry]:
    """Runs, newest first."""
    return sorted(iter_runs(results_dir), key=lambda e: (e.started_at, e.path.name), reverse=True)


def update_latest(results_dir: Path, run_dir: Path) -> None:
    """Point results/latest at run_dir (relative link, swapped atomically)."""
    link = results_dir / LATEST_LINK
    tmp = results_dir / f".{LATEST_LINK}.{os.getpid()}"
    try:
        tmp.unlink()
    except FileNotFoundError:
        pass
    os.symlink(run_dir.name, tmp)
    os.replace(tmp, link)


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|") if value not in (None, "") else "–"


def index_row(entry: RunEntry) -> list[str]:
    """One index line: date, run, model, category, scenario, mode, headline, validity, accuracy."""
    s = entry.summary or {}
    cfg = s.get("config", {})
    v = s.get("validity", {})
    head = s.get("headline", {})
    metric = f"{head['value']:,.2f} {head['unit']}" if head.get("value") is not None else None
    status = s.get("status", "incomplete")
    validity = v.get("performance") or None
    if status != "completed":
        validity = status.upper()
    return [_cell(entry.started_at.replace("T", " ")[:19]), f"[{entry.path.name}]({entry.path.name}/report.md)",
            _cell(cfg.get("model_label")), _cell(cfg.get("category")), _cell(cfg.get("scenario")),
            _cell(cfg.get("mode")), _cell(metric), _cell(validity), _cell(v.get("accuracy"))]


def render_index(entries: list[RunEntry]) -> str:
    """index.md: every run, newest first."""
    lines = ["# Run history", "",
             "Newest first. Rebuild at any time with `python report.py --rebuild-index`.", "",
             "| date | run | model | category | scenario | mode | headline metric | validity | accuracy |",
             "|---|---|---|---|---|---|---|---|---|"]
    lines += ["| " + " | ".join(index_row(e)) + " |" for e in entries]
    return "\n".join(lines) + "\n"


def rebuild_index(results_dir: Path) -> Path:
    """Rewrite index.md (and latest, if its target is gone) from the run folders."""
    entries = history(results_dir)
    path = results_dir / INDEX_FILE
    results_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, render_index(entries))
    link = results_dir / LATEST_LINK
    if entries and (not link.exists()):
        update_latest(results_dir, entries[0].path)
    return path


def remove_earlier_runs(results_dir: Path, keep: Path, category: str, scenario: str) -> list[Path]:
    """--keep-all 0: delete earlier runs of the same category and scenario only."""
    removed = []
    for entry in iter_runs(results_dir):
        if entry.path.resolve() == keep.resolve() or entry.summary is None:
            continue
        cfg = entry.summary.get("config", {})
        if cfg.get("category") == category and cfg.get("scenario") == scenario:
            shutil.rmtree(entry.path)
            removed.append(entry.path)
    return removed
