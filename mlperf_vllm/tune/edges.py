"""The project's QPS search (mlperf/qps_search.py) as the tuner's EdgeSearch, over any probe function.

A real adapter gives it a probe that runs one LoadGen Server test at a QPS on the running engine
(orchestrate/search.py's LoadGenRunner.probe); the tests give it the simulated engine's.
"""

from __future__ import annotations

from typing import Callable

from ..mlperf import qps_search as qs
from .seam import Edge, Limits


def edge_of(result: qs.SearchResult, limits: Limits) -> Edge:
    """The search's highest passing QPS, with the constraint nearest its limit there and the margin to it."""
    if result.best_qps is None:
        return Edge(None)
    probe = next(p for p in reversed(result.probes) if p.passed and p.qps == result.best_qps)
    ttft = probe.steady_p99_ttft_ms if probe.steady_p99_ttft_ms is not None else probe.p99_ttft_ms
    tpot = probe.steady_p99_tpot_ms if probe.steady_p99_tpot_ms is not None else probe.p99_tpot_ms
    if ttft is None or tpot is None:
        return Edge(result.best_qps)
    limiting, margin = limits.margin(ttft, tpot)
    return Edge(result.best_qps, limiting, margin)


def search_edge(probe: Callable[[float], qs.ProbeResult], start_qps: float, limits: Limits,
                tolerance: float = 0.02, ceiling_qps: float | None = None,
                budget_s: float | None = None) -> Edge:
    """Bracket and bisect with qps_search.search, then read the edge off its probes."""
    return edge_of(qs.search(probe, start_qps, tolerance=tolerance, ceiling_qps=ceiling_qps, budget_s=budget_s),
                   limits)
