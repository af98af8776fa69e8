"""report.py: re-render a run, compare two runs, or rebuild the results index."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from ..errors import EXIT_OK, EXIT_USAGE, BenchError
from ..results import store
from ..results.atomic import write_text_atomic
from ..results.record import ForeignSummary, RunSummary, read_summary
from .console import configure_console_logging, error_line


def build_parser() -> argparse.ArgumentParser:
    """report.py's flags."""
    p = argparse.ArgumentParser(prog="report.py", description="Re-render run reports, compare runs, rebuild the index.")
    p.add_argument("run_dir", nargs="?", type=Path, help="a run folder to re-render (report.md and plots)")
    p.add_argument("--compare", nargs=2, type=Path, metavar=("RUN_A", "RUN_B"),
                   help="print and write a side-by-side comparison of two runs (B against A)")
    p.add_argument("--rebuild-index", action="store_true", help="rebuild index.md and latest from the run folders")
    p.add_argument("--results-dir", type=Path, default=Path("results"), help="the results directory (for --rebuild-index)")
    return p


def _load(run_dir: Path) -> RunSummary:
    if not run_dir.is_dir():
        raise ValueError(f"{run_dir} is not a run folder")
    try:
        return read_summary(run_dir)
    except ForeignSummary as exc:
        raise ValueError(f"{run_dir}: {exc} (an interrupted or foreign folder?)") from None


def scoring_command(run_dir: Path, summary: RunSummary) -> str | None:
    """The run.py command that scores the complete accuracy log a stopped run left, or None."""
    import json
    import shlex

    log = run_dir / "Accuracy" / "mlperf_log_accuracy.json"
    want = summary.data["config"].get("total_sample_count")
    try:
        entries = json.loads(log.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(entries, list) or len({e.get("qsl_idx") for e in entries if isinstance(e, dict)}) != want:
        return None
    argv = list(summary.data.get("meta", {}).get("command") or ["run.py"])[1:]
    keep, skip = [], False
    for arg in argv:  # the same model and data, scoring only
        if skip:
            skip = False
            continue
        if arg in ("--mode", "--results-dir", "--accuracy-log"):
            skip = True
            continue
        if arg.startswith(("--mode=", "--results-dir=", "--accuracy-log=")) or arg == "--compliance-test06":
            continue
        keep.append(arg)
    return shlex.join(["python", "run.py", *keep, "--mode", "accuracy", "--accuracy-log", str(log),
                       "--results-dir", str(run_dir.parent)])


def _left_behind(run_dir: Path, summary: RunSummary) -> list[str]:
    lines = [f"note: this run's process is gone (pid {summary.pid} on {summary.host}): it was killed or crashed "
             "and is shown as stopped in the index."]
    command = scoring_command(run_dir, summary)
    if command:
        lines.append(f"Its accuracy log is complete; score it into a new run folder with:\n  {command}")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of report.py."""
    configure_console_logging()
    args = build_parser().parse_args(argv)
    try:
        if args.rebuild_index:
            if not args.results_dir.is_dir():
                what = "is a file, not a folder" if args.results_dir.exists() else "does not exist"
                raise ValueError(f"--results-dir {args.results_dir} {what}")
            path = store.rebuild_index(args.results_dir)  # one warning line per folder it cannot read
            print(f"Index: {path} ({len(store.history(args.results_dir))} runs)")
            return EXIT_OK
        if args.compare:
            from ..report import compare
            a, b = (_load(p) for p in args.compare)
            if a.kind != b.kind:
                raise ValueError(f"cannot compare a {a.kind} run with a {b.kind} run")
            text = compare.render(a.data, b.data)
            print(text)
            out = args.compare[1].resolve().parent / f"compare-{args.compare[0].resolve().name}-vs-{args.compare[1].resolve().name}.md"
            write_text_atomic(out, text)
            print(f"Written: {out}")
            return EXIT_OK
        if args.run_dir is None:
            raise ValueError("give a run folder, --compare RUN_A RUN_B, or --rebuild-index")
        if _load(args.run_dir).kind == "mmlu":
            from ..report.mmlu import render_mmlu
            render_mmlu(args.run_dir)
            print(f"Report: {args.run_dir / 'report.md'}")
            return EXIT_OK
        from ..report.render import render_run
        summary = _load(args.run_dir)
        made = render_run(args.run_dir)
        print(f"Report: {args.run_dir / 'report.md'} ({len(made)} plots)")
        if summary.process_gone:
            for line in _left_behind(args.run_dir, summary):
                print(line)
        return EXIT_OK
    except BenchError as exc:  # a write the disk refused (full, read-only): exit 3
        print(error_line(str(exc)), file=sys.stderr)
        return exc.exit_code
    except (ValueError, OSError) as exc:
        print(error_line(str(exc)), file=sys.stderr)
        return EXIT_USAGE
    except (KeyError, TypeError, AttributeError) as exc:  # a summary of our shape with odd values inside
        print(error_line(f"the run's summary.json has unexpected content ({type(exc).__name__}: {exc}); "
                         "it was not written by this version of run.py"), file=sys.stderr)
        return EXIT_USAGE
