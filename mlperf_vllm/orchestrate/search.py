"""--server-target-qps search: LoadGen Server probes on the loaded engine until their steady state,
a few long probes that pick the rate (mlperf/qps_settle.py: a short probe's p99 falls short of a full
run's), then full performance runs that confirm the pick (stepping by how far a failed run missed).

Both steps return values and move no folder: every probe and every confirmation attempt writes its
LoadGen logs (and the user.conf it ran) under Search/; the benchmark run puts the chosen attempt in
Performance/. Probes reuse the run's one TestSettings (FromConfig is once per process), changing only
the target QPS, the minimum duration and query count, equal-issue padding and the seeds (all restored
after): the official seeds replay one schedule that runs 8-11% above its target early on (BENCHMARKS.md),
so each probe runs seeds of its own, a window like any of a full run's; confirmations run the official ones. Without an Offline ceiling, a burst measures where to start (rate_estimate.py).

Every probe starts on an idle engine and lasts a bounded time: what a probe still has pending its own
duration after LoadGen issued its last query is cancelled (and judged over capacity), and the next
waits until the engine holds no request. A confirmation issues at least as many queries as LoadGen's
early stopping needs at p99 when up to EARLY_STOPPING_SHARE of them are over a limit; one that fails
early stopping only for too few queries is run again longer at the same QPS, not lower.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from .. import rules
from ..config import Mode, RunConfig
from ..errors import EXIT_NOT_VALID, BenchError
from ..mlperf import harness, logs
from ..mlperf import qps_search as qs
from ..mlperf.qps_settle import (RAMP_LATENCIES, SETTLE_PROBES, SETTLE_TARGET, WINDOW_HOT, bisection_bound,
                                 settle_seconds)
from ..mlperf.qps_settle import settle as qps_settle
from ..results.atomic import write_text_atomic
from . import plan as planning

log = logging.getLogger(__name__)

SEARCH_DIR = "Search"
START_QPS = 2.0  # without an Offline ceiling: double from here
CEILING_START_SHARE = 0.85  # with one: a Server run usually holds 0.9-0.98 of the Offline rate
CONFIRM_ATTEMPTS = 3
MAX_PROBE_S = 90.0
# The short probes only bracket the rate (the long probes pick it): bisecting them finer than this
# costs probes and moves nothing (simulated engine, 20 searches: the same picks at 0.02 and 0.05,
# 10 short probes instead of 12).
BRACKET_TOLERANCE = 0.05
LENGTHENINGS = 2  # a probe too short for its own latency is repeated longer at most this often
DRAIN_MIN_S = 5.0  # a probe's backlog may drain for max(this, the probe's duration) after its last query
IDLE_WAIT_S = 30.0  # before a probe: how long the engine may take to finish or drop what it still holds
# A confirmation sized so that early stopping passes with this share of its queries over a limit (a p99
# within the limit has under 1%; a probe passes under 90% of the limit, well inside that).
EARLY_STOPPING_SHARE = 0.005
MAX_QUERY_GROWTH = 8.0  # rerun a run short of early-stopping queries at most this many times longer
# The probes' budget without --search-budget-min: room for the short probes and two or three long ones; with
# the full run that confirms the pick, a search of about 15-20 minutes (BENCHMARKS.md, "default search budget").
DEFAULT_BUDGET_S = 8 * 60.0


class NoValidQps(BenchError):
    """No probed QPS met the latency limits, or no full run at the chosen QPS was VALID."""

    exit_code = EXIT_NOT_VALID


@dataclass(frozen=True)
class Attempt:
    """One full performance run of the confirmation, kept under Search/."""

    qps: float
    log_dir: Path
    record: dict[str, Any]
    test: harness.TestRun
    timings: list[dict[str, Any]]
    why_next: str = ""
    min_query_count: int | None = None  # set when the run's duration alone gives too few queries

    @property
    def valid(self) -> bool:
        return bool(self.record.get("valid")) and not self.record.get("num_errors") and not self.test.sut_errors


@dataclass(frozen=True)
class Confirmation:
    """The confirmed attempt (None: none was VALID) and every attempt in order."""

    chosen: Attempt | None
    attempts: list[Attempt] = field(default_factory=list)
    not_load: bool = False  # stopped: the last run failed for a reason a lower QPS does not fix

    def to_dict(self) -> list[dict[str, Any]]:
        return [{"qps": a.qps, "valid": a.valid, "attempt": i + 1, "log_dir": f"{SEARCH_DIR}/{a.log_dir.name}",
                 "result_validity": a.record.get("result_validity"), "next": a.why_next or None,
                 "min_query_count": a.min_query_count, "query_count": a.record.get("query_count"),
                 "p99_ttft_ms": _ms((a.record.get("ttft_ns") or {}).get("99.00")),
                 "p99_tpot_ms": _ms((a.record.get("tpot_ns") or {}).get("99.00")),
                 "completed_samples_per_s": (a.record.get("throughput") or {}).get("completed_samples_per_s")}
                for i, a in enumerate(self.attempts)]


def _ms(ns: Any) -> float | None:
    return None if ns is None else round(ns / 1e6, 3)


def as_written(qps: float) -> float:
    """The QPS as user.conf writes it (6 significant digits), so that what LoadGen runs, what its log
    says and what the run's user.conf reproduces are one number."""
    return float(f"{qps:g}")


