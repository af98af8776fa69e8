"""The QPS search's last stage: a few long probes at the top of the bracket, pooled, pick the rate to confirm.

A p99 over a short window is biased low and noisy. The worst moments of a long run (a burst of arrivals
whose prefills share the decode steps of every request in flight) are rare: a 15 s window at 40 QPS
holds five or six request lifetimes and mostly none of those moments, a 600 s run hundreds. On one
H200 (2026-12-01, Interactive, 2048-token steps) a 15 s probe at 40 QPS saw p99 TPOT 20.2 ms, the 600 s
run at the same rate 30.3 ms. A simulated batching engine shows the same shape (tests/sim_engine.py):
windows of 15, 30 and 90 s fall short of the 600 s p99 by about 11%, 7% and 3%, and scatter by 6-8%
(one standard deviation) around that. The H200 is burstier: in its VALID 600 s run at 40 QPS
(2026-12-02, p99 TPOT 27.75 ms) the median window of 15, 60 and 140 s fell 31%, 21% and 20% short
(results/timeline.py), set by a few slow episodes of seconds that most windows miss. So where the
history holds a VALID full-length run of the same engine and scenario, the settle stage judges its long
probes against the TPOT limit less that run's shortfall for their length (orchestrate/plan.tail_reference);
without one it uses the limit as it is, which suits an engine as smooth as the simulation.

So the bisection's short probes only bracket the rate. A short probe that failed on errors, a growing
backlog or TTFT over its headroom (queueing) bounds it from above at its own rate; one that failed on
p99 TPOT alone bounds it only as far as a window can stray (bisection_bound). A probe runs LoadGen seeds
of its own, so it is a random window of the load, and windows stray both ways: in the H200's VALID 600 s
runs at 46.08 and 47.35 QPS (2026-12-04) windows of 20-104 s reached 1.11-1.12x their run's p99 TPOT,
and a 34 s probe at 48.31 QPS saw 28.2 ms where the law below puts a full run near 26.3 ms. Capped at
that rate, that search confirmed 47.35 QPS where its long probes put the target near 51.5. A short probe
that passes is not trusted either. The rate to confirm comes from up to SETTLE_PROBES long
probes (SETTLE_LATENCIES p90 request latencies each, judged on every query issued after the ramp):
their p99 TPOTs are pooled into one power law around the limit, p99 TPOT ~ QPS^(1 / TPOT_QPS_ELASTICITY)
(fitted on H200 full runs), and the next probe goes where that law puts SETTLE_TARGET of the limit.
TTFT grows by queueing, with no such law: a long probe whose TTFT is over SETTLE_TARGET of its limit,
whose backlog grows or that has errors bounds the rate from above, and the next goes below it. The rate
to confirm is where the pooled law puts the target, below the bisection's lowest failure: the law
averages the noise of every long probe, where the highest that passed is only the luckiest. It goes no
further than the tolerance above every long probe (when the budget ends before one ran there): above them
the law is untested, and near the edge TPOT climbs faster than it (the H200's full runs at 47.35 and 48.58
QPS saw 25.47 and 28.22 ms, TPOT ~ QPS^4), so a law read from below overshoots the edge. When a long
probe failed on TTFT, a backlog or errors, TTFT binds and nothing extrapolates it: the rate is the
highest long probe that passed below the lowest such failure (one that passed above it saw a lucky
window), and at most QUEUE_MARGIN under that failure. Near capacity a queue wanders for longer than a
window, so a window's p99 wait falls far short of a full run's: in the simulated engine bound by its
batch's seats (capacity near 55.7 QPS; TTFT limit 2 s, TPOT unbounded: the H200 Server's shape, whose
4-5 minute runs held 56 QPS with p99 TTFT 1,053 ms and failed at 57.6), the median p99 TTFT of 150 s
probes against that of 600 s runs was 430 against 710 ms at 54 QPS, 700 against 1,400 at 55 and 1,200
against 3,900 at 56, where long probes passed 8 of 16 times and full runs none of 8. With the margin,
17 and 15 of 20 simulated Server searches (ceilings 57 and 60 QPS) picked a rate whose 600 s run was
VALID, against 10 and 9 with the highest pass, at a median 0.97 and 0.98 of the highest VALID fixed
rate (55.5 QPS, itself VALID in 3 of 8 runs). A full run decides.

Near the edge even full runs scatter: in the simulation, 600 s runs at one rate are VALID or not by
chance over a few percent of QPS. SETTLE_TARGET trades a confirmation that passes first time against a rate
a little lower: at 0.92, 17 of 20 simulated searches from a ceiling of 52 QPS picked a rate whose 600 s run
was VALID, and 15 picked 0.97 or more of the highest VALID fixed rate; in the 8 that tests/test_qps_settle.py runs, the
bisection's own pick failed every time and the settled one passed 7 times.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

from .qps_search import MAX_STEP, TPOT_QPS_ELASTICITY, ProbeResult

SETTLE_PROBES = 3
SETTLE_TARGET = 0.92  # a long probe passes under this share of each limit (its p99 still falls ~3% short)
SETTLE_LATENCIES = 40.0  # a long probe lasts this many p90 request latencies ...
SETTLE_MIN_PROBES, SETTLE_MAX_PROBES = 3.0, 15.0  # ... and this many short probes' durations, at least / at most
SETTLE_MAX_S = 150.0  # ... and never longer than this
QUEUE_MARGIN = 0.04  # TTFT binds: the pick stays this far under the lowest long probe that failed on it
RAMP_LATENCIES = 3.0  # queries issued in the first this-many p90 latencies are the ramp, not judged
# A window's p99 TPOT over its run's, at most (H200 Interactive, 2026-12-04: windows of 20, 34, 60 and
# 104 s of the VALID 600 s runs at 46.08 and 47.35 QPS reached 1.12, 1.12, 1.11 and 1.11).
WINDOW_HOT = 1.12


def settle_seconds(p90_latency_ms: float | None, probe_s: float) -> float:
    """How long a long probe lasts, from the p90 request latency the short probes saw and their duration
    (--search-probe-duration): 40 latencies, 3-15 probe durations, at most SETTLE_MAX_S."""
    need = SETTLE_LATENCIES * (p90_latency_ms or 0.0) / 1000
    return round(min(SETTLE_MAX_S, SETTLE_MAX_PROBES * probe_s, max(SETTLE_MIN_PROBES * probe_s, need)), 1)


@dataclass(frozen=True)
class Settled:
    """The rate to confirm (None: no long probe ran), the long probes in order, and why that rate."""

    qps: float | None
    probes: list[ProbeResult] = field(default_factory=list)
    why: str = ""


def _tpot_bound(r: ProbeResult, ttft_limit_ms: float) -> bool:
    """Whether the long probe's verdict can be read off its TPOT alone (no errors, no backlog, TTFT in hand)."""
    return r.tpot_alone(ttft_limit_ms, SETTLE_TARGET) is not None


