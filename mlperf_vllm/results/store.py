"""The results history: one folder per run, `latest`, and an index rebuilt from the folders.

A finished run is never lost: folders are created with a unique name (mkdir is atomic), every file
is written atomically, `latest` is swapped with a rename, and index.md is derived data that
`python report.py --rebuild-index` recreates from the folders at any time. Any number of processes may
share the folder: whatever changes the history holds its lock (results/locks.py), and --keep-all 0
removes only runs that started earlier and that no process writes any more. A run folder moved to
another disk and linked back counts like any other.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import quote

from . import locks
from .atomic import overwrite_in_place, write_json_atomic, write_text_atomic
from .record import SUMMARY_FILE, ForeignSummary, RunSummary, read_summary
from ..secrets import redact

log = logging.getLogger(__name__)

INDEX_FILE = "index.md"
LATEST_LINK = "latest"
MAX_CELL = 200  # characters of one index cell (a crafted summary may hold megabytes in a field)


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
    """One run folder of the history (or a link to one): its summary, or why it has none we can read."""

    path: Path
    summary: RunSummary | None
    problem: str | None = None

    @property
    def started_at(self) -> str:
        return (self.summary.started_at if self.summary else "") or self.path.name[:15]

    @property
    def is_link(self) -> bool:
        """A run folder moved elsewhere (another disk) and linked back: it counts like any other."""
        return self.path.is_symlink()


def _looks_like_run(path: Path) -> bool:
    return path.name[:8].isdigit() and path.name[8:9] == "-"


def run_folder_names(results_dir: Path) -> set[str]:
    """The run folders made in results_dir itself (links to runs elsewhere left out): compared before and after
    a run.py child process, the difference is the folder that child made. Empty when it cannot be read."""
    try:
        return {p.name for p in results_dir.iterdir() if _looks_like_run(p) and p.is_dir() and not p.is_symlink()}
    except OSError:
        return set()


def _entry(child: Path) -> RunEntry | None:
    """The history's view of one child of the results folder; None for what is not a run."""
    if child.name.startswith(".") or child.name == LATEST_LINK:
        return None
    try:
        if not child.is_dir():
            if child.is_symlink() and _looks_like_run(child):  # its disk is not mounted, or it was deleted
                return RunEntry(child, None, f"a link to {os.readlink(child)}, which is missing")
            return None
    except OSError as exc:  # a link loop, a folder we may not look into
        return RunEntry(child, None, f"cannot be read ({exc.strerror or exc})") if _looks_like_run(child) else None
    try:
        return RunEntry(child, read_summary(child))
    except ForeignSummary as exc:
        if os.path.lexists(child / SUMMARY_FILE) or _looks_like_run(child):
            return RunEntry(child, None, str(exc))
    return None


def iter_runs(results_dir: Path) -> Iterator[RunEntry]:
    """Every run folder (a directory, or a link to one, with a summary.json or named like a run), any order;
    never raises for a folder's content: an unreadable or foreign summary is reported in RunEntry.problem.
    A folder reached both directly and through a link is listed once, as the folder."""
    try:
        children = sorted(Path(results_dir).iterdir(), key=lambda p: (p.is_symlink(), p.name))
    except OSError:
        return
    seen: set[str] = set()
    for child in children:
        entry = _entry(child)
        if entry is None:
            continue
        try:
            real = os.path.realpath(child)
        except OSError:
            real = str(child)
        if real in seen:
            continue
        seen.add(real)
        yield entry


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
    with locks.history_lock(results_dir):
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
    """A table cell: one line (a newline would end the row), of a sane length, `|` escaped."""
    if value is None or value == "":
        return "–"
    text = " ".join(str(value).split())
    if len(text) > MAX_CELL:
        text = text[:MAX_CELL - 1] + "…"
    return text.replace("|", "\\|")