class LoadGenRunner:
    """Runs LoadGen performance tests at a given QPS into Search/ folders, on one TestSettings and SUT."""

    def __init__(self, cfg: RunConfig, run_dir: Path, settings: Any, sut: Any, lg: Any, n_samples: int,
                 user_conf: Callable[[float, int | None], str], progress: bool) -> None:
        self.cfg, self.settings, self.sut, self.lg = cfg, settings, sut, lg
        self.dir, self.n_samples, self.user_conf, self.progress = run_dir / SEARCH_DIR, n_samples, user_conf, progress
        self.limits = rules.TOKEN_LATENCY_LIMITS[cfg.scenario]
        self.last_steady: qs.SteadyState | None = None
        self.started: float | None = None  # monotonic time of the first probe (the search budget counts from it)
        self.p90_latency_ms: dict[float, float] = {}  # per probed QPS (as written): its last probe's p90 latency
        self.probes_run = 0  # every probe so far: the offset of the next one's LoadGen seeds

    def run_test(self, qps: float, out: Path, label: str, min_queries: int | None = None,
                 drain_s: float | None = None, extra_conf: str = "") -> harness.TestRun:
        out.mkdir(parents=True, exist_ok=True)
        # what LoadGen ran here, to reproduce it
        write_text_atomic(out / "user.conf", self.user_conf(qps, min_queries) + extra_conf)
        self.settings.server_target_qps = qps
        return harness.run_test(self.settings, Mode.PERFORMANCE, self.sut, self.n_samples, out, self.lg,
                                drain_s=drain_s, gc_freeze=self.cfg.gc_freeze, label=label,
                                show_progress=self.progress)

    def conf_lines(self, comment: str, **values: Any) -> str:
        """user.conf lines for what a probe changes of the run's settings, under a comment saying why."""
        key = harness.conf_key(rules.loadgen_model_name(self.cfg.category, self.cfg.scenario), self.cfg.scenario)
        return comment + "\n" + "".join(f"{key}.{k} = {v}\n" for k, v in values.items())

    def idle(self) -> None:
        """Start from an idle engine: wait for what it still holds, then drop it."""
        if not self.sut.engine_idle(IDLE_WAIT_S):
            log.warning("the engine still held requests %.0f s after the last test; cancelling them", IDLE_WAIT_S)
            self.sut.cancel_pending()
            self.sut.engine_idle(IDLE_WAIT_S)

    def tail_reference(self, seconds: float) -> "planning.TailReference | None":
        """What a probe of `seconds` misses of a full run's p99 TPOT, from this engine's history."""
        return planning.tail_reference(self.cfg, seconds)

    def probe(self, n: int, qps: float, seconds: float, longest: bool = False, headroom: float = qs.PROBE_HEADROOM,
              ramp_ms: float | None = None, kind: str = "probe", tpot_limit_ms: float | None = None) -> qs.ProbeResult:
        """One probe of `seconds` at qps on an idle engine, judged on its steady state (qs.judge); a long
        probe of the settle stage (kind "settle") is judged on what was issued after ramp_ms, against
        tpot_limit_ms where given (the limit less what a window of its length misses of a full run)."""
        qps = as_written(qps)
        self.idle()
        self.started = self.started or time.monotonic()
        s = self.settings
        saved = (s.server_target_qps, s.min_duration_ms, s.min_query_count, s.sample_concatenate_permutation,
                 s.schedule_rng_seed, s.sample_index_rng_seed)
        s.min_duration_ms = int(seconds * 1000)
        s.min_query_count = max(2, int(qps * seconds))
        s.sample_concatenate_permutation = False  # no padding to the whole data set for a probe
        self.probes_run += 1  # a schedule and a sample order of its own (the module's doc)
        s.schedule_rng_seed = (s.schedule_rng_seed + self.probes_run) % 2 ** 64
        s.sample_index_rng_seed = (s.sample_index_rng_seed + self.probes_run) % 2 ** 64
        out = self.dir / f"{kind}-{n:02d}-qps-{qps:.4g}"
        probe_conf = self.conf_lines("# this probe's length and seeds (not for submission)",
                                     min_duration=s.min_duration_ms, min_query_count=s.min_query_count,
                                     sample_concatenate_permutation=0, schedule_rng_seed=s.schedule_rng_seed,
                                     sample_index_rng_seed=s.sample_index_rng_seed)
        t0 = time.perf_counter()
        try:
            test = self.run_test(qps, out, f"search {kind} {n} at {qps:.4g} QPS", drain_s=max(DRAIN_MIN_S, seconds),
                                 extra_conf=probe_conf)
        finally:
            (s.server_target_qps, s.min_duration_ms, s.min_query_count, s.sample_concatenate_permutation,
             s.schedule_rng_seed, s.sample_index_rng_seed) = saved
        result = self._judge(qps, out, seconds, time.perf_counter() - t0, longest, headroom, ramp_ms,
                             tpot_limit_ms or self.limits.tpot_ms)
        return replace(result, machine=test.machine.to_dict() if test.machine is not None else None)

    def _judge(self, qps: float, out: Path, seconds: float, took: float, longest: bool, headroom: float,
               ramp_ms: float | None, tpot_limit_ms: float) -> qs.ProbeResult:
        rec = logs.read_log_dir(out)
        _, ttft, tpot = qs.passes(rec, self.limits.ttft_ms, self.limits.tpot_ms)
        steady = qs.steady_state(self.sut.timing_rows(), ramp_ms)
        drained = self.sut.cancelled == 0
        errors = (rec["num_errors"] or 0) if drained else len(self.sut.errors)  # cancelled samples are no errors
        j = qs.judge(steady, ttft, tpot, errors, drained, self.limits.ttft_ms, tpot_limit_ms, longest, headroom)
        result = qs.ProbeResult(
            qps, ttft, tpot, rec["throughput"]["completed_tokens_per_s"], errors, j.passed, took,
            f"{SEARCH_DIR}/{out.name}", overloaded=j.overloaded,
            steady_p99_ttft_ms=None if steady is None else steady.p99_ttft_ms,
            steady_p99_tpot_ms=None if steady is None else steady.p99_tpot_ms,
            inflight=None if steady is None else (round(steady.inflight_early, 1), round(steady.inflight_late, 1)),
            probe_s=seconds, growth_z=None if steady is None else round(steady.growth_z, 2), drained=drained,
            final=j.final, why=j.why)
        log.info("probe %s: %.4g QPS for %.0f s -> p99 TTFT %s ms, TPOT %s ms; steady window p99 TTFT %s ms, "
                 "TPOT %s ms; %s; %s%s", out.name, qps, seconds, ttft, tpot, result.steady_p99_ttft_ms,
                 result.steady_p99_tpot_ms, j.why, result.verdict, "" if j.final else " (not final)")
        if not drained:
            log.info("probe %s: %d samples cancelled after the drain bound", out.name, self.sut.cancelled)
        self.last_steady = steady
        if steady is not None and steady.p90_latency_ms is not None:
            self.p90_latency_ms[qps] = steady.p90_latency_ms
        return result

    def full_run(self, n: int, qps: float, min_queries: int | None = None) -> Attempt:
        """One full performance run at qps (the run's own duration; at least min_queries queries)."""
        qps = as_written(qps)
        self.idle()
        out = self.dir / f"confirm-{n}-qps-{qps:.4g}"
        s = self.settings
        saved = s.min_query_count
        if min_queries is not None:
            s.min_query_count = max(saved, min_queries)
        log.info("confirmation %d: full performance run at %.4g QPS%s", n, qps,
                 f", at least {min_queries} queries" if min_queries else "")
        try:
            test = self.run_test(qps, out, f"confirmation {n} at {qps:.4g} QPS", min_queries)
        finally:
            s.min_query_count = saved
        return Attempt(qps, out, logs.read_log_dir(out), test, self.sut.timing_rows(), min_query_count=min_queries)

    def full_run_seconds(self, qps: float) -> float:
        """How long a confirmation at qps issues queries: LoadGen's count at that rate (whole passes over the
        samples under equal issue, at least what early stopping needs), and never under the minimum duration."""
        s = self.settings
        min_queries = max(s.min_query_count, self.queries_for_early_stopping(qps) or 0)
        queries = rules.performance_queries(self.cfg.scenario, qps, s.min_duration_ms, min_queries,
                                            s.performance_sample_count_override or self.n_samples,
                                            bool(s.sample_concatenate_permutation))
        return max(s.min_duration_ms / 1000, queries / qps)

    @property
    def budget_s(self) -> float:
        """Seconds the probes may take: --search-budget-min, or DEFAULT_BUDGET_S."""
        return budget_s(self)

    def queries_for_early_stopping(self, qps: float, over_share: float = EARLY_STOPPING_SHARE) -> int | None:
        """The min query count a full run at qps needs so that early stopping can pass with `over_share`
        of its queries over a limit; None when its duration alone issues that many."""
        need = rules.early_stopping_queries_for_share(over_share)
        issued = max(self.settings.min_query_count, qps * self.settings.min_duration_ms / 1000)
        return need if issued < need else None


