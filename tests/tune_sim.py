"""A simulated engine whose throughput and latency are known functions of its settings, for tune tests.

Offline tokens/s and the Server edge are products of factors, each peaked in log2 of a numeric knob
(a parabola: the shape AMD's sweeps and BENCHMARKS.md's show near their best), times a gain per switch.
Measurements carry a reproducible spread of about 0.5%. The best over a dense grid is the known
optimum the tuner must come within 3% of. Time is virtual: a start and each probe advance the clock.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from dataclasses import dataclass, field

from mlperf_vllm.mlperf import qps_search as qs
from mlperf_vllm.tune import edges
from mlperf_vllm.tune.seam import Edge, Limits, Screen, StartFailed
from mlperf_vllm.tune.settings import Settings

START_S, PROBE_S, SEARCH_PROBE_S = 100.0, 60.0, 45.0
LIMITS = Limits(ttft_ms=2000.0, tpot_ms=100.0)


def _peak(value: float, best: float, curvature: float) -> float:
    return max(0.05, 1 - curvature * math.log2(value / best) ** 2)  # far off the peak: slow, never stopped


@dataclass(frozen=True)
class Model:
    """The known truth: a peak and the gains of each knob."""

    peak: float
    best_tokens: float
    best_seqs: float
    async_gain: float
    graph_gain: float
    prefill_gain: float
    curvature: float = 0.08

    def value(self, s: Settings) -> float:
        v = self.peak * _peak(s.max_num_batched_tokens, self.best_tokens, self.curvature)
        v *= _peak(min(s.max_num_seqs, 4096), self.best_seqs, self.curvature * 0.75)
        v *= self.async_gain if s.async_scheduling else 1.0
        v *= self.graph_gain if s.max_cudagraph_capture_size == s.max_num_batched_tokens else 1.0
        v *= self.prefill_gain if s.long_prefill_token_threshold else 1.0
        return v

    def best(self, max_seqs: int, prefill: int | None) -> float:
        """The best value over a dense grid of every knob (the optimum the tuner is measured against)."""
        tokens = [1024 * k for k in range(1, 65)]
        seqs = [16 * k for k in range(1, max_seqs // 16 + 1)]
        out = 0.0
        for t, q, a, g, p in itertools.product(tokens, seqs, (False, True), (False, True), (None, prefill)):
            if q > t:  # vLLM needs a token per sequence in a step
                continue
            out = max(out, self.value(Settings(t, q, a, t if g else None, p)))
        return out


OFFLINE = Model(peak=9000.0, best_tokens=12288, best_seqs=1536, async_gain=1.004, graph_gain=1.035,
                prefill_gain=1.0)
# Server: the edge QPS; a long-prefill threshold costs a little, async and graphs gain.
SERVER = Model(peak=60.0, best_tokens=6144, best_seqs=1024, async_gain=1.03, graph_gain=1.06, prefill_gain=0.97)
# Interactive: small steps win by far (the start from KV capacity sits three octaves above them).
INTERACTIVE = Model(peak=48.0, best_tokens=2048, best_seqs=256, async_gain=1.08, graph_gain=1.10, prefill_gain=1.02)


def jitter(*parts: object, spread: float = 0.005) -> float:
    """A reproducible factor in [1 - spread, 1 + spread] from the parts."""
    h = int(hashlib.sha256(repr(parts).encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return 1 + spread * (2 * h - 1)


@dataclass
class Clock:
    t: float = 0.0

    def __call__(self) -> float:
        return self.t


@dataclass
class SimSession:
    """A started engine. Its spread depends on how often these settings were measured to the end
    before, across restarts, so a resumed tune sees what an uninterrupted one would have."""

    engine: "SimEngine"
    s: Settings

    @property
    def calls(self) -> int:
        return self.engine.done.get(self.s.key, 0)

    def tokens_per_s(self) -> float:
        self.engine.hook("offline")
        self.engine.clock.t += PROBE_S
        value = self.engine.model.value(self.s) * jitter(self.s.key, self.calls)
        self.engine.done[self.s.key] = self.calls + 1
        return value

    def latencies(self, qps: float) -> tuple[float, float]:
        """p99 TTFT and TPOT at qps: TPOT reaches 90% of its limit at the edge, TTFT only 10% above it."""
        edge = self.engine.model.value(self.s)
        j = jitter(self.s.key, self.calls, qps)
        return (LIMITS.ttft_ms * 0.9 * (qps / (1.1 * edge)) ** 4 * j, LIMITS.tpot_ms * 0.9 * (qps / edge) ** 1.5 * j)

    def screen(self, qps: float) -> Screen:
        self.engine.hook("screen")
        self.engine.clock.t += PROBE_S
        ttft, tpot = self.latencies(qps)
        self.engine.done[self.s.key] = self.calls + 1
        return Screen(qps, ttft, tpot)

    def close(self) -> None:
        self.engine.closed += 1


@dataclass
class SimEngine:
    """The tuner's Engine: starts count, some settings fail to start, a hook may raise inside a probe."""

    model: Model
    clock: Clock = field(default_factory=Clock)
    fail: dict[Settings, str] = field(default_factory=dict)
    starts: int = 0
    measurements: int = 0
    closed: int = 0
    kill_at: int | None = None  # raise KeyboardInterrupt at this measurement (1-based)
    measured: list[str] = field(default_factory=list)
    done: dict[str, int] = field(default_factory=dict)  # settings key -> measurements completed

    def start(self, s: Settings, timeout_s: float) -> SimSession:
        self.starts += 1
        if s in self.fail:
            self.clock.t += min(timeout_s, 20.0)
            raise StartFailed(self.fail[s])
        self.clock.t += START_S
        return SimSession(self, s)

    def hook(self, kind: str) -> None:
        self.measurements += 1
        if self.kill_at is not None and self.measurements == self.kill_at:
            raise KeyboardInterrupt(f"killed in {kind} probe {self.measurements}")
        self.measured.append(kind)


def edge_search(session: SimSession, start_qps: float) -> Edge:
    """The real QPS search (tune/edges.py over mlperf/qps_search.search) on the simulated engine's probes."""
    session.engine.hook("edge")

    def probe(q: float) -> qs.ProbeResult:
        session.engine.clock.t += SEARCH_PROBE_S
        ttft, tpot = session.latencies(q)
        ok = ttft < qs.PROBE_HEADROOM * LIMITS.ttft_ms and tpot < qs.PROBE_HEADROOM * LIMITS.tpot_ms
        return qs.ProbeResult(q, ttft, tpot, None, 0, ok, SEARCH_PROBE_S)

    edge = edges.search_edge(probe, start_qps, LIMITS)
    session.engine.done[session.s.key] = session.calls + 1
    return edge
