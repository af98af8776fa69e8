"""Find the highest Server/Interactive QPS whose p99 TTFT and p99 TPOT stay within the limits.

Pure logic over a probe function (QPS -> ProbeResult): bracket (start, double until a probe fails;
halve while the first ones fail), then bisect until the bracket is within the tolerance. A known
ceiling (the last Offline samples/s: no Server rate can exceed it) bounds the search. The result is
only a candidate: the caller confirms it with a full LoadGen run before reporting it.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

MAX_HALVINGS = 5  # a start 32x too high is still found; an engine failing at 1/32 of it cannot serve this limit


@dataclass(frozen=True)
class ProbeResult:
    """One short LoadGen Server run at a target QPS."""

    qps: float
    p99_ttft_ms: float | None
    p99_tpot_ms: float | None
    completed_tokens_per_s: float | None
    errors: int
    passed: bool
    seconds: float
    log_dir: str = ""
    overloaded: bool = False  # TTFT or TPOT kept climbing through the probe: queue or batch grows at this rate

    @property
    def verdict(self) -> str:
        if self.passed:
            return "within limits"
        if self.errors:
            return "errors"
        return "over capacity (TTFT or TPOT growing)" if self.overloaded else "over the limits"


@dataclass
class SearchResult:
    """Every probe, the bracket, and the best passing QPS (None when none passed)."""

    probes: list[ProbeResult] = field(default_factory=list)
    best_qps: float | None = None
    lowest_failing_qps: float | None = None
    stopped_by: str = "tolerance"  # tolerance | ceiling | budget | floor
    tolerance: float = 0.02
    ceiling_qps: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain data for summary.json."""
        d = asdict(self)
        for p, probe in zip(d["probes"], self.probes):
            p["verdict"] = probe.verdict
        return d


def passes(record: dict[str, Any], ttft_limit_ms: float, tpot_limit_ms: float) -> tuple[bool, float | None, float | None]:
    """A probe passes when p99 TTFT and p99 TPOT are under the limits (strict <, as the checker) and no errors."""
    ttft, tpot = record["ttft_ns"].get("99.00"), record["tpot_ns"].get("99.00")
    ttft_ms = None if ttft is None else ttft / 1e6
    tpot_ms = None if tpot is None else tpot / 1e6
    ok = (ttft_ms is not None and tpot_ms is not None and ttft_ms < ttft_limit_ms and tpot_ms < tpot_limit_ms
          and not record.get("num_errors"))
    return ok, ttft_ms, tpot_ms


def search(probe: Callable[[float], ProbeResult], start_qps: float, tolerance: float = 0.02,
           ceiling_qps: float | None = None, budget_s: float | None = None,
           clock: Callable[[], float] = time.monotonic) -> SearchResult:
    """Bracket, then bisect to within `tolerance` (relative) of the highest passing QPS."""
    result = SearchResult(tolerance=tolerance, ceiling_qps=ceiling_qps)
    t0 = clock()
    lo: float | None = None
    hi: float | None = None

    def run(q: float) -> ProbeResult | None:
        # Stop before a probe that the budget cannot hold (estimated from the longest probe so far).
        longest = max((p.seconds for p in result.probes), default=0.0)
        if budget_s is not None and clock() - t0 + longest > budget_s:
            result.stopped_by = "budget"
            return None
        r = probe(q)
        result.probes.append(r)
        return r

    q = min(start_qps, ceiling_qps) if ceiling_qps else start_qps
    halvings = 0
    while hi is None or lo is None:
        r = run(q)
        if r is None:
            break
        if r.passed:
            lo = q
            if ceiling_qps is not None and q >= ceiling_qps:
                result.stopped_by = "ceiling"
                break
            if hi is None:
                q = min(q * 2, ceiling_qps) if ceiling_qps else q * 2
        else:
            hi = q
            if lo is None:
                halvings += 1
                if halvings > MAX_HALVINGS:
                    result.stopped_by = "floor"
                    break
                q = q / 2
    while lo is not None and hi is not None and (hi - lo) / hi > tolerance and result.stopped_by != "budget":
        mid = (lo + hi) / 2
        r = run(mid)
        if r is None:
            break
        if r.passed:
            lo = mid
        else:
            hi = mid
    result.best_qps, result.lowest_failing_qps = lo, hi
    return result
