"""A simulated continuous-batching engine, in virtual time, for the QPS search's statistics.

Poisson arrivals; prompts lognormal around 800 tokens (the synthetic CNN/DailyMail profile); every
request decodes OUT tokens; each step decodes one token of every running request and spends the rest
of its token budget on waiting prompts, first come first served, in chunks (vLLM's chunked prefill); a
step lasts T0 + TD x decoding requests + TP x prefill tokens. Nothing here is fitted to a GPU: it has the
shape that matters (a request's TPOT is the mean step time over its life, and the steps slow down while
a burst of arrivals is prefilled), so a short window's p99 falls short of a long run's as on the H200.
SimRunner answers the search's probes (LoadGenRunner's interface) from it, so that the real search code
runs on it: tests/test_qps_settle.py and benchmarks/search_sim.py.
"""

from __future__ import annotations

import math
import random
import types
from collections import deque

from mlperf_vllm.mlperf import qps_search as qs
from mlperf_vllm.orchestrate import plan as planning
from mlperf_vllm.orchestrate import search

OUT = 128
BUDGET, MAX_SEQS = 2048, 256
T0_MS, TD_MS, TP_MS = 5.0, 0.07, 0.0075
TPOT_LIMIT_MS, TTFT_LIMIT_MS = 20.0, 500.0  # this engine's knee sits near 41 QPS with these


def run(qps: float, seconds: float, seed: int) -> list[dict[str, float]]:
    """SUT-style timing rows (issued_ms, ttft_ms, latency_ms, tpot_ms) of every request issued in `seconds`."""
    rng = random.Random(seed)
    arrivals, t = [], 0.0
    while True:
        t += rng.expovariate(qps) * 1000
        if t >= seconds * 1000:
            break
        arrivals.append(t)
    lengths = [int(min(max(rng.lognormvariate(math.log(800), 0.415), 64), 2540)) for _ in arrivals]
    first = [0.0] * len(arrivals)
    done = [0.0] * len(arrivals)
    ends: dict[int, list[int]] = {}  # step -> requests that emit their last token in it
    waiting: deque[list[int]] = deque()  # [request, prompt tokens left]
    now, step, nxt, decoding = 0.0, 0, 0, 0
    while nxt < len(arrivals) or waiting or decoding:
        while nxt < len(arrivals) and arrivals[nxt] <= now:
            waiting.append([nxt, lengths[nxt]])
            nxt += 1
        if not waiting and not decoding:
            now = arrivals[nxt]
            continue
        budget, prefill, finished = BUDGET - decoding, 0, []
        seats = MAX_SEQS - decoding
        for item in waiting:
            if budget <= 0 or seats <= 0:
                break
            chunk = min(item[1], budget)
            item[1] -= chunk
            budget -= chunk
            prefill += chunk
            seats -= 1
            if item[1] == 0:
                finished.append(item[0])
        now += T0_MS + TD_MS * decoding + TP_MS * prefill
        for r in ends.pop(step, ()):
            done[r] = now
            decoding -= 1
        while waiting and waiting[0][1] == 0:
            waiting.popleft()
        for r in finished:  # the prompt's last chunk gives the first token; OUT - 1 decode steps follow
            first[r] = now
            ends.setdefault(step + OUT - 1, []).append(r)
            decoding += 1
        step += 1
    return [{"issued_ms": a, "ttft_ms": f - a, "latency_ms": d - a, "tpot_ms": (d - f) / (OUT - 1)}
            for a, f, d in zip(arrivals, first, done)]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def full_run_valid(qps: float, seed: int, seconds: float = 600.0) -> tuple[bool, float]:
    """(VALID, p99 TPOT ms) of a full run: LoadGen's early stopping at p99 passes when few enough of its
    queries are over a limit for their count (rules.early_stopping_min_queries)."""
    from mlperf_vllm import rules

    rows = run(qps, seconds, seed)
    over = sum(1 for r in rows if r["tpot_ms"] >= TPOT_LIMIT_MS or r["ttft_ms"] >= TTFT_LIMIT_MS)
    return rules.early_stopping_min_queries(over) <= len(rows), percentile([r["tpot_ms"] for r in rows], 0.99)


class Limits:
    """The limits the search holds probes to: this module's, read when asked (a test may change them)."""

    @property
    def ttft_ms(self) -> float:
        return TTFT_LIMIT_MS

    @property
    def tpot_ms(self) -> float:
        return TPOT_LIMIT_MS


class SimRunner:
    """LoadGenRunner's probe interface, answered by the simulated engine (virtual time)."""

    def __init__(self, seed: int, tail_shortfall: float | None = None) -> None:
        self.cfg = types.SimpleNamespace(search_probe_s=10.0, search_budget_min=30.0, search_tolerance=0.02)
        self.limits, self.seed, self.tail_shortfall = Limits(), seed, tail_shortfall
        self.last_steady, self.started, self.p90_latency_ms = None, None, {}

    def tail_reference(self, seconds):
        if self.tail_shortfall is None:
            return None
        return planning.TailReference("20261202-082437-datacenter-interactive", seconds, self.tail_shortfall, 8)

    def probe(self, n, qps, seconds, longest=False, headroom=qs.PROBE_HEADROOM, ramp_ms=None, kind="probe",
              tpot_limit_ms=None):
        qps = search.as_written(qps)  # as LoadGenRunner: the rate as user.conf writes it
        rows = run(qps, seconds, self.seed * 1000 + n + (500 if kind == "settle" else 0))
        bound = (seconds + max(search.DRAIN_MIN_S, seconds)) * 1000  # the drain bound: the rest is cancelled
        drained = all(r["issued_ms"] + r["latency_ms"] <= bound for r in rows)
        for r in rows:
            if r["issued_ms"] + r["latency_ms"] > bound:
                r["latency_ms"] = r["tpot_ms"] = None
        steady = qs.steady_state(rows, ramp_ms)
        ttft = percentile([r["ttft_ms"] for r in rows], 0.99)
        tpots = [r["tpot_ms"] for r in rows if r["tpot_ms"] is not None]
        tpot = percentile(tpots, 0.99) if tpots else None
        j = qs.judge(steady, ttft, tpot, 0, drained, self.limits.ttft_ms, tpot_limit_ms or self.limits.tpot_ms,
                     longest, headroom)
        self.last_steady = steady
        if steady is not None and steady.p90_latency_ms is not None:
            self.p90_latency_ms[qps] = steady.p90_latency_ms
        return qs.ProbeResult(qps, ttft, tpot, None, 0, j.passed, seconds, overloaded=j.overloaded,
                              steady_p99_ttft_ms=steady and steady.p99_ttft_ms,
                              steady_p99_tpot_ms=steady and steady.p99_tpot_ms, probe_s=seconds, drained=drained,
                              final=j.final, why=j.why)
