"""A probe's steady window after its ramp: its p99s, and whether its backlog grows.

"Over capacity" is a measurement, not a threshold on noise. Below capacity the count of requests in
flight is stationary and Poisson-like (M/G/inf: its variance is its mean), so the rise between the
window's two halves is judged in units of that spread (`SteadyState.growth_z`); above capacity the
backlog grows linearly with time and the rise keeps growing as the probe lengthens, while the spread
grows only as its square root. A rise of Z_OVER spreads is over capacity; between Z_UNSURE and Z_OVER
the probe is undecided and repeated longer; below, it is noise (15-40 in flight rising by 8% on the
H200, at a third of the TPOT limit, was such noise). A probe whose backlog does not drain within its
own duration after its schedule ended is over capacity too: what it left is cancelled, so that every
probe starts on an idle engine and lasts at most about twice its duration.

Near capacity the count remembers for longer than a latency: a queue forms and drains over many of them,
and a fuller batch slows every step, which lengthens the very latencies that hold the count up. Its
spread then exceeds the Poisson one: in 150 s windows of the simulated engine (tests/sim_engine.py) at
0.90-0.97 of its capacity, growth_z scattered with a standard deviation near 1.5 and 4 of 64 windows
passed Z_OVER, a wall that was not there. So a window of at least BATCHES x MIN_BATCH_LATENCIES mean
latencies (a long probe's) also measures the spread from its own data: the count's means over BATCHES
equal stretches, less their straight-line trend, scatter as the half means would if nothing grew (batch
means), and the larger of the two spreads is used. A backlog that grows is a trend, which the fit
removes, so it still stands out; a count that wanders is not: in the same windows no false alarm in 64,
while 2% over capacity TTFT stopped 12 of 16 as before.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass
from typing import Any, Callable, Sequence

STEADY_LATENCIES = 6.0  # a probe lasts at least this many p90 request latencies (of its steady window)
# In-flight rise through the window, in Poisson spreads: one-sided, Z_OVER = 3.5 is a false alarm in
# ~2 of 10,000 probes of a stationary engine; real overload passes it as soon as the probe is long enough.
Z_OVER = 3.5
Z_UNSURE = 2.0
INFLIGHT_GROWTH_FLOOR = 3.0  # ... and by more than this many requests (small counts are noisy)
BATCHES = 8  # a long window's count is averaged over this many stretches to measure its own spread ...
MIN_BATCH_LATENCIES = 1.0  # ... each at least this many mean latencies long


@dataclass(frozen=True)
class SteadyState:
    """A probe after its ramp: requests issued in the window, their p99s, and whether a backlog grows."""

    window_start_ms: float
    requests: int
    p99_ttft_ms: float | None
    p99_tpot_ms: float | None
    p90_latency_ms: float | None  # over the whole probe; sizes the next probe
    inflight_early: float  # mean requests in flight over the window's first half
    inflight_late: float  # ... and over its second half
    long_enough: bool  # the probe lasted STEADY_LATENCIES p90 latencies of its window: the batch had filled
    window_s: float = 0.0  # the window's length
    mean_latency_ms: float | None = None  # of the window's requests: how long the count in flight remembers
    batch_spread: float | None = None  # the rise's spread measured from the window itself (batch means)

    @property
    def inflight_growth(self) -> float:
        """Requests in flight, second half of the window minus its first half."""
        return self.inflight_late - self.inflight_early

    @property
    def growth_z(self) -> float:
        """The in-flight rise in units of its spread for a stationary engine.

        In flight at a moment is Poisson (M/G/inf: variance = mean) and stays correlated for about one
        mean latency W, so the mean over a half window of L/2 s has variance mean x min(1, 4 W / L):
        var(late - early) = (early + late) x min(1, 4 W / L). Without W or L: no averaging is credited.
        Where the window measured a larger spread itself (batch_spread), that one.
        """
        share = 1.0
        if self.window_s > 0 and self.mean_latency_ms:
            share = min(1.0, 4 * self.mean_latency_ms / 1000 / self.window_s)
        poisson = math.sqrt(max(1.0, (self.inflight_early + self.inflight_late) * share))
        return self.inflight_growth / max(poisson, self.batch_spread or 0.0)

    @property
    def backlog_growing(self) -> bool:
        """The rise is far beyond the noise of a stationary count: the queue grows at this rate."""
        return self.growth_z >= Z_OVER and self.inflight_growth > INFLIGHT_GROWTH_FLOOR

    @property
    def backlog_unsure(self) -> bool:
        """The rise may be noise or a slow overload: a longer probe tells them apart."""
        return not self.backlog_growing and self.growth_z >= Z_UNSURE and self.inflight_growth > INFLIGHT_GROWTH_FLOOR


def _pct(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def _in_flight(spans: Sequence[tuple[float, float]]) -> Callable[[float], int]:
    """Requests in flight at a moment t (issued at or before t, not yet completed): two sorted lists and a
    bisection each, where a span ends at or after it starts."""
    starts, ends = sorted(a for a, _ in spans), sorted(b for _, b in spans)
    return lambda t: bisect_right(starts, t) - bisect_right(ends, t)


def _mean_inflight(count: Callable[[float], int], t0: float, t1: float, points: int = 40) -> float:
    if t1 <= t0:
        return 0.0
    step = (t1 - t0) / points
    return sum(count(t0 + (k + 0.5) * step) for k in range(points)) / points


def steady_state(rows: Sequence[dict[str, Any]], ramp_ms: float | None = None) -> SteadyState | None:
    """Judge a probe's SUT timing rows (issued_ms, ttft_ms, tpot_ms, latency_ms) after its ramp.

    The window is the second half of the issue span, or (a long probe) everything issued after ramp_ms
    when that is earlier. In-flight counts use the completion times; a request still open when the
    probe's schedule ended counts as in flight until then.
    """
    if len(rows) < 8:
        return None
    issued = sorted(float(r["issued_ms"]) for r in rows)
    end = issued[-1]
    start = end / 2 if ramp_ms is None else min(end / 2, max(0.0, ramp_ms))
    window = [r for r in rows if float(r["issued_ms"]) >= start]
    latencies = [float(r["latency_ms"]) for r in window if r.get("latency_ms") is not None]
    p90_latency = _pct(latencies, 0.90)
    count = _in_flight([(float(r["issued_ms"]), float(r["issued_ms"]) + float(r["latency_ms"])
                         if r.get("latency_ms") is not None else math.inf) for r in rows])
    mid = (start + end) / 2
    mean_latency = sum(latencies) / len(latencies) if latencies else None
    return SteadyState(
        window_start_ms=start, requests=len(window),
        p99_ttft_ms=_pct([float(r["ttft_ms"]) for r in window if r.get("ttft_ms") is not None], 0.99),
        p99_tpot_ms=_pct([float(r["tpot_ms"]) for r in window if r.get("tpot_ms") is not None], 0.99),
        p90_latency_ms=p90_latency,
        inflight_early=_mean_inflight(count, start, mid), inflight_late=_mean_inflight(count, mid, end),
        long_enough=p90_latency is None or end >= STEADY_LATENCIES * p90_latency,
        window_s=(end - start) / 1000, mean_latency_ms=mean_latency,
        batch_spread=batch_spread(count, start, end, mean_latency),
    )


def batch_spread(count: Callable[[float], int], start: float, end: float,
                 mean_latency_ms: float | None) -> float | None:
    """The spread of the window's late-minus-early mean count, measured from the window itself: the
    residuals of the BATCHES stretches' mean counts around their straight line (variance s2) make the
    difference of two half means of BATCHES / 2 stretches vary by s2 / 2 if nothing grew. None for a
    window shorter than BATCHES x MIN_BATCH_LATENCIES mean latencies (too few stretches that forget)."""
    if not mean_latency_ms or end - start < BATCHES * MIN_BATCH_LATENCIES * mean_latency_ms:
        return None
    width = (end - start) / BATCHES
    means = [_mean_inflight(count, start + b * width, start + (b + 1) * width, 20) for b in range(BATCHES)]
    xs = [b - (BATCHES - 1) / 2 for b in range(BATCHES)]
    centre = sum(means) / BATCHES
    slope = sum(x * m for x, m in zip(xs, means)) / sum(x * x for x in xs)
    s2 = sum((m - centre - slope * x) ** 2 for x, m in zip(xs, means)) / (BATCHES - 2)
    return math.sqrt(s2 / 2)