def run_search(runner: LoadGenRunner, start_qps: float, ceiling_qps: float | None,
               estimate_qps: float | None = None) -> qs.SearchResult:
    """Probe until the bracket is within BRACKET_TOLERANCE (or --search-tolerance, if wider); each probe
    lasts long enough for its own latency, sized only from probes within the limits (an overloaded
    probe's latency measures its backlog), and a probe whose verdict is not final is repeated longer,
    up to MAX_PROBE_S."""
    cfg = runner.cfg
    state = {"n": 0, "seconds": cfg.search_probe_s}

    def probe(q: float) -> qs.ProbeResult:
        seconds = state["seconds"]
        for k in range(LENGTHENINGS + 1):
            state["n"] += 1
            longest = k == LENGTHENINGS or seconds >= MAX_PROBE_S
            result = runner.probe(state["n"], q, seconds, longest)
            steady = runner.last_steady
            if result.passed and steady is not None:
                state["seconds"] = max(state["seconds"],
                                       qs.probe_seconds(cfg.search_probe_s, MAX_PROBE_S, steady.p90_latency_ms))
            if result.final:
                return result
            seconds = min(MAX_PROBE_S, max(2 * seconds, state["seconds"]))
            log.info("probe %d at %.4g QPS is not decided (%s); repeating it for %.0f s", state["n"], q,
                     result.why, seconds)
        return result

    bracket = max(cfg.search_tolerance, BRACKET_TOLERANCE)
    return qs.search(probe, start_qps, bracket, ceiling_qps, budget_s(runner),
                     step=lambda r: qs.tpot_step(r, runner.limits.ttft_ms, runner.limits.tpot_ms),
                     estimate_qps=estimate_qps)