def index_row(entry: RunEntry) -> list[str]:
    """One index line: date, run, model, category, scenario, mode, headline, validity, accuracy."""
    s = entry.summary
    name = _cell(entry.path.name)
    if s is None:
        return [_cell(entry.path.name[:15]), name, *["–"] * 5, _cell(f"UNREADABLE: {entry.problem}"), "–"]
    metric = f"{s.headline_value:,.2f} {s.headline_unit}" if s.headline_value is not None else None
    validity = s.performance_verdict if s.status == "completed" else s.shown_status.upper()
    return [_cell(entry.started_at.replace("T", " ")[:19]), f"[{name}]({quote(entry.path.name)}/report.md)",
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


def rebuild_index(results_dir: Path, wait_s: float | None = None) -> Path:
    """Rewrite index.md (and latest, if its target is gone) from the run folders, under the history lock
    (the last writer then always has the newest view). A folder it cannot read gets one warning line."""
    path = results_dir / INDEX_FILE
    results_dir.mkdir(parents=True, exist_ok=True)
    with locks.history_lock(results_dir, wait_s=wait_s):
        entries = history(results_dir)
        for entry in entries:
            if entry.problem:
                log.warning("%s: listed as unreadable in %s (%s)", entry.path, INDEX_FILE, entry.problem)
        write_text_atomic(path, render_index(entries))
        link = results_dir / LATEST_LINK
        readable = [e for e in entries if e.summary is not None]
        if readable and not link.exists():
            update_latest(results_dir, readable[0].path)
    return path


_RUN_NAME = re.compile(r"^(\d{8}-\d{6})-.*?(?:-(\d+))?$")


def _timestamp(text: str, fmt: str | None = None) -> float | None:
    try:
        when = dt.datetime.strptime(text, fmt) if fmt else dt.datetime.fromisoformat(text)
        return when.timestamp()
    except (ValueError, TypeError, OverflowError, OSError):
        return None


def start_order(entry: RunEntry) -> tuple[float, str, int] | None:
    """When a run started, as a sortable key: its summary's start (to the second; else its folder name's
    stamp), then its folder's stamp and `-N` suffix, which order the folders made in the same second
    (new_run_dir makes them one after another). None when neither the summary nor the name says."""
    match = _RUN_NAME.match(entry.path.name)
    stamp, n = (match.group(1), int(match.group(2) or 1)) if match else ("", 1)
    started = _timestamp(entry.summary.started_at) if entry.summary else None
    if started is None and stamp:
        started = _timestamp(stamp, "%Y%m%d-%H%M%S")
    return None if started is None else (started, stamp, n)


def run_finished(entry: RunEntry) -> bool:
    """Is nothing writing in this run any more? Its run lock says so; a run without one (written before
    the lock existed, or on a file system without locks) by its status and, if `running`, its pid."""
    held = locks.run_in_progress(entry.path)
    if held is not None:
        return not held
    return entry.summary is not None and (entry.summary.status != "running" or entry.summary.process_gone)


@dataclass(frozen=True)
class Removal:
    """An earlier run that --keep-all 0 removed: its folder, or, for a link, only the link."""

    name: str
    link_target: str | None = None

    def line(self) -> str:
        if self.link_target is None:
            return self.name
        return f"{self.name} (a link: only the link; its target {self.link_target} is left as it is)"


def _removable(entry: RunEntry, keep: Path, keep_key: tuple[float, str, int] | None, category: str,
               scenario: str) -> bool:
    s = entry.summary
    if s is None or s.category != category or s.scenario != scenario:
        return False  # a folder that is not a run of ours, or of another benchmark, is never deleted
    if os.path.realpath(entry.path) == os.path.realpath(keep):
        return False
    key = start_order(entry)
    return keep_key is not None and key is not None and key < keep_key and run_finished(entry)


def remove_earlier_runs(results_dir: Path, keep: Path, category: str, scenario: str) -> list[Removal]:
    """--keep-all 0: remove the runs of the same category and scenario that started before `keep` and have
    finished; never one still being written. A run linked in from elsewhere loses only its link: the
    folder it points to (another disk's) is not touched. A folder is first renamed out of the history
    (under the history lock, so no reader sees half of it), then deleted."""
    removed: list[Removal] = []
    doomed: list[Path] = []
    with locks.history_lock(results_dir):
        try:
            keep_key = start_order(RunEntry(keep, read_summary(keep)))
        except ForeignSummary:
            keep_key = start_order(RunEntry(keep, None))
        for entry in iter_runs(results_dir):
            if not _removable(entry, keep, keep_key, category, scenario):
                continue
            try:
                if entry.is_link:
                    target = os.readlink(entry.path)
                    os.unlink(entry.path)
                    removed.append(Removal(entry.path.name, target))
                else:
                    hidden = results_dir / f".removing-{entry.path.name}-{os.getpid()}"
                    os.rename(entry.path, hidden)
                    doomed.append(hidden)
                    removed.append(Removal(entry.path.name))
            except OSError as exc:
                log.warning("--keep-all 0: %s not removed (%s)", entry.path, exc.strerror or exc)
    for hidden in doomed:
        shutil.rmtree(hidden, ignore_errors=True)
        if os.path.lexists(hidden):
            log.warning("--keep-all 0: %s could not be deleted entirely; delete it by hand", hidden)
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