def pooled_rate(probes: Sequence[ProbeResult], tpot_limit_ms: float, ttft_limit_ms: float) -> float | None:
    """Where the power law through the probes' p99 TPOTs reaches SETTLE_TARGET of the limit; the probes
    are weighed by their length (None: no probe with a usable TPOT)."""
    beta = 1 / TPOT_QPS_ELASTICITY
    terms = [(r.probe_s or r.seconds or 1.0, math.log(t) - beta * math.log(r.qps)) for r in probes
             if (t := r.tpot_alone(ttft_limit_ms, SETTLE_TARGET)) is not None]
    if not terms:
        return None
    alpha = sum(w * a for w, a in terms) / sum(w for w, _ in terms)
    return math.exp((math.log(SETTLE_TARGET * tpot_limit_ms) - alpha) / beta)


def bisection_bound(probes: Sequence[ProbeResult], ceiling_qps: float | None, ttft_limit_ms: float,
                    tpot_limit_ms: float) -> float | None:
    """The rate the long probes stay under (None: no bound but MAX_STEP): the ceiling, and each short probe
    that failed. One that failed on TTFT, a backlog or errors bounds at its own rate. One that failed on
    p99 TPOT alone saw at most WINDOW_HOT x what a full run at its rate sees, so the TPOT law puts the
    limit at most (WINDOW_HOT x limit / its p99)^elasticity above its rate (and never below it)."""
    def bound(r: ProbeResult) -> float:
        tpot = r.tpot_alone(ttft_limit_ms)
        return r.qps if tpot is None else r.qps * max(1.0, WINDOW_HOT * tpot_limit_ms / tpot) ** TPOT_QPS_ELASTICITY

    bounds = [bound(r) for r in probes if not r.passed]
    if ceiling_qps is not None:
        bounds.append(ceiling_qps)
    return min(bounds, default=None)


