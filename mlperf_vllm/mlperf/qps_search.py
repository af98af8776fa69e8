"""Find the highest Server/Interactive QPS whose p99 TTFT and p99 TPOT stay within the limits.

Pure logic over a probe function (QPS -> ProbeResult): bracket (start, double until a probe fails;
halve while the first ones fail), then bisect until the bracket is within the tolerance. A known
ceiling (the last Offline samples/s: no Server rate can exceed it) bounds the search. The result is
only a candidate: the caller confirms it with a full LoadGen run before reporting it.

A probe is judged on its steady state, not its start: at a load near capacity every request lasts
seconds (128 tokens x 70 ms on an H200), and as the batch fills each request gets slower, so the ramp
lasts several request latencies. Only requests issued in the probe's second half count, and the probe
lasts STEADY_LATENCIES p90 latencies of that window (it is repeated longer when it did not). Whether
its backlog grows is a measurement with its spread (steady.py), not a threshold on noise.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Sequence

from .steady import (INFLIGHT_GROWTH_FLOOR, STEADY_LATENCIES, Z_OVER, Z_UNSURE, SteadyState,  # noqa: F401
                     steady_state)

MAX_HALVINGS = 5  # a start 32x too high is still found; an engine failing at 1/32 of it cannot serve this limit
PROBE_HEADROOM = 0.9  # a probe passes under this share of each limit: a full run's p99 sees a longer tail
# Confirmation step after an INVALID full run, from how far its p99 missed the limit (m = p99 / limit).
# TTFT explodes with queueing just past capacity: a small step, never above the rate the run completed
# (fitted: H200 Server 57.6 QPS, m 2.1 -> 54.3; 56 and 55 QPS were VALID). TPOT grows with the batch,
# smoothly: QPS scales as TPOT^0.66 near the limit (H200 Interactive, full runs of 13,368 samples:
# 44.5 QPS 29.6 ms VALID, 46.6 QPS 30.6 ms, 48.75 QPS 34.4 ms, 52.34 QPS 37.9 ms), aiming at 97% of it.
TTFT_STEP_BASE, TTFT_STEP_PER_LN_MISS = 0.015, 0.05
TPOT_QPS_ELASTICITY, TPOT_TARGET_SHARE = 0.66, 0.97
MAX_STEP = 0.3
# A first probe failed on p99 TPOT alone: the next goes where that law puts this share of the limit, not to
FIRST_STEP_AIM = 0.8  # half the rate (H200 Interactive: 51.53 QPS at 27.1 ms -> 47.6, where halving tried 25.8)


def probe_seconds(minimum_s: float, maximum_s: float, p90_latency_ms: float | None) -> float:
    """How long the next probe must last to reach its steady state, from the latency seen so far."""
    need = STEADY_LATENCIES * (p90_latency_ms or 0.0) / 1000
    return round(min(maximum_s, max(minimum_s, need)), 1)


@dataclass(frozen=True)
class Judgement:
    """A probe's verdict, why, and whether it is final (False: repeat the probe longer first)."""

    passed: bool
    overloaded: bool
    final: bool
    why: str


def judge(steady: SteadyState | None, p99_ttft_ms: float | None, p99_tpot_ms: float | None, errors: int,
          drained: bool, ttft_limit_ms: float, tpot_limit_ms: float, longest: bool,
          headroom: float = PROBE_HEADROOM) -> Judgement:
    """Judge a probe from its steady window (LoadGen's whole-probe p99s when it has none).

    Errors, latencies over `headroom` of a limit and a backlog that did not drain are final at any
    length (a longer probe only gets worse). A pass, a growing backlog and an unsure one are final only
    once the probe reached its steady state, or when it is as long as a probe may be (`longest`): a
    ramp still filling the batch also raises the count in flight.
    """
    if errors:
        return Judgement(False, False, True, f"{errors} errors")
    if not drained:
        return Judgement(False, True, True, "its backlog did not drain within the probe's duration")
    ttft = steady.p99_ttft_ms if steady is not None and steady.p99_ttft_ms is not None else p99_ttft_ms
    tpot = steady.p99_tpot_ms if steady is not None and steady.p99_tpot_ms is not None else p99_tpot_ms
    if ttft is None or tpot is None:
        return Judgement(False, False, True, "no TTFT or TPOT was measured")
    over = [f"p99 {name} {v:.4g} ms" for name, v, lim in (("TTFT", ttft, ttft_limit_ms), ("TPOT", tpot, tpot_limit_ms))
            if v >= headroom * lim]
    settled = steady is not None and (steady.long_enough or longest)
    growth = "" if steady is None else (f"in flight {steady.inflight_early:.1f} -> {steady.inflight_late:.1f} "
                                        f"({steady.growth_z:+.1f} spreads)")
    if over:  # the latency decides; a backlog that grew as well is named, not weighed
        also = f"; backlog growing as well: {growth}" if settled and steady.backlog_growing else ""
        return Judgement(False, False, True, f"{', '.join(over)} over {headroom:.0%} of the limit{also}")
    if steady is None:
        return Judgement(True, False, True, "too few requests to judge the backlog")
    if steady.backlog_growing:
        return Judgement(False, True, settled, f"backlog growing: {growth}")
    if steady.backlog_unsure and not longest:
        return Judgement(True, False, False, f"backlog unsure: {growth}")
    if not settled:
        return Judgement(True, False, False, f"before its steady state: {growth}")
    return Judgement(True, False, True, f"stationary: {growth}")


