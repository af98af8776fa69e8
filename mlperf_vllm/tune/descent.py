"""Coordinate descent over the knobs, and the Server/Interactive finalists' QPS searches.

Numeric knobs walk by factors of two from the current best while that improves beyond the noise (first
down, since the start is rounded up; then up), then, for Offline, one probe at the vertex of the parabola
through the best and its two measured neighbours (log2 scale) where it predicts a gain beyond the noise. Switches are tried
once, flipped. Screens (one QPS near the edge) are coarser than Offline windows, so Server and
Interactive skip the vertex and spend their starts on the finalists' QPS searches instead.
"""

from __future__ import annotations

import math
from typing import Any

from .plan import ASYNC_KNOB, GRAPH_KNOB, PREFILL_KNOB, SEQS_KNOB, TOKENS_KNOB
from .settings import Settings, complexity

EDGE_BAND = 0.02  # edges closer than the QPS search's tolerance are ties
Tuner = Any  # a tuner.Tuner (which imports this module): its plan, log, noise, score, better, measure


def valid(s: Settings) -> bool:
    """Settings vLLM accepts: a step holds at least one token per sequence; graphs no larger than the step."""
    graph_ok = s.max_cudagraph_capture_size is None or s.max_cudagraph_capture_size <= s.max_num_batched_tokens
    return s.max_num_batched_tokens >= s.max_num_seqs and graph_ok


def _set(s: Settings, knob: str, value: int) -> Settings:
    """s with knob = value; graphs captured up to the step follow the step, and a step smaller than the
    sequences takes the sequences down with it (vLLM needs a token per sequence in a step)."""
    changes: dict[str, object] = {knob: value}
    if knob == TOKENS_KNOB and s.max_cudagraph_capture_size == s.max_num_batched_tokens:
        changes[GRAPH_KNOB] = value
    if knob == TOKENS_KNOB and value < s.max_num_seqs:
        changes[SEQS_KNOB] = value
    return s.with_(**changes)


def _flip(t: "Tuner", s: Settings, knob: str) -> Settings:
    if knob == ASYNC_KNOB:
        return s.with_(async_scheduling=not s.async_scheduling)
    if knob == GRAPH_KNOB:
        up_to_step = s.max_cudagraph_capture_size != s.max_num_batched_tokens
        return s.with_(max_cudagraph_capture_size=s.max_num_batched_tokens if up_to_step else None)
    threshold = None if s.long_prefill_token_threshold else t.plan.prefill_threshold
    return s.with_(long_prefill_token_threshold=threshold)


def descend(t: "Tuner", start: Settings) -> Settings:
    """The best settings after one pass over the plan's knobs."""
    best = start
    for knob in t.plan.knobs:
        if knob in (ASYNC_KNOB, GRAPH_KNOB, PREFILL_KNOB):
            c = _flip(t, best, knob)
            if valid(c) and t.better(c, t.score(c), best, t.score(best)):
                best = c
                t.recentre(best)
        else:
            best = _numeric(t, best, knob)
    return best


def _numeric(t: "Tuner", best: Settings, knob: str) -> Settings:
    lo, hi = t.plan.bounds(knob)
    x = getattr(best, knob)
    scores: dict[int, float | None] = {x: t.score(best)}
    for factor in (0.5, 2.0):  # down first: the start is rounded up, "slightly optimistic"
        improved, v = False, getattr(best, knob)
        while True:
            nv = t.plan.snap(knob, v * factor)
            c = _set(best, knob, nv)
            if nv == v or not lo <= nv <= hi or nv in scores or not valid(c):
                break
            scores[nv] = t.score(c)
            if not t.better(c, scores[nv], best, t.score(best)):
                break
            best, v, improved = c, nv, True
            t.recentre(best)
        if improved:
            break
    if not t.plan.serving:
        best = _vertex(t, best, knob, scores)
    return best


def _vertex(t: "Tuner", best: Settings, knob: str, scores: dict[int, float | None]) -> Settings:
    """One probe where the parabola through the best and its neighbours peaks, if it promises a gain."""
    b = getattr(best, knob)
    known = {k: v for k, v in scores.items() if v is not None}
    left = max((k for k in known if k < b), default=None)
    right = min((k for k in known if k > b), default=None)
    if left is None or right is None:
        return best
    (u0, y0), (u1, y1), (u2, y2) = [(math.log2(k), known[k]) for k in (left, b, right)]
    den = (u0 - u1) * (u0 - u2) * (u1 - u2)
    a = (u2 * (y1 - y0) + u1 * (y0 - y2) + u0 * (y2 - y1)) / den
    bb = (u2 * u2 * (y0 - y1) + u1 * u1 * (y2 - y0) + u0 * u0 * (y1 - y2)) / den
    if a >= 0:
        return best
    u = min(max(-bb / (2 * a), u0), u2)
    predicted = y1 + a * (u - u1) ** 2 + (2 * a * u1 + bb) * (u - u1)
    nv = t.plan.snap(knob, 2 ** u)
    c = _set(best, knob, nv)
    if nv in scores or predicted - y1 <= t.band(y1) or not valid(c):
        return best
    scores[nv] = t.score(c)
    return c if t.better(c, scores[nv], best, y1) else best


def finalists(t: "Tuner", start: Settings) -> Settings:
    """QPS searches on the best screened candidates (the running engine's first), then the best edge."""
    screened = rank_screens(t)[: t.plan.finalists]
    last = t.log.probes[-1].settings if t.log.probes else None
    screened.sort(key=lambda s: s.to_dict() != last)  # no start for the engine already up
    for s in screened:
        if t.log.find("edge", s.to_dict()) is None:
            t.measure("edge", s)
    ranked = rank(t)
    return ranked[0] if ranked else start


def rank_screens(t: "Tuner") -> list[Settings]:
    """Candidates screened at the current screen QPS, best margin first; ties inside the noise go to the simpler."""
    scored = {}
    for p in t.log.probes:
        if p.kind == "screen" and p.margin is not None and not p.start_failure and p.qps == t.screen_qps:
            s = Settings.from_dict(p.settings)
            scored[s] = t.logged_score(s)
    return _order(t, scored, t.noise)


def rank(t: "Tuner") -> list[Settings]:
    """Every candidate that ran, best first: by edge QPS where any has one, else by its screening score."""
    edges = {Settings.from_dict(p.settings): p.qps for p in t.log.probes
             if p.kind == "edge" and p.qps and not p.start_failure}
    if edges:
        return _order(t, edges, None)
    if t.plan.serving:
        return rank_screens(t)
    scored = {Settings.from_dict(p.settings): t.logged_score(Settings.from_dict(p.settings))
              for p in t.log.probes if p.kind == "offline" and p.metric is not None}
    return _order(t, scored, None)


def _order(t: "Tuner", scored: dict[Settings, float | None], absolute_band: float | None) -> list[Settings]:
    """Best first: a candidate beats another by more than the band, or inside it by being simpler."""
    items = [(s, v) for s, v in scored.items() if v is not None]
    top = max((v for _, v in items), default=0.0)

    def band(v: float) -> float:
        return absolute_band if absolute_band is not None else (
            EDGE_BAND * abs(top) if t.plan.serving else t.band(top))

    # Scores within the band of the best are one tier: the simplest of them leads.
    def key(sv: tuple[Settings, float]) -> tuple[int, tuple[int, float], float]:
        if sv[1] >= top - band(sv[1]):
            return 0, complexity(sv[0], t.plan.defaults), -sv[1]
        return 1, (0, 0.0), -sv[1]

    items.sort(key=key)
    return [s for s, _ in items]

