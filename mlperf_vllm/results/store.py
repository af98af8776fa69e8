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
from typing import Any, Callable, Iterator

from .atomic import overwrite_in_place, write_json_atomic, write_text_atomic
from .record import SUMMARY_FILE, ForeignSummary, RunSummary, read_summary
from ..secrets import redact

log = logging.getLogger(__name__)

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


@dataclass(frozen=True)
class RunEntry:
    """One run folder of the history: its summary, or why it has none we can read."""

    path: Path
    summary: RunSummary | None
    problem: str | None = None

    @property
    def started_at(self) -> str:
        return (self.summary.started_at if self.summary else "") or self.path.name[:15]


def _looks_like_run(path: Path) -> bool:
    return path.name[:8].isdigit() and path.name[8:9] == "-"


def iter_runs(results_dir: Path) -> Iterator[RunEntry]:
    """Every run folder (a directory with a summary.json or named like a run), any order; never raises
    for a folder's content: an unreadable or foreign summary is reported in RunEntry.problem."""
    if not results_dir.is_dir():
        return
    for child in results_dir.iterdir():
        try:
            if child.is_symlink() or not child.is_dir() or child.name.startswith("."):
                continue
        except OSError:
            continue
        try:
            yield RunEntry(child, read_summary(child))
        except ForeignSummary as exc:
            if (child / SUMMARY_FILE).exists() or _looks_like_run(child):
                yield RunEntry(child, None, str(exc))


def history(results_dir: Path) -> list[RunEntry]:
    """Runs, newest first (folders without a readable summary included, with their problem)."""
    return sorted(iter_runs(results_dir), key=lambda e: (e.started_at, e.path.name), reverse=True)


def newest(results_dir: Path, where: Callable[[RunSummary], bool]) -> RunEntry | None:
    """The newest run whose readable summary satisfies `where` (the one way to look a run up)."""
    for entry in history(results_dir):
        if entry.summary is not None and where(entry.summary):
            return entry
    return None


def update_latest(results_dir: Path, run_dir: Path) -> None:
    """Point results/latest at run_dir (relative link, swapped atomically); a `latest` that is not a link
    (a file or folder of the user's) is left alone."""
    link = results_dir / LATEST_LINK
    if link.exists() and not link.is_symlink():
        log.warning("%s is not a link; left as it is (latest not updated)", link)
        return
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
    s = entry.summary
    if s is None:
        return [_cell(entry.path.name[:15]), _cell(entry.path.name), "–", "–", "–", "–", "–",
                _cell(f"UNREADABLE: {entry.problem}"), "–"]
    metric = f"{s.headline_value:,.2f} {s.headline_unit}" if s.headline_value is not None else None
    validity = s.performance_verdict if s.status == "completed" else s.shown_status.upper()
    return [_cell(entry.started_at.replace("T", " ")[:19]), f"[{entry.path.name}]({entry.path.name}/report.md)",
            _cell(s.model_label), _cell(s.category), _cell(s.scenario), _cell(s.mode), _cell(metric),
            _cell(validity), _cell(s.accuracy_verdict)]


def render_index(entries: list[RunEntry]) -> str:
    """index.md: every run, newest first; folders without a readable summary are listed, not hidden."""
    lines = ["# Run history", "",
             "Newest first. Rebuild at any time with `python report.py --rebuild-index`.", "",
             "| date | run | model | category | scenario | mode | headline metric | validity | accuracy |",
             "|---|---|---|---|---|---|---|---|---|"]
    lines += ["| " + " | ".join(index_row(e)) + " |" for e in entries]
    return "\n".join(lines) + "\n"


def rebuild_index(results_dir: Path) -> Path:
    """Rewrite index.md (and latest, if its target is gone) from the run folders."""
    entries = history(results_dir)
    for entry in entries:
        if entry.problem:
            log.warning("index: %s skipped (%s)", entry.path.name, entry.problem)
    path = results_dir / INDEX_FILE
    results_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, render_index(entries))
    link = results_dir / LATEST_LINK
    readable = [e for e in entries if e.summary is not None]
    if readable and not link.exists():
        update_latest(results_dir, readable[0].path)
    return path


def remove_earlier_runs(results_dir: Path, keep: Path, category: str, scenario: str) -> list[Path]:
    """--keep-all 0: delete earlier runs of the same category and scenario only."""
    removed = []
    for entry in iter_runs(results_dir):
        if entry.path.resolve() == keep.resolve() or entry.summary is None:
            continue  # a folder that is not ours is never deleted
        if entry.summary.category == category and entry.summary.scenario == scenario:
            shutil.rmtree(entry.path)
            removed.append(entry.path)
    return removed


def ended_summary(data: dict[str, Any], status: str, reason: str) -> dict[str, Any]:
    """The smallest summary.json that still says how a run ended (and why), for when the full one
    cannot be written: meta and config of `data`, no results."""
    meta = dict(data.get("meta") or {})
    meta["updated_at"] = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    return {"schema_version": data.get("schema_version", 1), "status": status, "kind": data.get("kind", "benchmark"),
            "meta": meta, "config": data.get("config") or {"note": "unknown"},
            "headline": {"name": None, "value": None, "unit": None},
            "validity": {"performance": None, "reasons": [reason], "accuracy": None, "submittable": False,
                         "not_submittable_because": []},
            "notes": [reason], "error": reason}


def mark_ended(run_dir: Path, data: dict[str, Any], status: str, reason: str) -> dict[str, Any] | None:
    """Best effort, when the full summary could not be written (disk full): make summary.json say the run
    ended (`failed` or `interrupted`, not `running`). A small atomic write first; on a disk too full even
    for that, the small summary is written over the old file's own bytes. Returns what was written, or
    None (then the history still shows the run as stopped once this process is gone)."""
    small = ended_summary(data, status, reason)
    path = run_dir / SUMMARY_FILE
    try:
        write_json_atomic(path, small)
        return small
    except OSError as exc:
        log.info("%s: the small summary did not fit either (%s); overwriting the old one in place", path, exc)
    text = redact(json.dumps(small, indent=None, ensure_ascii=False, default=str)) + "\n"
    return small if overwrite_in_place(path, text.encode("utf-8")) else None
