"""The tune itself: one knob at a time from the start, every measurement through the probe log.

A measurement already in the log is read, not repeated, and every decision is a function of the
measurements alone, so a tune killed at any probe and run again with the same log replays its past
decisions for free and goes on where it stopped. Differences inside the measured noise are ties and go
to the simpler setting (settings.complexity). A candidate whose engine does not start is logged with
its cause and dropped.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from typing import Callable

from .descent import descend, finalists, rank
from .plan import Plan
from .probelog import Probe, ProbeLog
from .seam import START_TIMEOUT_S, EdgeSearch, Engine, Limits, Session, StartFailed
from .settings import Settings, complexity

log = logging.getLogger(__name__)

NOISE_FLOOR = 0.01  # Offline: relative; two windows of one engine rarely agree closer than this
MARGIN_NOISE_FLOOR = 0.02  # screen: absolute, in shares of a limit
# A margin above this at the screen QPS means the candidate's edge is well above it (TPOT grows as QPS^1.5:
# 30% under the limit where the edge sits at 10% under is ~18% more QPS): screen at its edge from then on.
RECENTRE_MARGIN = 0.3


class _Stop(Exception):
    """The tune (or its screening) may not spend more: `reason` becomes its stop_reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Outcome:
    """What a tune found: the choice, why it stopped, and its noise band."""

    choice: Settings | None
    stop_reason: str
    noise: float | None
    score_kind: str  # 'tokens/s' or 'edge QPS'
    starts: int
    seconds: float
    probes: list[Probe] = field(default_factory=list)


