"""The QPS search as a step of a benchmark run: probes, long probes and the full runs that confirm a rate
(orchestrate/search.py), recorded in the run's outcome however the step ends. A search stopped midway
(Ctrl-C, SIGTERM, an engine failure) keeps every probe and full run it judged in the summary and the
report, as a finished one does."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Any

from .. import rules
from ..config import RunConfig
from ..mlperf import harness
from ..mlperf import qps_search as qs
from ..mlperf.sut import SystemUnderTest
from ..results import summary as summ
from . import plan as planning
from . import rate_estimate, search
from .search import Confirmation, LoadGenRunner, NoValidQps

log = logging.getLogger(__name__)


def test_record(run_dir: Path, test: harness.TestRun) -> summ.TestRecord:
    """A LoadGen test as the summary lists it, its failed samples counted by cause."""
    return summ.TestRecord(test.mode, test.log_dir.relative_to(run_dir).as_posix(), test.seconds,
                           test.samples_completed, len(test.sut_errors), summ.error_causes(test.sut_errors),
                           test.gc.to_dict() if test.gc is not None else None,
                           test.machine.to_dict() if test.machine is not None else None)


class RecordingRunner(search.LoadGenRunner):
    """The search's LoadGen runner that also keeps what ran, in order, whatever ends the search: every
    probe as judged (with its kind: "probe" or "settle") and every full run."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.judged: list[tuple[str, qs.ProbeResult]] = []
        self.attempts: list[search.Attempt] = []

    def probe(self, n: int, qps: float, seconds: float, *args: Any, **kwargs: Any) -> qs.ProbeResult:
        result = super().probe(n, qps, seconds, *args, **kwargs)
        kind = result.log_dir.rsplit("/", 1)[-1].split("-", 1)[0]  # Search/<kind>-<n>-qps-<qps>
        self.judged.append((kind, result))
        return result

    def full_run(self, n: int, qps: float, min_queries: int | None = None) -> search.Attempt:
        attempt = super().full_run(n, qps, min_queries)
        self.attempts.append(attempt)
        return attempt


def search_so_far(runner: RecordingRunner, ceiling_qps: float | None, stopped_by: str) -> qs.SearchResult:
    """A search that did not end (interrupted, or the engine failed): every probe and long probe judged so
    far, as the summary lists a finished search's (a probe repeated longer is listed each time it ran), the
    best and lowest failing rates among the short probes' final verdicts, and what stopped it."""
    short = [r for kind, r in runner.judged if kind == "probe"]
    passed = [r.qps for r in short if r.passed and r.final]
    failed = [r.qps for r in short if not r.passed and r.final]
    tolerance = max(runner.cfg.search_tolerance, search.BRACKET_TOLERANCE)  # the bracket run_search aims at
    return qs.SearchResult(probes=short, best_qps=max(passed, default=None),
                           lowest_failing_qps=min(failed, default=None), stopped_by=stopped_by, tolerance=tolerance,
                           ceiling_qps=ceiling_qps, settle_probes=[r for kind, r in runner.judged if kind == "settle"])