def failed_for_load(qps: float, record: dict[str, Any], ttft_limit_ms: float, tpot_limit_ms: float,
                    tolerance: float) -> bool:
    """Whether an INVALID full run failed for its load (latency over or near a limit, or it could not keep
    up), which a lower QPS fixes; not e.g. for too few queries or a too-short duration."""
    checks = record.get("validity_checks") or {}
    if checks.get("perf_constraints_met") is False:
        return True
    near = [(record.get("ttft_ns") or {}).get("99.00"), (record.get("tpot_ns") or {}).get("99.00")]
    limits = [ttft_limit_ms, tpot_limit_ms]
    if any(v is not None and v / 1e6 > PROBE_HEADROOM * lim for v, lim in zip(near, limits)):
        return True
    completed = (record.get("throughput") or {}).get("completed_samples_per_s")
    return bool(completed) and completed < (1 - 2 * tolerance) * qps and checks.get("early_stopping_met") is False


def early_stopping_rerun(record: dict[str, Any], timings: Sequence[dict[str, Any]], limits: Any,
                         max_growth: float) -> tuple[int, float] | None:
    """(queries needed, share over a limit) when a full run failed LoadGen's early stopping only for too
    few queries: its p99s met the limits, and with the share of its queries over a limit that it showed,
    a run of at most max_growth times as many queries would pass. None when it failed otherwise, or when
    so many queries were over a limit that no feasible length passes (a load failure: lower the QPS)."""
    from .. import rules

    checks = record.get("validity_checks") or {}
    if checks.get("early_stopping_met") is not False or any(
            checks.get(k) is False for k in ("perf_constraints_met", "min_duration_met", "min_queries_met")):
        return None
    done = [t for t in timings if t.get("ttft_ms") is not None]
    n = int(record.get("query_count") or len(done))
    if not done or not n:
        return None
    over = max(sum(1 for t in done if t["ttft_ms"] >= limits.ttft_ms),
               sum(1 for t in done if t.get("tpot_ms") is not None and t["tpot_ms"] >= limits.tpot_ms))
    # Sized with a fifth more over the limit than this run showed, and never below the search's own share.
    share = max(1.2 * over / n, 0.005)
    if share >= 0.95 * (1 - rules.EARLY_STOPPING_PERCENTILE):
        return None
    need = rules.early_stopping_queries_for_share(share)
    return (need, over / n) if n < need <= max_growth * n else None


def next_confirmation_qps(qps: float, record: dict[str, Any], ttft_limit_ms: float, tpot_limit_ms: float,
                          tolerance: float) -> tuple[float, str]:
    """The QPS to try after an INVALID full run at `qps`, and why: a step sized by how far it missed,
    never above the rate the run actually completed (an overloaded run measures the capacity)."""
    p99 = {"ttft": (record.get("ttft_ns") or {}).get("99.00"), "tpot": (record.get("tpot_ns") or {}).get("99.00")}
    limit = {"ttft": ttft_limit_ms, "tpot": tpot_limit_ms}
    misses = {k: (v / 1e6) / limit[k] for k, v in p99.items() if v is not None and limit[k]}
    steps = {"ttft": TTFT_STEP_BASE + TTFT_STEP_PER_LN_MISS * math.log(misses["ttft"]) if misses.get("ttft", 0) > 1
             else 0.0,
             "tpot": 1 - (TPOT_TARGET_SHARE / misses["tpot"]) ** TPOT_QPS_ELASTICITY if misses.get("tpot", 0) > 1
             else 0.0}
    worst = max(steps, key=lambda k: steps[k])
    step, why = 2 * tolerance, "not VALID"
    if steps[worst] > 0:
        step, why = steps[worst], f"p99 {worst.upper()} {misses[worst]:.2f}x its limit"
    step = min(MAX_STEP, max(2 * tolerance, step))
    nxt = qps * (1 - step)
    completed = (record.get("throughput") or {}).get("completed_samples_per_s")
    if completed and completed * (1 - tolerance) < nxt:
        nxt = completed * (1 - tolerance)
        why += f"; completed only {completed:.4g}/s"
    return nxt, f"{why}: step {1 - nxt / qps:.1%}"


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
    overloaded: bool = False  # the backlog grew through the steady window: the queue grows at this rate
    steady_p99_ttft_ms: float | None = None
    steady_p99_tpot_ms: float | None = None
    inflight: tuple[float, float] | None = None  # mean in flight over the window's first and second half
    probe_s: float | None = None  # the probe's minimum duration
    growth_z: float | None = None  # the in-flight rise in Poisson spreads (SteadyState.growth_z)
    drained: bool = True  # False: its backlog was cancelled after the drain bound
    final: bool = True  # False: judged before its steady state (a longer probe may decide otherwise)
    why: str = ""
    machine: dict[str, Any] | None = None  # the host's and GPUs' state during the probe (mlperf/machine.py)

    def tpot_alone(self, ttft_limit_ms: float, headroom: float = PROBE_HEADROOM) -> float | None:
        """Its p99 TPOT (the steady window's where it has one) when TPOT alone can decide its verdict: no
        errors, no backlog, TTFT under `headroom` of its limit. None otherwise."""
        ttft = self.steady_p99_ttft_ms if self.steady_p99_ttft_ms is not None else self.p99_ttft_ms
        tpot = self.steady_p99_tpot_ms if self.steady_p99_tpot_ms is not None else self.p99_tpot_ms
        if self.errors or self.overloaded or not self.drained or ttft is None or ttft >= headroom * ttft_limit_ms:
            return None
        return tpot if tpot and tpot > 0 else None

    @property
    def verdict(self) -> str:
        if self.passed:
            return "within limits"
        if self.errors:
            return "errors"
        if not self.drained:
            return "over capacity (backlog left at the end)"
        return "over capacity (backlog growing)" if self.overloaded else "over the limits"


