"""What a tune will do, decided before any engine starts: the knobs in order, the bounds, the estimate.

The tuner moves one knob at a time from the start (coordinate descent, as AMD's v6.1 submission did by
hand): the step's token budget, async scheduling, CUDA graphs captured up to the step, the sequences per
step, and for Server/Interactive the long-prefill threshold. Each candidate costs one engine start, so
the plan is bounded in starts as well as in time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..config import Scenario
from .settings import Settings, render_beside

TOKENS_KNOB, SEQS_KNOB = "max_num_batched_tokens", "max_num_seqs"
ASYNC_KNOB, GRAPH_KNOB, PREFILL_KNOB = "async_scheduling", "max_cudagraph_capture_size", "long_prefill_token_threshold"
TOKENS_RANGE = (1024, 65536)
TOKENS_STEP, SEQS_STEP = 256, 16
MIN_SEQS = 16
RECENTRES = 2  # QPS searches the estimate allows for moving the screen to a better candidate's edge


@dataclass(frozen=True)
class Plan:
    """A resolved tune: scenario, start, vLLM's defaults, the data's lengths and the bounds."""

    scenario: Scenario
    start: Settings
    start_source: str
    defaults: Settings
    isl: float
    osl: float
    max_seqs: int  # sequences whose whole context fits the KV cache: more only queue
    start_qps: float = 1.0  # where the first QPS search starts (Server, Interactive)
    max_starts: int = 8
    budget_s: float | None = None
    finalists: int = 2  # candidates with the best screen margins that get a QPS search
    start_s: float = 120.0  # expected seconds of one engine start (load, compile, graphs)
    probe_s: float = 90.0  # one Offline window or one screen probe
    search_s: float = 480.0  # one QPS search
    skipped: tuple[str, ...] = ()  # knobs this machine has no use for (CUDA graphs on a CPU)

    @property
    def serving(self) -> bool:
        return self.scenario in (Scenario.SERVER, Scenario.INTERACTIVE)

    @property
    def knobs(self) -> tuple[str, ...]:
        base = (TOKENS_KNOB, ASYNC_KNOB, GRAPH_KNOB, SEQS_KNOB) + ((PREFILL_KNOB,) if self.serving else ())
        return tuple(k for k in base if k not in self.skipped)

    def bounds(self, knob: str) -> tuple[int, int]:
        return TOKENS_RANGE if knob == TOKENS_KNOB else (MIN_SEQS, max(MIN_SEQS, self.max_seqs))

    def snap(self, knob: str, value: float) -> int:
        """A numeric knob's value rounded to its step (tokens: 256, sequences: 16) within its bounds."""
        step = TOKENS_STEP if knob == TOKENS_KNOB else SEQS_STEP
        lo, hi = self.bounds(knob)
        return int(min(hi, max(lo, step * max(1, round(value / step)))))

    @property
    def prefill_threshold(self) -> int:
        """The long-prefill threshold the tune tries: half the mean prompt, so a long prompt takes 2-3 steps."""
        return max(TOKENS_STEP, TOKENS_STEP * round(self.isl / 2 / TOKENS_STEP))

    def estimate_s(self) -> float:
        """The plan's expected time at most: every start, the start measured twice, and for Server and
        Interactive the start's QPS search, the finalists' and RECENTRES where a better candidate moves the screen."""
        probes = self.max_starts + 1
        total = self.max_starts * self.start_s + probes * self.probe_s
        if self.serving:
            total += (1 + self.finalists + RECENTRES) * self.search_s + RECENTRES * self.probe_s
        return total if self.budget_s is None else min(total, self.budget_s)

    def lines(self) -> list[str]:
        """The plan as printed before the first engine starts."""
        what = "tokens/s over a warm window" if not self.serving else (
            f"margin to the p99 limits at one QPS near the edge, then a QPS search on the best {self.finalists}")
        budget = "none" if self.budget_s is None else f"{self.budget_s / 60:.0f} min"
        return [f"Tune {self.scenario.display}: start {self.start.line()} ({self.start_source})",
                f"  knobs, one at a time: {', '.join(self.knobs)}"
                + (f" (left at vLLM's default here: {', '.join(self.skipped)})" if self.skipped else ""),
                f"  scored by {what}; ties inside the measured noise go to the setting nearer vLLM's defaults",
                f"  at most {self.max_starts} engine starts; budget {budget}; "
                f"expected at most {math.ceil(self.estimate_s() / 60)} min",
                *("  " + line for line in render_beside(self.start, self.defaults))]
