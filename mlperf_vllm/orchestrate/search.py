"""--server-target-qps search: LoadGen Server probes on the loaded engine until their steady state,
then full performance runs that confirm the pick (stepping by how far a failed run missed).

Both steps return values and move no folder: every probe and every confirmation attempt writes its
LoadGen logs (and the user.conf it ran) under Search/; the benchmark run puts the chosen attempt in
Performance/. Probes reuse the run's one TestSettings (FromConfig is once per process), changing only
the target QPS, the minimum duration and query count, and equal-issue padding; all restored after.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .. import rules
from ..config import Mode, RunConfig
from ..errors import EXIT_NOT_VALID, BenchError
from ..mlperf import harness, logs
from ..mlperf import qps_search as qs
from ..progress import Progress
from ..results.atomic import write_text_atomic

log = logging.getLogger(__name__)

SEARCH_DIR = "Search"
START_QPS = 2.0  # without an Offline ceiling: double from here
CEILING_START_SHARE = 0.85  # with one: a Server run usually holds 0.9-0.98 of the Offline rate
CONFIRM_ATTEMPTS = 3
MAX_PROBE_S = 120.0
LENGTHENINGS = 2  # a probe too short for its own latency is repeated longer at most this often


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
                 "p99_ttft_ms": _ms((a.record.get("ttft_ns") or {}).get("99.00")),
                 "p99_tpot_ms": _ms((a.record.get("tpot_ns") or {}).get("99.00")),
                 "completed_samples_per_s": (a.record.get("throughput") or {}).get("completed_samples_per_s")}
                for i, a in enumerate(self.attempts)]


def _ms(ns: Any) -> float | None:
    return None if ns is None else round(ns / 1e6, 3)


class LoadGenRunner:
    """Runs LoadGen performance tests at a given QPS into Search/ folders, on one TestSettings and SUT."""

    def __init__(self, cfg: RunConfig, run_dir: Path, settings: Any, sut: Any, lg: Any, n_samples: int,
                 user_conf: Callable[[float], str], progress: bool) -> None:
        self.cfg, self.settings, self.sut, self.lg = cfg, settings, sut, lg
        self.dir, self.n_samples, self.user_conf, self.progress = run_dir / SEARCH_DIR, n_samples, user_conf, progress
        self.limits = rules.TOKEN_LATENCY_LIMITS[cfg.scenario]
        self.last_steady: qs.SteadyState | None = None
        self.last_decided = True

    def _run(self, qps: float, out: Path, label: str) -> harness.TestRun:
        out.mkdir(parents=True, exist_ok=True)
        write_text_atomic(out / "user.conf", self.user_conf(qps))  # what LoadGen ran here, to reproduce it
        self.settings.server_target_qps = qps
        with Progress(label, lambda: (self.sut.completed, self.sut.completed_tokens), enabled=self.progress):
            return harness.run_test(self.settings, Mode.PERFORMANCE, self.sut, self.n_samples, out, self.lg)

    def probe(self, n: int, qps: float, seconds: float) -> qs.ProbeResult:
        """One probe of `seconds` at qps, judged on its steady state."""
        s = self.settings
        saved = (s.server_target_qps, s.min_duration_ms, s.min_query_count, s.sample_concatenate_permutation)
        s.min_duration_ms = int(seconds * 1000)
        s.min_query_count = max(2, int(qps * seconds))
        s.sample_concatenate_permutation = False  # no padding to the whole data set for a probe
        out = self.dir / f"probe-{n:02d}-qps-{qps:.4g}"
        t0 = time.perf_counter()
        try:
            self._run(qps, out, f"search probe {n} at {qps:.4g} QPS")
        finally:
            (s.server_target_qps, s.min_duration_ms, s.min_query_count, s.sample_concatenate_permutation) = saved
        return self._judge(qps, out, seconds, time.perf_counter() - t0)

    def _judge(self, qps: float, out: Path, seconds: float, took: float) -> qs.ProbeResult:
        rec = logs.read_log_dir(out)
        ok, ttft, tpot = qs.passes(rec, qs.PROBE_HEADROOM * self.limits.ttft_ms,
                                   qs.PROBE_HEADROOM * self.limits.tpot_ms)
        steady = qs.steady_state(self.sut.timing_rows())
        overloaded = steady is not None and steady.backlog_growing
        within = steady is None or (
            (steady.p99_ttft_ms or 0) < qs.PROBE_HEADROOM * self.limits.ttft_ms
            and (steady.p99_tpot_ms or 0) < qs.PROBE_HEADROOM * self.limits.tpot_ms)
        result = qs.ProbeResult(
            qps, ttft, tpot, rec["throughput"]["completed_tokens_per_s"], rec["num_errors"] or 0,
            ok and within and not overloaded, took, f"{SEARCH_DIR}/{out.name}", overloaded=overloaded,
            steady_p99_ttft_ms=None if steady is None else steady.p99_ttft_ms,
            steady_p99_tpot_ms=None if steady is None else steady.p99_tpot_ms,
            inflight=None if steady is None else (round(steady.inflight_early, 1), round(steady.inflight_late, 1)),
            probe_s=seconds)
        log.info("probe %s: %.4g QPS for %.0f s -> p99 TTFT %s ms, TPOT %s ms; steady window p99 TTFT %s ms, "
                 "TPOT %s ms, in flight %s; %s", out.name, qps, seconds, ttft, tpot, result.steady_p99_ttft_ms,
                 result.steady_p99_tpot_ms, result.inflight, result.verdict)
        self.last_steady = steady
        # A verdict is final when the probe reached its steady state, or when it failed on latency or
        # errors (a longer probe only gets worse). A pass, or a growing backlog within the limits, seen
        # before the batch had filled may be the ramp itself: the probe is repeated longer.
        self.last_decided = steady is None or steady.long_enough or not (ok and within)
        return result

    def full_run(self, n: int, qps: float) -> Attempt:
        """One full performance run at qps (the run's own duration and query count)."""
        out = self.dir / f"confirm-{n}-qps-{qps:.4g}"
        log.info("confirmation %d: full performance run at %.4g QPS", n, qps)
        test = self._run(qps, out, f"confirmation {n} at {qps:.4g} QPS")
        return Attempt(qps, out, logs.read_log_dir(out), test, self.sut.timing_rows())


def run_search(runner: LoadGenRunner, start_qps: float, ceiling_qps: float | None) -> qs.SearchResult:
    """Probe until the bracket is within the tolerance; each probe lasts long enough for its own latency."""
    cfg = runner.cfg
    state = {"n": 0, "seconds": cfg.search_probe_s}

    def probe(q: float) -> qs.ProbeResult:
        for _ in range(LENGTHENINGS + 1):
            state["n"] += 1
            result = runner.probe(state["n"], q, state["seconds"])
            steady = runner.last_steady
            if steady is not None:  # the next probe is sized from this one's latency
                state["seconds"] = max(state["seconds"],
                                       qs.probe_seconds(cfg.search_probe_s, MAX_PROBE_S, steady.p90_latency_ms))
            if runner.last_decided or result.seconds >= MAX_PROBE_S:
                return result
            log.info("probe %d at %.4g QPS ended before its steady state (%s); repeating it for %.0f s",
                     state["n"], q, result.verdict, state["seconds"])
        return result

    return qs.search(probe, start_qps, cfg.search_tolerance, ceiling_qps, cfg.search_budget_min * 60)


def confirm(runner: LoadGenRunner, qps: float) -> Confirmation:
    """Full runs from qps: step down (by how far a run missed) while not VALID; after a VALID run below
    a failed one, climb toward it while the TPOT model leaves room (qps_search.climb_target). Stops
    early when a run failed for a reason a lower QPS does not fix. The highest VALID attempt is chosen."""
    tol = runner.cfg.search_tolerance
    attempts: list[Attempt] = []
    best: Attempt | None = None
    failed_at: float | None = None
    not_load = False
    for n in range(1, CONFIRM_ATTEMPTS + 1):
        attempt = runner.full_run(n, qps)
        if attempt.valid:
            best = attempt if best is None or attempt.qps > best.qps else best
            nxt = None if failed_at is None else qs.climb_target(qps, attempt.record, failed_at, runner.limits.tpot_ms)
            if nxt is None or nxt <= qps * (1 + tol):  # no room worth a full run
                attempts.append(attempt)
                break
            nxt, why = nxt, f"VALID below the failed {failed_at:.4g} QPS: climbing"
        else:
            failed_at = qps if failed_at is None else min(failed_at, qps)
            if best is not None:  # the climb failed: the VALID attempt below is the result
                attempts.append(attempt)
                break
            if not attempt.record.get("num_errors") and not attempt.test.sut_errors and not qs.failed_for_load(
                    qps, attempt.record, runner.limits.ttft_ms, runner.limits.tpot_ms, tol):
                attempts.append(attempt)  # a lower QPS would not fix it (too few queries, too short)
                not_load = True
                break
            nxt, why = qs.next_confirmation_qps(qps, attempt.record, runner.limits.ttft_ms, runner.limits.tpot_ms, tol)
        attempts.append(Attempt(attempt.qps, attempt.log_dir, attempt.record, attempt.test, attempt.timings, why)
                        if n < CONFIRM_ATTEMPTS else attempt)
        if n < CONFIRM_ATTEMPTS:
            log.warning("confirmation at %.4g QPS %s; trying %.4g QPS (%s)", qps,
                        "VALID" if attempt.valid else "not VALID", nxt, why)
            qps = nxt
    return Confirmation(best, attempts, not_load)


def start_qps(ceiling_qps: float | None) -> float:
    """Where the bracket starts: a share of the Offline ceiling, or START_QPS doubling up."""
    return CEILING_START_SHARE * ceiling_qps if ceiling_qps else START_QPS


def no_valid_probe(cfg: RunConfig, result: qs.SearchResult, start: float) -> NoValidQps:
    limits = rules.TOKEN_LATENCY_LIMITS[cfg.scenario]
    lowest = min((p.qps for p in result.probes), default=start)
    return NoValidQps(f"{cfg.scenario.display} search: no QPS met p99 TTFT < {limits.ttft_ms:g} ms and "
                      f"p99 TPOT < {limits.tpot_ms:g} ms (lowest probe {lowest:.4g} QPS, stopped by "
                      f"{result.stopped_by}); check run.log and the engine settings.")


def no_valid_run(cfg: RunConfig, confirmation: Confirmation) -> NoValidQps:
    last = confirmation.attempts[-1] if confirmation.attempts else None
    if last is not None and confirmation.not_load:
        checks = last.record.get("validity_checks") or {}
        failed = ", ".join(k for k, v in checks.items() if v is False) or "see its LoadGen summary"
        return NoValidQps(f"{cfg.scenario.display} search: the full run at {last.qps:.4g} QPS met the latency limits "
                          f"but was INVALID ({failed}), which a lower QPS does not fix: run more samples "
                          "(--total-sample-count) or a longer --min-duration.")
    qps = last.qps if last else 0.0
    return NoValidQps(f"{cfg.scenario.display} search: the full run was not VALID at {qps:.4g} QPS after "
                      f"{len(confirmation.attempts)} attempts; lower --server-target-qps by hand "
                      "or lengthen the probes (--search-probe-duration).")
