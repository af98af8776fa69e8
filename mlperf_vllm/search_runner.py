"""--server-target-qps search: short LoadGen Server probes on the loaded engine, then the caller's
full performance test at the chosen QPS confirms it (stepping down if it does not hold).

Probes reuse the run's one TestSettings (FromConfig is once per process), changing only the target
QPS, the minimum duration and query count, and equal-issue padding; everything is restored after.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from . import rules
from .config import Mode
from .errors import BenchError, EXIT_NOT_VALID
from .mlperf import harness, logs
from .mlperf import qps_search as qs
from .progress import Progress

log = logging.getLogger(__name__)

PROBE_MIN_QUERIES = 40  # at most; a low-QPS probe takes fewer so that it still lasts about the probe duration
START_QPS = 2.0  # without an Offline ceiling: double from here
CONFIRM_ATTEMPTS = 3
# A probe whose p50 TTFT or TPOT climbs from its first to its last quarter by more than this share of
# the limit is over capacity: its queue (TTFT) or its batch (TPOT) keeps growing, and a full-length run
# would exceed the limit even where the short probe did not.
GROWTH_SHARE = 0.25


def growth_ms(rows: list[dict[str, Any]], key: str) -> float | None:
    """Median of rows[key] over the last quarter of queries (by issue time) minus that of the first quarter."""
    values = [r[key] for r in sorted(rows, key=lambda r: r["issued_ms"]) if r.get(key) is not None]
    if len(values) < 8:
        return None
    q = len(values) // 4
    early, late = sorted(values[:q]), sorted(values[-q:])
    return late[len(late) // 2] - early[len(early) // 2]


def over_capacity(rows: list[dict[str, Any]], limits: rules.TokenLatencyLimits) -> dict[str, float] | None:
    """The TTFT/TPOT growths (ms) of a probe if either exceeds GROWTH_SHARE of its limit, else None."""
    growth = {"ttft": growth_ms(rows, "ttft_ms"), "tpot": growth_ms(rows, "tpot_ms")}
    limit = {"ttft": limits.ttft_ms, "tpot": limits.tpot_ms}
    if any(g is not None and g > GROWTH_SHARE * limit[k] for k, g in growth.items()):
        return {k: round(g, 3) for k, g in growth.items() if g is not None}
    return None


class NoValidQps(BenchError):
    """No probed QPS met the latency limits."""

    exit_code = EXIT_NOT_VALID


def _probe_fn(ctx: Any, settings: Any, sut: Any, lg: Any, limits: rules.TokenLatencyLimits, progress: bool):
    search_dir = ctx.run_dir / "Search"
    n = [0]

    def probe(q: float) -> qs.ProbeResult:
        n[0] += 1
        saved = (settings.server_target_qps, settings.min_duration_ms, settings.min_query_count,
                 settings.sample_concatenate_permutation)
        settings.server_target_qps = q
        settings.min_duration_ms = int(ctx.cfg.search_probe_s * 1000)
        settings.min_query_count = int(min(PROBE_MIN_QUERIES, max(2, q * ctx.cfg.search_probe_s)))
        settings.sample_concatenate_permutation = False  # no padding to the whole data set for a probe
        out = search_dir / f"probe-{n[0]:02d}-qps-{q:.4g}"
        t0 = time.perf_counter()
        try:
            with Progress(f"search probe {n[0]} at {q:.4g} QPS", lambda: (sut.completed, sut.completed_tokens),
                          enabled=progress):
                harness.run_test(settings, Mode.PERFORMANCE, sut, len(ctx.samples), out, lg)
        finally:
            (settings.server_target_qps, settings.min_duration_ms, settings.min_query_count,
             settings.sample_concatenate_permutation) = saved
        rec = logs.read_log_dir(out)
        ok, ttft, tpot = qs.passes(rec, limits.ttft_ms, limits.tpot_ms)
        rows = sut.timing_rows()
        overloaded = over_capacity(rows, limits) is not None
        result = qs.ProbeResult(q, ttft, tpot, rec["throughput"]["completed_tokens_per_s"], rec["num_errors"] or 0,
                                ok and not overloaded, time.perf_counter() - t0, str(out.relative_to(ctx.run_dir)),
                                overloaded=overloaded)
        log.info("probe %d: %.4g QPS -> p99 TTFT %s ms, p99 TPOT %s ms, growth TTFT %s / TPOT %s ms, %s", n[0], q,
                 ttft, tpot, growth_ms(rows, "ttft_ms"), growth_ms(rows, "tpot_ms"), result.verdict)
        return result

    return probe


def run_search(ctx: Any, settings: Any, sut: Any, lg: Any, ceiling: tuple[float, str] | None,
               progress: bool) -> float:
    """Search and return the candidate QPS; records every probe in ctx.search."""
    cfg = ctx.cfg
    limits = rules.TOKEN_LATENCY_LIMITS[cfg.scenario]
    ceiling_qps = ceiling[0] if ceiling else None
    start = 0.5 * ceiling_qps if ceiling_qps else START_QPS
    result = qs.search(_probe_fn(ctx, settings, sut, lg, limits, progress), start, cfg.search_tolerance,
                       ceiling_qps, cfg.search_budget_min * 60)
    ctx.search = result.to_dict() | {"ceiling_from": ceiling[1] if ceiling else None, "start_qps": start,
                                     "limits": {"p99_ttft_ms": limits.ttft_ms, "p99_tpot_ms": limits.tpot_ms},
                                     "confirmations": []}
    if result.best_qps is None:
        lowest = min(p.qps for p in result.probes) if result.probes else start
        raise NoValidQps(f"{cfg.scenario.display} search: no QPS met p99 TTFT < {limits.ttft_ms:g} ms and "
                         f"p99 TPOT < {limits.tpot_ms:g} ms (lowest probe {lowest:.4g} QPS, stopped by "
                         f"{result.stopped_by}); check run.log and the engine settings.")
    return result.best_qps


def confirm_or_step_down(ctx: Any, run_perf: Any, qps: float) -> None:
    """Run the full performance test at qps; step down while it is not VALID, climb back while it is.

    run_perf(qps, log_dir) runs the caller's performance test and returns its parsed record. After a
    failed attempt the next QPS is at most (1 - tolerance) x the rate that attempt completed (an
    overloaded run measures the engine's capacity). After a VALID attempt below a failed one, if the
    gap is wider than twice the tolerance and attempts remain, the midpoint is tried; if that fails,
    the VALID run is put back. Performance/ always ends up holding the highest VALID run; every other
    attempt is kept under Search/.
    """
    tol = ctx.cfg.search_tolerance
    step = max(2 * tol, 0.03)
    final = ctx.run_dir / "Performance"
    best: tuple[float, Path, dict[str, Any], Any, Any] | None = None  # qps, kept dir, record, timings, TestRun
    failed_at: float | None = None
    for attempt in range(1, CONFIRM_ATTEMPTS + 1):
        record = run_perf(qps, final)
        valid = bool(record.get("valid")) and not record.get("num_errors")
        ctx.search["confirmations"].append({"qps": qps, "valid": valid, "attempt": attempt,
                                            "result_validity": record.get("result_validity")})
        if valid:
            narrow = failed_at is None or (failed_at - qps) <= 2 * tol * failed_at
            if narrow or attempt == CONFIRM_ATTEMPTS:
                ctx.search["confirmed_qps"] = qps
                return
            kept = _set_aside(ctx, final, f"confirm-{attempt}-qps-{qps:.4g}-valid")
            best = (qps, kept, record, ctx.timings.get(Mode.PERFORMANCE.value), ctx.tests[-1] if ctx.tests else None)
            nxt = (qps + failed_at) / 2
            log.info("confirmation at %.4g QPS VALID, below the failed %.4g QPS; trying %.4g QPS", qps, failed_at, nxt)
            qps = nxt
            continue
        failed_at = qps if failed_at is None else min(failed_at, qps)
        if best is not None:  # the climb failed: the VALID run below it is the result
            _set_aside(ctx, final, f"confirm-{attempt}-qps-{qps:.4g}")
            best_qps, kept, best_record, timings, test_run = best
            kept.rename(final)
            if test_run is not None:
                test_run.log_dir = final
            ctx.performance = best_record
            if timings is not None:
                ctx.timings[Mode.PERFORMANCE.value] = timings
            ctx.search["confirmed_qps"] = best_qps
            log.warning("confirmation at %.4g QPS not VALID; keeping the VALID run at %.4g QPS", qps, best_qps)
            return
        if attempt < CONFIRM_ATTEMPTS:
            _set_aside(ctx, final, f"confirm-{attempt}-qps-{qps:.4g}")
            completed = (record.get("throughput") or {}).get("completed_samples_per_s")
            nxt = qps * (1 - step)
            if completed:
                nxt = min(nxt, (1 - tol) * completed)
            log.warning("confirmation at %.4g QPS not VALID; trying %.4g QPS", qps, nxt)
            qps = nxt
    ctx.search["confirmed_qps"] = None
    raise NoValidQps(f"{ctx.cfg.scenario.display} search: the full run was not VALID at {qps:.4g} QPS after "
                     f"{CONFIRM_ATTEMPTS} attempts (the probes are shorter than the full run); lower "
                     "--server-target-qps by hand or lengthen the search.")


def _set_aside(ctx: Any, final: Path, name: str) -> Path:
    """Move the last attempt's logs from Performance/ to Search/<name>, and point its TestRun there."""
    kept = ctx.run_dir / "Search" / name
    kept.parent.mkdir(parents=True, exist_ok=True)
    final.rename(kept)
    for test_run in ctx.tests:
        if test_run.log_dir == final:
            test_run.log_dir = kept
    return kept