@dataclass
class SearchResult:
    """Every probe, the bracket, and the best passing QPS (None when none passed)."""

    probes: list[ProbeResult] = field(default_factory=list)
    best_qps: float | None = None
    lowest_failing_qps: float | None = None
    stopped_by: str = "tolerance"  # tolerance | ceiling | budget | floor
    tolerance: float = 0.02
    ceiling_qps: float | None = None
    settle_probes: list[ProbeResult] = field(default_factory=list)  # the long probes (qps_settle)
    settled_qps: float | None = None  # the rate they pick for the confirmation (None: best_qps)
    settle_why: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain data for summary.json."""
        d = asdict(self)
        for p, probe in [*zip(d["probes"], self.probes), *zip(d["settle_probes"], self.settle_probes)]:
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


def tpot_step(r: ProbeResult, ttft_limit_ms: float, tpot_limit_ms: float) -> float | None:
    """Where the TPOT law puts FIRST_STEP_AIM of the limit below a probe failed on TPOT alone (None: halve)."""
    tpot = r.tpot_alone(ttft_limit_ms)
    return None if tpot is None else r.qps * (FIRST_STEP_AIM * tpot_limit_ms / tpot) ** TPOT_QPS_ELASTICITY


def search(probe: Callable[[float], ProbeResult], start_qps: float, tolerance: float = 0.02,
           ceiling_qps: float | None = None, budget_s: float | None = None,
           clock: Callable[[], float] = time.monotonic,
           step: Callable[[ProbeResult], float | None] | None = None,
           estimate_qps: float | None = None) -> SearchResult:
    """Bracket, then bisect to within `tolerance` (relative) of the highest passing QPS. The bracket holds
    the rates as the probes ran them (ProbeResult.qps: LoadGen's, as user.conf writes it), not as asked.
    After the first failure, `step` (tpot_step) may place the next probe above half the rate. Without a
    ceiling, an estimate of the engine's rate is probed itself on the way up, then doubled past."""
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

    q, halvings = (min(start_qps, ceiling_qps) if ceiling_qps else start_qps), 0
    while hi is None or lo is None:
        r = run(q)
        if r is None:
            break
        if r.passed:
            lo = r.qps
            if ceiling_qps is not None and q >= ceiling_qps:
                result.stopped_by = "ceiling"
                break
            if hi is None and ceiling_qps:
                q = min(q * 2, ceiling_qps)
            elif hi is None:
                q = min(q * 2, estimate_qps) if estimate_qps and q < estimate_qps * (1 - tolerance) else q * 2
        else:
            hi = r.qps
            if lo is None:
                halvings += 1
                if halvings > MAX_HALVINGS:
                    result.stopped_by = "floor"
                    break
                aim = step(r) if step is not None and halvings == 1 else None
                q = max(q / 2, min(aim, r.qps * (1 - tolerance))) if aim else q / 2
    while lo is not None and hi is not None and (hi - lo) / hi > tolerance and result.stopped_by != "budget":
        mid = (lo + hi) / 2
        r = run(mid)
        if r is None:
            break
        if r.passed:
            lo = r.qps
        else:
            hi = r.qps
    result.best_qps, result.lowest_failing_qps = lo, hi
    return result


def climb_target(valid_qps: float, record: dict[str, Any], failed_qps: float, tpot_limit_ms: float) -> float:
    """After a VALID full run below a failed one: the midpoint, but no higher than the TPOT model says
    the VALID run leaves room for (TPOT grows smoothly with the load; TTFT gives no such warning)."""
    target = (valid_qps + failed_qps) / 2
    tpot = (record.get("tpot_ns") or {}).get("99.00")
    if tpot:
        target = min(target, valid_qps * (TPOT_TARGET_SHARE * tpot_limit_ms / (tpot / 1e6)) ** TPOT_QPS_ELASTICITY)
    return target