class Tuner:
    """Runs a Plan on an Engine, recording into a ProbeLog."""

    def __init__(self, plan: Plan, engine: Engine, probes: ProbeLog, limits: Limits | None = None,
                 edge_search: EdgeSearch | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        if plan.serving and (limits is None or edge_search is None):
            raise ValueError("a Server/Interactive tune needs the limits and a QPS search")
        self.plan, self.engine, self.log, self.limits, self.edge_search = plan, engine, probes, limits, edge_search
        self.clock = clock
        self.session: Session | None = None
        self.running: Settings | None = None
        self.start_cap = plan.max_starts
        self.screen_qps: float | None = None
        self.noise = NOISE_FLOOR if not plan.serving else MARGIN_NOISE_FLOOR

    # measurements -----------------------------------------------------------------------------------
    def measure(self, kind: str, s: Settings, repeat: int = 0) -> Probe:
        """The logged probe of (kind, s, repeat), or a new one measured now (starting s's engine if needed)."""
        qps = self.screen_qps if kind == "screen" else None
        found = self.log.find(kind, s.to_dict(), repeat, qps)
        if found is not None:
            return found
        counted = not self.log.follows(s.to_dict())  # a start the tune's decisions spend
        self._check_budget(kind, counted)
        t0 = self.clock()
        if self.running != s:
            self.close()
            try:
                self.session = self.engine.start(s, START_TIMEOUT_S)
            except StartFailed as e:
                log.info("%s did not start: %s", s.line(), e.cause)
                return self._append(Probe(kind, s.to_dict(), self.log.fingerprint, repeat, qps=qps,
                                          seconds=round(self.clock() - t0, 3), start_failure=e.cause))
            self.running = s
        probe = self._probe(Probe(kind, s.to_dict(), self.log.fingerprint, repeat, started=counted))
        return self._append(replace(probe, seconds=round(self.clock() - t0, 3)))

    def _probe(self, probe: Probe) -> Probe:
        """Run one measurement of `probe`'s kind on the running engine."""
        assert self.session is not None
        if probe.kind == "offline":
            metric = round(self.session.tokens_per_s(), 3)
            rate = getattr(self.session, "samples_per_s", None)  # an adapter that counts requests says it
            return replace(probe, metric=metric, qps=None if rate is None else round(rate, 3))
        if probe.kind == "screen":
            assert self.screen_qps is not None and self.limits is not None
            sc = self.session.screen(self.screen_qps)
            limiting, margin = self.limits.margin(sc.p99_ttft_ms, sc.p99_tpot_ms)
            return replace(probe, qps=self.screen_qps, limiting=limiting, margin=margin)
        assert self.edge_search is not None
        edge = self.edge_search(self.session, self.screen_qps or self.plan.start_qps)
        return replace(probe, qps=edge.qps, limiting=edge.limiting, margin=edge.margin)

    def _append(self, probe: Probe) -> Probe:
        self.log.append(probe)
        return probe

    def _check_budget(self, kind: str, needs_start: bool) -> None:
        p = self.plan
        if needs_start and self.log.starts >= self.start_cap:
            raise _Stop("start_limit")
        cost = (p.start_s if needs_start else 0.0) + (p.search_s if kind == "edge" else p.probe_s)
        if p.budget_s is not None and self.log.seconds + cost > p.budget_s:
            raise _Stop("budget_exhausted")

    def close(self) -> None:
        """Stop the running engine, if any."""
        if self.session is not None:
            self.session.close()
        self.session, self.running = None, None

    # scores -----------------------------------------------------------------------------------------
    def score(self, s: Settings) -> float | None:
        """A candidate's score, measured now unless logged: Offline tokens/s, or its margin at the screen QPS."""
        kind = "screen" if self.plan.serving else "offline"
        if self.measure(kind, s).start_failure:
            return None
        return self.logged_score(s)

    def logged_score(self, s: Settings) -> float | None:
        """The mean of s's logged probes (the start has two) at the screen QPS; None where it has none."""
        kind = "screen" if self.plan.serving else "offline"
        values = [p.margin if self.plan.serving else p.metric for p in self.log.probes
                  if p.kind == kind and p.settings == s.to_dict() and not p.start_failure
                  and (kind != "screen" or p.qps == self.screen_qps)]
        values = [v for v in values if v is not None]
        return sum(values) / len(values) if values else None

    def recentre(self, best: Settings) -> None:
        """Move the screen QPS to a new best's edge when the screen runs far below it: margins there all
        look alike (far from a limit), so the next candidates could not be told apart."""
        margin = self.score(best)
        if not self.plan.serving or margin is None or margin <= RECENTRE_MARGIN:
            return
        edge = self.measure("edge", best)  # on its engine, which its screen left running
        if edge.qps:
            self.screen_qps = edge.qps
            self.score(best)

    def _noise_from_start(self, s: Settings) -> None:
        kind = "screen" if self.plan.serving else "offline"
        qps = self.screen_qps if self.plan.serving else None
        a, b = self.log.find(kind, s.to_dict(), 0, qps), self.log.find(kind, s.to_dict(), 1, qps)
        if a is None or b is None or a.start_failure or b.start_failure:
            return
        if self.plan.serving:
            self.noise = max(MARGIN_NOISE_FLOOR, abs((a.margin or 0) - (b.margin or 0)))
        else:
            mean = ((a.metric or 0) + (b.metric or 0)) / 2
            self.noise = max(NOISE_FLOOR, abs((a.metric or 0) - (b.metric or 0)) / mean) if mean else NOISE_FLOOR

    def band(self, value: float) -> float:
        """The tie band around a score: relative for tokens/s, absolute for margins."""
        return self.noise if self.plan.serving else self.noise * abs(value)

    def better(self, c: Settings, c_score: float | None, b: Settings, b_score: float | None) -> bool:
        """Whether c beats b: by more than the noise, or inside it and simpler."""
        if c_score is None:
            return False
        if b_score is None:
            return True
        if abs(c_score - b_score) <= self.band(b_score):
            return complexity(c, self.plan.defaults) < complexity(b, self.plan.defaults)
        return c_score > b_score

    # the search -------------------------------------------------------------------------------------
    def run(self) -> Outcome:
        """Tune to the end of the plan, the start limit or the budget; the best so far is the choice."""
        try:
            return self._run()
        finally:
            self.close()

    def _run(self) -> Outcome:
        stop = "converged"
        best: Settings | None = None
        try:
            start = self._first_start()
            best = start
            if self.plan.serving:  # keep starts for the finalists' searches (one is usually the engine that is up)
                self.start_cap = self.plan.max_starts - (self.plan.finalists - 1)
            try:
                best = descend(self, start)
            except _Stop as e:
                if e.reason != "start_limit" or not self.plan.serving:
                    raise
                stop = "start_limit"
            if self.plan.serving:
                self.start_cap = self.plan.max_starts
                best = finalists(self, start)
        except _Stop as e:
            stop = e.reason
        if stop != "converged" or best is None:  # stopped early (even before the start's second window)
            best = self.best_so_far()
        if best is None and stop == "converged":
            stop = "no_engine_started"
        return Outcome(best, stop, self.noise, "edge QPS" if self.plan.serving else "tokens/s",
                       self.log.starts, round(self.log.seconds, 3), list(self.log.probes))

    def _first_start(self) -> Settings:
        """The plan's start, or vLLM's defaults when the start does not start; its edge sets the screen QPS."""
        for s in (self.plan.start, self.plan.defaults):
            if self.plan.serving:
                edge = self.measure("edge", s)
                if edge.start_failure or not edge.qps:
                    continue
                self.screen_qps = edge.qps
            if self.score(s) is not None:
                self.measure("screen" if self.plan.serving else "offline", s, repeat=1)  # the spread is the noise
                self._noise_from_start(s)
                return s
        raise _Stop("no_engine_started")

    def best_so_far(self) -> Settings | None:
        """The best measured candidate: by edge QPS where any has one, else by its screen or Offline score."""
        ranked = rank(self)
        return ranked[0] if ranked else None