def settle(runner: LoadGenRunner, result: qs.SearchResult) -> qs.SearchResult:
    """Long probes at the top of the bracket pick the rate to confirm (mlperf/qps_settle.py), sized from
    the request latency of the bisection's best probe; within the search budget, each with its drain."""
    if result.best_qps is None:
        return result
    cfg, limits = runner.cfg, runner.limits
    p90_latency_ms = runner.p90_latency_ms.get(result.best_qps)
    seconds = settle_seconds(p90_latency_ms, cfg.search_probe_s)
    ramp_ms = RAMP_LATENCIES * (p90_latency_ms or 0.0)
    n = iter(range(1, SETTLE_PROBES + 1))
    # A window misses the rare slow moments that set a full run's p99: aim lower by what a window of this
    # length missed in a full run of the same engine, where the history has one (qps_settle's doc).
    ref = runner.tail_reference(seconds)
    tpot_limit_ms = limits.tpot_ms * (1 - ref.shortfall) if ref else limits.tpot_ms
    tail = ""
    if ref:
        tail = (f"; long probes held to {tpot_limit_ms:.3g} ms of TPOT: windows of {seconds:.0f} s fell "
                f"{ref.shortfall:.0%} under the p99 of the full run {ref.run_id}")
        log.info("settle: in the full run %s of this engine, %d windows of %.0f s saw a median p99 TPOT %.0f%% "
                 "under the run's; long probes are judged against %.3g ms instead of %.3g ms", ref.run_id,
                 ref.windows, seconds, 100 * ref.shortfall, tpot_limit_ms, limits.tpot_ms)

    took: list[float] = []  # how long each long probe lasted, its drain and idle wait included

    def time_left() -> bool:
        # The next long probe lasts as long as the longest so far; before the first, its duration and a
        # drain as long (the bound after which an overloaded probe's backlog is cancelled).
        spent = 0.0 if runner.started is None else time.monotonic() - runner.started
        return spent + (max(took) if took else 2 * seconds) <= budget_s(runner)

    def probe(q: float) -> qs.ProbeResult:
        t0 = time.monotonic()
        try:
            return runner.probe(next(n), q, seconds, longest=True, headroom=SETTLE_TARGET, ramp_ms=ramp_ms,
                                kind="settle", tpot_limit_ms=tpot_limit_ms)
        finally:
            took.append(time.monotonic() - t0)

    log.info("settle: long probes of %.0f s from %.4g QPS (judged after a %.0f s ramp, within %.0f%% of the "
             "limits)", seconds, result.best_qps, ramp_ms / 1000, 100 * SETTLE_TARGET)
    # no Server rate exceeds the Offline ceiling; a short probe failed on its TPOT alone is a window, not a wall
    upper = bisection_bound(result.probes, result.ceiling_qps, limits.ttft_ms, limits.tpot_ms)
    if result.lowest_failing_qps is not None and (upper is None or upper > result.lowest_failing_qps):
        room = f"up to {upper:.4g} QPS" if upper is not None else "above it"
        above = (f"the short probe at {result.lowest_failing_qps:.4g} QPS failed on p99 TPOT alone (a window sees up "
                 f"to {WINDOW_HOT:g}x its run's p99): the long probes may go {room}")
        log.info("settle: %s", above)
        tail += f"; {above}"
    settled = qps_settle(probe, result.best_qps, upper, limits.ttft_ms, tpot_limit_ms, cfg.search_tolerance,
                         time_left)
    settled = replace(settled, why=settled.why + tail)
    log.info("settle: %s -> %s", settled.why, f"{settled.qps:.4g} QPS" if settled.qps else "the bisection's best")
    return replace(result, settle_probes=settled.probes, settled_qps=settled.qps, settle_why=settled.why)