def settle(probe: Callable[[float], ProbeResult], lo: float, hi: float | None, ttft_limit_ms: float,
           tpot_limit_ms: float, tolerance: float, time_left: Callable[[], bool] = lambda: True,
           attempts: int = SETTLE_PROBES) -> Settled:
    """Long probes from lo (the bisection's best), bounded by hi (bisection_bound); see the module doc."""
    done: list[ProbeResult] = []
    upper = hi if hi is not None else lo * (1 + MAX_STEP)
    q = lo
    for _ in range(attempts):
        if not time_left():
            break
        r = probe(q)
        done.append(r)
        if not r.passed and not _tpot_bound(r, ttft_limit_ms):
            upper = min(upper, q)  # TTFT, a backlog or errors: no law extrapolates those
        model = pooled_rate(done, tpot_limit_ms, ttft_limit_ms)
        nxt = model if model is not None and _tpot_bound(r, ttft_limit_ms) else q * (1 - 2 * tolerance)
        nxt = min(nxt, upper * (1 - tolerance), q * (1 + MAX_STEP))
        nxt = max(nxt, q * (1 - MAX_STEP))
        if len(done) >= 2 and r.passed and (abs(nxt - q) <= tolerance * q or nxt < q):
            break  # two long probes agree that the target is here (or below a rate that just passed: noise)
        q = nxt
    if not done:
        return Settled(None, done, "no time for a long probe")
    passing = [r.qps for r in done if r.passed]
    model = pooled_rate(done, tpot_limit_ms, ttft_limit_ms)
    if model is None:  # every long probe failed on TTFT, a backlog or errors: below the lowest of them
        pick = max(passing) if passing else q
        return Settled(pick, done, "no usable TPOT in the long probes: " +
                       ("the highest that passed" if passing else "below the lowest that failed, unprobed"))
    ttft_bound = [r.qps for r in done if not r.passed and not _tpot_bound(r, ttft_limit_ms)]
    if ttft_bound and passing:  # TTFT (a queue) binds here: no law says how far above a pass it holds
        wall = min(ttft_bound)
        held = [q for q in passing if q < wall]
        pick = min(max(held, default=wall), wall * (1 - QUEUE_MARGIN))
        why = (f"TTFT, a backlog or errors stopped a long probe at {wall:.4g} QPS: {QUEUE_MARGIN:.0%} under it"
               if not held or pick < max(held) else f"the highest long probe that passed under {wall:.4g} QPS, where "
               "TTFT, a backlog or errors stopped one")
        if len(held) < len(passing):
            why += f" (a long probe that passed above it was a lucky window: {max(passing):.4g} QPS)"
        return Settled(pick, done, why)
    pick = min(model, upper * (1 - tolerance))
    why = (f"the pooled TPOT law of {len(done)} long probes puts p99 at {SETTLE_TARGET:.0%} of the limit at "
           f"{model:.4g} QPS" + (f"; {len(passing)} passed" if passing else "; none passed"))
    if passing and pick > max(r.qps for r in done) * (1 + tolerance):
        # above every long probe the law is untested, and near the edge TPOT climbs faster than it
        pick = max(passing) * (1 + tolerance)
        why += f"; no long probe ran above it: {tolerance:.0%} above the highest that passed"
    return Settled(pick, done, why)
