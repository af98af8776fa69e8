"""PNG plots of a run (matplotlib, Agg). LoadGen's percentiles are the official figures; the
per-sample distributions come from the SUT's own clock and are labelled so."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Sequence

log = logging.getLogger(__name__)


def _plt() -> Any:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _save(fig: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    tmp.replace(path)


def throughput_history(path: Path, points: Sequence[tuple[str, float]], unit: str, title: str) -> Path:
    """Bar chart of this run's headline throughput next to earlier runs of the same kind (oldest left)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(5.0, 0.9 * len(points) + 2), 3.6))
    labels = [p[0] for p in points]
    values = [p[1] for p in points]
    colors = ["#9bb7d4"] * (len(points) - 1) + ["#1f5f9e"]
    bars = ax.bar(range(len(points)), values, color=colors, width=0.6)
    for b, v in zip(bars, values):
        ax.annotate(f"{v:,.0f}", (b.get_x() + b.get_width() / 2, b.get_height()), ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(points)), labels, rotation=30, ha="right", fontsize=7)
    ax.set_ylabel(unit)
    ax.set_title(title + " (this run dark, earlier runs light)", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    _save(fig, path)
    plt.close(fig)
    return path


def latency_cdf(path: Path, latencies_ms: Sequence[float], loadgen_p: dict[str, float | None], title: str) -> Path:
    """CDF of per-sample latency (SUT clock) with LoadGen's p90/p99 marked."""
    import numpy as np

    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.8))
    x = np.sort(np.asarray(latencies_ms, dtype=float))
    if len(x):
        ax.plot(x, np.arange(1, len(x) + 1) / len(x), color="#1f5f9e", label="per-sample latency (SUT clock)")
    for name, value, style in (("LoadGen p90", loadgen_p.get("90.00"), "--"), ("LoadGen p99", loadgen_p.get("99.00"), ":")):
        if value is not None:
            ax.axvline(value, color="#c0392b", linestyle=style, label=f"{name} = {value:,.1f} ms")
    ax.set_xlabel("latency from issue to last token (ms)")
    ax.set_ylabel("fraction of samples")
    ax.set_ylim(0, 1.02)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    _save(fig, path)
    plt.close(fig)
    return path


def token_latency_hist(path: Path, values_ms: Sequence[float], limit_ms: float | None, p99_ms: float | None,
                       what: str, title: str) -> Path:
    """Histogram of TTFT or TPOT (SUT clock) with the scenario's p99 limit and LoadGen's p99 drawn."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.8))
    data_max = max([*values_ms, p99_ms or 0.0, 1e-3])
    # Keep the distribution readable: the limit is drawn in range only when it is near the data.
    limit_in_range = limit_ms is not None and limit_ms <= 3 * data_max
    x_max = max(data_max, limit_ms if limit_in_range else 0.0) * 1.08
    if values_ms:
        ax.hist(values_ms, bins=50, range=(0.0, x_max), color="#6c9bd2", edgecolor="white",
                label=f"{what} per sample (SUT clock)")
    if p99_ms is not None:
        ax.axvline(p99_ms, color="#1f5f9e", linestyle="--", label=f"LoadGen p99 = {p99_ms:,.2f} ms")
    if limit_in_range:
        ax.axvline(limit_ms, color="#c0392b", linewidth=2, label=f"MLPerf p99 limit = {limit_ms:,.0f} ms")
    elif limit_ms is not None:
        ax.annotate(f"MLPerf p99 limit {limit_ms:,.0f} ms is off the scale\n"
                    f"({limit_ms / data_max:,.1f}x the largest value shown) →",
                    xy=(0.98, 0.50), xycoords="axes fraction", ha="right", fontsize=8, color="#c0392b")
    ax.set_xlim(0, x_max)
    ax.set_xlabel(f"{what} (ms)")
    ax.set_ylabel("samples")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    _save(fig, path)
    plt.close(fig)
    return path


def qps_search(path: Path, probes: Sequence[dict[str, Any]], ttft_limit_ms: float, tpot_limit_ms: float,
               chosen_qps: float | None, title: str) -> Path:
    """p99 TTFT and p99 TPOT of every search probe against target QPS, limits drawn, chosen point marked."""
    plt = _plt()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.8))
    pts = sorted((p for p in probes if p.get("p99_ttft_ms") is not None), key=lambda p: p["qps"])
    for ax, key, limit, name in ((a1, "p99_ttft_ms", ttft_limit_ms, "p99 TTFT"), (a2, "p99_tpot_ms", tpot_limit_ms, "p99 TPOT")):
        xs = [p["qps"] for p in pts]
        ys = [p[key] for p in pts]
        ax.plot(xs, ys, color="#1f5f9e", marker="o", label=f"{name} per probe")
        ax.scatter([p["qps"] for p in pts if not p["passed"]], [p[key] for p in pts if not p["passed"]],
                   color="#c0392b", zorder=3, label="failed probe (over a limit or capacity)")
        ax.axhline(limit, color="#c0392b", linewidth=2, label=f"limit {limit:,.0f} ms")
        if chosen_qps is not None:
            ax.axvline(chosen_qps, color="#27ae60", linestyle="--", label=f"chosen {chosen_qps:,.4g} QPS")
        ax.set_xlabel("target QPS (queries/s)")
        ax.set_ylabel(f"{name} (ms)")
        ax.set_yscale("log")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    _save(fig, path)
    plt.close(fig)
    return path


def tune_candidates(path: Path, rows: Sequence[tuple[str, float | None, bool, str]], unit: str, title: str) -> Path:
    """A tune's candidates in the order measured: what each scored (or a note on why not), the choice dark."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, max(2.5, 0.32 * len(rows) + 1.2)))
    values = [v or 0.0 for _, v, _, _ in rows]
    colors = ["#1f5f9e" if chosen else "#9bb7d4" for _, _, chosen, _ in rows]
    ax.barh(range(len(rows)), values, color=colors, height=0.6)
    for i, (_, v, _, note) in enumerate(rows):
        ax.annotate(note if v is None else f"{v:,.4g}", (values[i], i), va="center", fontsize=7,
                    xytext=(3, 0), textcoords="offset points")
    ax.set_yticks(range(len(rows)), [f"{i + 1}. {label}" for i, (label, _, _, _) in enumerate(rows)], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(unit)
    ax.set_title(title + " (the choice dark)", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    _save(fig, path)
    plt.close(fig)
    return path