class SearchStep:
    """Measurement's QPS search (a mixin: it uses the run's plan, folder, outcome, progress and record())."""

    plan: planning.RunPlan
    run_dir: Path
    outcome: summ.RunOutcome
    progress: bool
    searching: RecordingRunner | None = None  # during the search and its confirmation
    search_start: float | None = None
    rate_estimate: dict[str, Any] | None = None  # the burst that placed the first probe (no Offline ceiling)

    def record(self, test: harness.TestRun, timings: list[dict[str, Any]], record: dict[str, Any] | None) -> None:
        raise NotImplementedError

    def search_and_confirm(self, plan: planning.RunPlan, settings: Any, sut: SystemUnderTest,
                           lg: Any) -> planning.RunPlan:
        """The QPS search and its confirmation; however they end (an interrupt, an engine failure), what
        they measured is in the outcome."""
        runner = RecordingRunner(
            plan.cfg, self.run_dir, settings, sut, lg, len(plan.samples),
            lambda q, min_queries: planning.user_conf_text(plan.with_target_qps(q, "", min_queries).cfg),
            self.progress)
        self.searching = runner
        try:
            return self._search(plan, runner)
        except BaseException as exc:
            self.keep_search_so_far("interrupt" if isinstance(exc, KeyboardInterrupt) else "error")
            raise
        finally:
            self.searching = None

    def _search_record(self, plan: planning.RunPlan, runner: RecordingRunner, result: qs.SearchResult,
                       probes_s: float) -> dict[str, Any]:
        limits = rules.TOKEN_LATENCY_LIMITS[plan.cfg.scenario]
        return result.to_dict() | {"ceiling_from": plan.ceiling.run_id if plan.ceiling else None,
                                   "start_qps": self.search_start, "rate_estimate": self.rate_estimate,
                                   "limits": {"p99_ttft_ms": limits.ttft_ms, "p99_tpot_ms": limits.tpot_ms},
                                   "confirmations": [], "confirmed_qps": None, "probes_s": round(probes_s, 1),
                                   "full_runs_s": None, "budget_s": runner.budget_s}

    def keep_search_so_far(self, stopped_by: str) -> None:
        """The search's probes, long probes and full runs so far into the outcome, when the search did not
        get to record them itself: stopped by an "interrupt" or an "error" (the engine failed) midway."""
        runner = self.searching
        if runner is None:
            return
        record = self.outcome.search
        if record is None:
            ceiling = self.plan.ceiling.samples_per_s if self.plan.ceiling else None
            probes_s = 0.0 if runner.started is None else time.monotonic() - runner.started
            so_far = search_so_far(runner, ceiling, stopped_by)
            record = self.outcome.search = self._search_record(self.plan, runner, so_far, probes_s)
        elif record["confirmations"] or not runner.attempts:
            return  # the search recorded all it ran
        record["confirmations"] = search.Confirmation(None, runner.attempts).to_dict()
        self.outcome.tests += [test_record(self.run_dir, a.test) for a in runner.attempts]
        note = (f"the QPS search was stopped by an {stopped_by} before it finished: its {len(record['probes'])} "
                f"probes, {len(record['settle_probes'])} long probes and {len(runner.attempts)} full runs so far "
                "are listed as measured")
        self.outcome.notes.append(note)
        log.info("%s", note)

    def _search(self, plan: planning.RunPlan, runner: RecordingRunner) -> planning.RunPlan:
        cfg = plan.cfg
        ceiling = plan.ceiling.samples_per_s if plan.ceiling else None
        t0 = time.monotonic()
        expected = expected_line(runner, search.start_qps(ceiling), ceiling)
        log.info("search: %s", expected)
        print(f"QPS search: {expected}", file=sys.stderr)
        estimate = None if ceiling else rate_estimate.estimate(runner)
        self.rate_estimate = estimate.to_dict() if estimate else None
        start = self.search_start = search.start_qps(ceiling, estimate.qps if estimate else None)
        if estimate:
            print(f"QPS search: the engine completed {estimate.completed} queries of a burst in {estimate.seconds:.0f} s "
                  f"({estimate.qps:.4g}/s); the probes start at {start:.4g} QPS; then {full_runs_line(runner, start)}",
                  file=sys.stderr)
        result = search.settle(runner, search.run_search(runner, start, ceiling, estimate.qps if estimate else None))
        record = self.outcome.search = self._search_record(plan, runner, result, time.monotonic() - t0)
        if result.best_qps is None:
            raise no_valid_probe(cfg, result, start)
        confirmation = search.confirm(runner, result.settled_qps or result.best_qps)
        record["confirmations"] = confirmation.to_dict()
        record["full_runs_s"] = round(time.monotonic() - t0 - record["probes_s"], 1)
        chosen = confirmation.chosen
        for attempt in confirmation.attempts:  # every other attempt's test, as it ran (under Search/)
            if chosen is None or attempt.log_dir != chosen.log_dir:
                self.outcome.tests.append(test_record(self.run_dir, attempt.test))
        if chosen is None:
            self.outcome.performance = confirmation.attempts[-1].record  # the report shows why it failed
            raise no_valid_run(cfg, confirmation)
        record["confirmed_qps"] = chosen.qps
        which = next(i for i, a in enumerate(confirmation.attempts, 1) if a.log_dir == chosen.log_dir)
        final = self.run_dir / "Performance"
        chosen.log_dir.rename(final)
        record["confirmations"][which - 1]["log_dir"] = final.name
        chosen.test.log_dir = final
        self.record(chosen.test, chosen.timings, chosen.record)
        return plan.with_target_qps(chosen.qps, f"search: confirmed by full run {which} of "
                                                f"{len(confirmation.attempts)}", chosen.min_query_count)


def expected_line(runner: LoadGenRunner, start_qps: float, ceiling_qps: float | None) -> str:
    """What the search expects to take, said before its first probe."""
    how = "--search-budget-min" if runner.cfg.search_budget_min is not None else "the default; --search-budget-min"
    probes = f"probes for at most {runner.budget_s / 60:.1f} min ({how})"
    if ceiling_qps is None:
        return (f"{probes}, then a full run of at least {runner.settings.min_duration_ms / 60000:.1f} min at the pick "
                "(longer at a low rate: whole passes over the samples)")
    return f"{probes}, then {full_runs_line(runner, start_qps)}"


def full_runs_line(runner: LoadGenRunner, qps: float) -> str:
    """How long the confirmation takes at about qps: one full run if it is VALID, each further attempt as long."""
    full = runner.full_run_seconds(qps)
    return (f"a full run of about {full / 60:.1f} min at the pick (as at {qps:.4g} QPS): at most about "
            f"{(runner.budget_s + full) / 60:.0f} min in all when it is VALID (each further full run, at most "
            f"{search.CONFIRM_ATTEMPTS - 1}, adds as much)")


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