def budget_s(runner: Any) -> float:
    """The probes' budget in seconds, from the runner's configuration (simulated runners have one too)."""
    minutes = runner.cfg.search_budget_min
    return DEFAULT_BUDGET_S if minutes is None else minutes * 60


def confirm(runner: LoadGenRunner, qps: float) -> Confirmation:
    """Full runs from qps: step down (by how far a run missed) while not VALID; after a VALID run below
    a failed one, climb toward it while the TPOT model leaves room (qps_search.climb_target). A run that
    missed only LoadGen's early stopping for too few queries is repeated at the same QPS with as many as
    it needs. Stops early when a run failed for a reason a lower QPS does not fix. The highest VALID
    attempt is chosen."""
    tol = runner.cfg.search_tolerance
    attempts: list[Attempt] = []
    best: Attempt | None = None
    failed_at: float | None = None
    not_load = False
    min_queries = runner.queries_for_early_stopping(qps)
    for n in range(1, CONFIRM_ATTEMPTS + 1):
        attempt = runner.full_run(n, qps, min_queries)
        nxt_queries: int | None = None
        if attempt.valid:
            best = attempt if best is None or attempt.qps > best.qps else best
            nxt = None if failed_at is None else qs.climb_target(qps, attempt.record, failed_at, runner.limits.tpot_ms)
            if nxt is None or nxt <= qps * (1 + tol):  # no room worth a full run
                attempts.append(attempt)
                break
            why = f"VALID below the failed {failed_at:.4g} QPS: climbing"
        else:
            clean = not attempt.record.get("num_errors") and not attempt.test.sut_errors
            longer = qs.early_stopping_rerun(attempt.record, attempt.timings, runner.limits, MAX_QUERY_GROWTH)
            if clean and longer is not None:
                nxt, nxt_queries = qps, longer[0]
                why = (f"early stopping needs {longer[0]} queries with {longer[1]:.2%} over a limit "
                       f"({attempt.record.get('query_count')} ran): the same QPS, longer")
            else:
                failed_at = qps if failed_at is None else min(failed_at, qps)
                if best is not None:  # the climb failed: the VALID attempt below is the result
                    attempts.append(attempt)
                    break
                if clean and not qs.failed_for_load(qps, attempt.record, runner.limits.ttft_ms,
                                                    runner.limits.tpot_ms, tol):
                    attempts.append(attempt)  # a lower QPS would not fix it (too short, too few samples)
                    not_load = True
                    break
                nxt, why = qs.next_confirmation_qps(qps, attempt.record, runner.limits.ttft_ms,
                                                    runner.limits.tpot_ms, tol)
        last = n == CONFIRM_ATTEMPTS
        attempts.append(attempt if last else replace(attempt, why_next=why))
        if not last:
            log.warning("confirmation at %.4g QPS %s; trying %.4g QPS (%s)", qps,
                        "VALID" if attempt.valid else "not VALID", nxt, why)
            qps = nxt
            min_queries = nxt_queries or runner.queries_for_early_stopping(qps)
    return Confirmation(best, attempts, not_load)


def start_qps(ceiling_qps: float | None, estimate_qps: float | None = None) -> float:
    """Where the bracket starts: a share of the Offline ceiling or of a burst's estimate, or START_QPS."""
    known = ceiling_qps or estimate_qps
    return CEILING_START_SHARE * known if known else START_QPS
