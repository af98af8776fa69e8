"""Render a run folder: report.md and plots/ from summary.json and the SUT's timing records.

Used by run.py at the end of a run and by `python report.py RUN_DIR` at any time later.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from ..results import store, timeline
from ..results.atomic import write_text_atomic
from ..results.record import RunSummary, read_summary
from . import markdown, plots
from .tune import plot_rows as tune_plot_rows
from .tune import plot_unit as tune_plot_unit

log = logging.getLogger(__name__)

def _real_ms(ns: Any) -> float | None:
    """ms, or None for a value LoadGen could not measure (INT64_MAX-like, from failed samples)."""
    return None if ns is None or float(ns) >= 86_400 * 10**9 else float(ns) / 1e6


def _history_points(run_dir: Path, s: RunSummary) -> list[tuple[str, float]]:
    points = []
    for entry in reversed(store.history(run_dir.parent)):
        o = entry.summary
        if (o is not None and entry.path.resolve() != run_dir.resolve() and o.status == "completed"
                and o.headline_value is not None and o.headline_unit == "tokens/s"
                and o.category == s.category and o.scenario == s.scenario):
            points.append((entry.path.name[:15], o.headline_value))
    points = points[-9:]
    points.append(("this run", float(s.headline_value or 0.0)))
    return points


def render_run(run_dir: Path) -> list[str]:
    """(Re)write report.md and the plots of one run; returns the plot file names."""
    record = read_summary(run_dir)  # ForeignSummary (a ValueError) when it is not a run summary
    s = record.data
    made: list[str] = []
    plot_dir = run_dir / "plots"
    cfg = s.get("config", {})
    title = f"{cfg.get('model_label')} · {cfg.get('category')} {cfg.get('scenario')}"
    head = s.get("headline") or {}
    if head.get("value") is not None and head.get("unit") == "tokens/s":
        plots.throughput_history(plot_dir / "throughput.png", _history_points(run_dir, record), "output tokens/s",
                                 f"Throughput, {title}")
        made.append("throughput.png")
    perf = (s.get("run") or {}).get("performance")
    rows = timeline.read_timings(run_dir / "Performance" / timeline.TIMINGS_FILE)
    through = None
    if perf and rows and cfg.get("scenario") != "offline":
        machine = timeline.read_machine(run_dir / "Performance" / timeline.MACHINE_FILE)
        through = timeline.analyse(rows, machine=machine)
        lg = perf["loadgen"]
        lat = [r["latency_ms"] for r in rows if r.get("latency_ms") is not None]
        p = {k: _real_ms(v) for k, v in lg["latency_ns"].items()}
        plots.latency_cdf(plot_dir / "latency_cdf.png", lat, p, f"Sample latency, {title}")
        made.append("latency_cdf.png")
        lim = s.get("limits", {})
        for key, what, limit_key, ns_key in (("ttft_ms", "TTFT", "p99_ttft_ms", "ttft_ns"),
                                             ("tpot_ms", "TPOT", "p99_tpot_ms", "tpot_ns")):
            vals = [r[key] for r in rows if r.get(key) is not None]
            p99 = lg[ns_key].get("99.00")
            name = f"{what.lower()}_hist.png"
            plots.token_latency_hist(plot_dir / name, vals, lim.get(limit_key), _real_ms(p99),
                                     what, f"{what} distribution, {title}")
            made.append(name)
    search = s.get("qps_search")
    if search and search.get("probes"):
        plots.qps_search(plot_dir / "qps_search.png", search["probes"], search["limits"]["p99_ttft_ms"],
                         search["limits"]["p99_tpot_ms"], search.get("confirmed_qps"), f"QPS search, {title}")
        made.append("qps_search.png")
    tune = s.get("tune")
    if isinstance(tune, dict) and tune.get("candidates"):
        plots.tune_candidates(plot_dir / "tune.png", tune_plot_rows(tune), tune_plot_unit(tune), f"Tune, {title}")
        made.append("tune.png")
    write_text_atomic(run_dir / "report.md", markdown.render(s, made, through))
    return made
