"""Where a QPS search starts when the history has no Offline run of the engine: one burst measures it.

Without a ceiling the search doubled up from 2 QPS, and every doubling is a short probe: 6-7 of them
before the first overload on an engine of 64-128 QPS, minutes of a budget of eight. A burst instead
issues BURST_SEQS_FACTOR batches' worth of queries within a couple of seconds (a Server test at a rate
no engine holds), so the engine runs full batches throughout, as in Offline; the queries it completes
per second of the burst are its capacity, and the search starts at CEILING_START_SHARE of it (as it does
of an Offline ceiling), probes the estimate itself next, and bisects or keeps doubling from there. The
estimate only places the first probes: it never caps the search, so an estimate on the low side costs a
doubling, not a lower pick. Whatever the engine has not finished BURST_BOUND_S after the last query is
issued is cancelled, so a slow engine costs that bound at most, and counts what it finished by then.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from typing import Any, Sequence

from ..mlperf import logs

log = logging.getLogger(__name__)

BURST_SEQS_FACTOR = 4  # queries in the burst: this many full batches of the engine's max_num_seqs ...
DEFAULT_MAX_SEQS = 256  # ... vLLM's default batch where the run sets none
BURST_ISSUE_S = 2.0  # LoadGen issues the burst over about this long (a rate far above any engine's)
BURST_BOUND_S = 90.0  # then cancels what is still pending after this long
MIN_COMPLETED = 16  # fewer completions than this measure nothing


@dataclass(frozen=True)
class RateEstimate:
    """A burst's measurement: queries completed per second while the engine ran full batches."""

    qps: float
    queries: int
    completed: int
    seconds: float  # from the first query issued to the last one completed
    took_s: float  # the whole test, its drain and cancellation included
    log_dir: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def completion_rate(rows: Sequence[dict[str, Any]]) -> tuple[float, int, float] | None:
    """(completed per second, completed, seconds) of a burst's SUT timing rows: the completed samples over
    the span from the first issue to the last completion. Each batch of a saturated engine takes its turn
    in that span, the first included, so the ratio is the engine's rate, not a rate diluted by a ramp."""
    done = [float(r["issued_ms"]) + float(r["latency_ms"]) for r in rows
            if r.get("latency_ms") is not None and not r.get("error")]
    if len(done) < MIN_COMPLETED:
        return None
    first = min(float(r["issued_ms"]) for r in rows)
    span_s = (max(done) - first) / 1000
    return (len(done) / span_s, len(done), span_s) if span_s > 0 else None


def burst_queries(max_num_seqs: int | None, engines: int = 1) -> int:
    """How many queries a burst issues for `engines` engines (data parallel) of up to max_num_seqs sequences."""
    return BURST_SEQS_FACTOR * (max_num_seqs or DEFAULT_MAX_SEQS) * engines


def estimate(runner: Any) -> RateEstimate | None:
    """One burst on the runner's idle engine, under Search/estimate (its logs and user.conf kept); None when it
    completed too few queries to say anything (the search then doubles up from its fixed start)."""
    engine = runner.cfg.engine
    queries = burst_queries(engine.max_num_seqs, engine.data_parallel_size)
    qps = float(f"{queries / BURST_ISSUE_S:g}")  # as user.conf writes it
    runner.idle()
    runner.started = runner.started or time.monotonic()
    s = runner.settings
    saved = (s.server_target_qps, s.min_duration_ms, s.min_query_count, s.sample_concatenate_permutation)
    s.min_duration_ms, s.min_query_count, s.sample_concatenate_permutation = 1, queries, False
    out = runner.dir / "estimate"
    t0 = time.perf_counter()
    try:
        runner.run_test(qps, out, f"search rate estimate ({queries} queries at once)", drain_s=BURST_BOUND_S,
                        extra_conf=runner.conf_lines("# the burst's length (not for submission)",
                                                     min_duration=1, min_query_count=queries,
                                                     sample_concatenate_permutation=0))
    finally:
        s.server_target_qps, s.min_duration_ms, s.min_query_count, s.sample_concatenate_permutation = saved
    took = time.perf_counter() - t0
    measured = completion_rate(runner.sut.timing_rows())
    if measured is None:
        log.warning("rate estimate: the burst of %d queries completed fewer than %d in %.0f s; "
                    "the search doubles up from its fixed start", queries, MIN_COMPLETED, took)
        return None
    rate, completed, span_s = measured
    rec = logs.read_log_dir(out)
    result = RateEstimate(round(rate, 4), queries, completed, round(span_s, 2), round(took, 1),
                          f"{runner.dir.name}/{out.name}")
    log.info("rate estimate: %d of %d queries completed in %.1f s: %.4g QPS (LoadGen: %s samples/s completed)",
             completed, queries, span_s, rate, (rec.get("throughput") or {}).get("completed_samples_per_s"))
    return result
