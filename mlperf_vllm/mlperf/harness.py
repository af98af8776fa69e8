"""LoadGen settings (mlperf.conf + user.conf) and running one LoadGen test over a SUT.

`TestSettings.FromConfig` is called once per process: a second call logs "Multiple conf files are
used" and costs the next run its token metrics. One settings object therefore serves every test of
a process (accuracy, performance, QPS probes); only the mode and explicitly set fields change.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import interrupts, rules
from ..config import Mode, Scenario
from ..progress import LOG_EVERY_S, Progress
from ..results.folder import keep_interrupted_timings
from .gcpause import GcStats, GcWatch
from .machine import MachineStats, MachineWatch

log = logging.getLogger(__name__)

ABORT_WAIT_S = 5.0  # after an interrupt, how long LoadGen gets to wind down


@dataclass(frozen=True)
class UserConfRequest:
    """What the flags ask LoadGen to change; rendered into the user.conf the run saves."""

    model_name: str
    scenario: Scenario
    total_sample_count: int
    official_sample_count: int
    target_qps: float | None = None  # Offline expected QPS, or Server/Interactive target QPS
    target_latency_ms: float | None = None  # SingleStream expected latency
    min_duration_ms: int | None = None
    min_query_count: int | None = None  # at least this many queries (the QPS search sizes it for early stopping)


def conf_key(model_name: str, scenario: Scenario) -> str:
    """The prefix of a model's and scenario's keys in user.conf, as loadgen/mlperf.conf names them."""
    return f"{model_name}.{scenario.loadgen_name}"


def render_user_conf(req: UserConfRequest) -> str:
    """user.conf lines for the flags given; keys follow loadgen/mlperf.conf naming."""
    key = conf_key(req.model_name, req.scenario)
    lines = ["# Written by run.py from its flags; LoadGen reads it after its built-in mlperf.conf."]
    if req.target_qps is not None:
        lines.append(f"{key}.target_qps = {req.target_qps:g}")
    if req.target_latency_ms is not None:
        lines.append(f"{key}.target_latency = {req.target_latency_ms:g}")
    if req.min_duration_ms is not None:
        lines.append(f"# --min-duration: shorter than MLPerf's {rules.MIN_DURATION_MS} ms, not valid for submission")
        lines.append(f"{key}.min_duration = {req.min_duration_ms}")
    min_queries = req.min_query_count
    if req.total_sample_count < req.official_sample_count:
        # A partial data set: the performance set and the minimum query count follow it, as the
        # full set's 13368/5000 do in mlperf.conf. Not valid for submission.
        lines.append(f"# partial data set ({req.total_sample_count} of {req.official_sample_count} samples)")
        lines.append(f"{key}.performance_sample_count_override = {req.total_sample_count}")
        min_queries = max(min_queries or 0, req.total_sample_count)
        if req.scenario is Scenario.SINGLESTREAM:
            # LoadGen's early-stopping estimate of the p90 latency needs at least this many queries.
            min_queries = max(min_queries, rules.SINGLESTREAM_EARLY_STOPPING_MIN_QUERIES)
    if min_queries is not None:
        if req.min_query_count is not None:
            lines.append("# the QPS search: as many queries as LoadGen's early stopping needs at p99")
        lines.append(f"{key}.min_query_count = {min_queries}")
    return "\n".join(lines) + "\n"


def make_settings(model_name: str, scenario: Scenario, user_conf: Path, lg: Any) -> Any:
    """TestSettings from LoadGen's built-in mlperf.conf plus user_conf (the one FromConfig call)."""
    settings = lg.TestSettings()
    settings.scenario = getattr(lg.TestScenario, scenario.loadgen_name)
    status = settings.FromConfig(str(user_conf), model_name, scenario.loadgen_name, 1)
    if status not in (None, 0):
        raise ValueError(f"LoadGen could not read {user_conf} (status {status})")
    return settings


_LOADGEN_SCENARIOS = {"Offline": Scenario.OFFLINE, "Server": Scenario.SERVER, "SingleStream": Scenario.SINGLESTREAM}


@dataclass(frozen=True)
class Schedule:
    """What a performance test will issue, from its settings (rules.performance_queries)."""

    queries: int
    target_qps: float
    passes: float  # over the performance sample set
    equal_issue: bool
    unit: str = "queries"  # Offline: the samples of its one query

    @property
    def seconds(self) -> float:
        """The schedule's length at the target rate (Offline: at its expected rate)."""
        return self.queries / self.target_qps

    def line(self) -> str:
        passes = f"{self.passes:g} pass" + ("" if self.passes == 1 else "es")
        padded = f"{passes} over the samples, LoadGen's equal issue" if self.equal_issue else ""
        rate = f"the expected {self.target_qps:g} samples/s" if self.unit == "samples" else f"{self.target_qps:g} QPS"
        return (f"{self.queries:,} {self.unit}" + (f" ({padded})" if padded else "")
                + f", about {self.seconds:,.0f} s at {rate}")


def schedule(settings: Any, n_samples: int) -> Schedule | None:
    """The queries a performance test on `settings` issues over n_samples; None for MultiStream or no rate."""
    scenario = _LOADGEN_SCENARIOS.get(str(getattr(settings, "scenario", "")).rsplit(".", 1)[-1])
    if scenario is None:
        return None
    if scenario is Scenario.OFFLINE:
        qps = settings.offline_expected_qps
    elif scenario is Scenario.SINGLESTREAM:
        latency_ns = settings.single_stream_expected_latency_ns
        qps = 1e9 / latency_ns if latency_ns else 0
    else:
        qps = settings.server_target_qps
    if not qps or qps <= 0:
        return None
    pool = settings.performance_sample_count_override or n_samples
    equal = bool(settings.sample_concatenate_permutation)
    queries = rules.performance_queries(scenario, qps, settings.min_duration_ms, settings.min_query_count, pool,
                                        equal)
    return Schedule(queries, qps, round(queries / pool, 2), equal,
                    "samples" if scenario is Scenario.OFFLINE else "queries")


@dataclass
class TestRun:
    """What one LoadGen test did."""

    mode: Mode
    log_dir: Path
    seconds: float
    samples_completed: int
    sut_errors: list[str]
    gc: GcStats | None = None
    machine: MachineStats | None = None
    first_issue_ns: int | None = None  # the zero of the SUT's timings (and of machine.csv)


def run_test(settings: Any, mode: Mode, sut: Any, n_samples: int, log_dir: Path, lg: Any,
             audit_config: Path | None = None, drain_s: float | None = None, gc_freeze: bool = False,
             label: str | None = None, show_progress: bool = False) -> TestRun:
    """Run one LoadGen test (AccuracyOnly or PerformanceOnly) and leave LoadGen's logs in log_dir.

    Its progress (`label`: done/total samples, tokens/s) is drawn on a terminal with show_progress and
    logged every LOG_EVERY_S either way; a performance test first logs what LoadGen will issue (schedule).

    drain_s (QPS probes): once LoadGen has issued its last query, what is still pending after this
    many seconds is cancelled (SystemUnderTest.cancel_pending), so the test ends and the engine is idle.
    gc_freeze: freeze the heap before the test (gcpause); the collector's pauses are timed either way.
    The host's and the GPUs' state is read every second throughout (machine.MachineWatch).
    """
    import time

    log_dir.mkdir(parents=True, exist_ok=True)
    settings.mode = lg.TestMode.AccuracyOnly if mode is Mode.ACCURACY else lg.TestMode.PerformanceOnly
    log_settings = lg.LogSettings()
    log_settings.log_output.outdir = str(log_dir)
    log_settings.log_output.copy_summary_to_stdout = False
    log_settings.enable_trace = False
    plan = schedule(settings, n_samples) if mode is Mode.PERFORMANCE else None
    if plan is not None:
        log.info("the performance test issues about %s", plan.line())
    bar = Progress(label or f"{mode.value} test", lambda: (sut.completed, sut.completed_tokens),
                   enabled=show_progress, total=plan.queries if plan is not None else n_samples,
                   log_every_s=LOG_EVERY_S)
    sut.reset()
    lg_sut = lg.ConstructSUT(sut.issue_queries, sut.flush_queries)
    # The whole data set stays in RAM (as the reference does), so load/unload have nothing to do.
    qsl = lg.ConstructQSL(n_samples, n_samples, lambda _: None, lambda _: None)
    t0 = time.perf_counter()
    # LoadGen runs in a worker thread so that the main thread stays responsive to Ctrl-C / SIGTERM.
    # LoadGen applies an audit.config it finds at this path (compliance tests). Its default is the
    # working directory, where a stray compliance file would silently change a normal run: name a
    # path that exists only when a compliance test is asked for.
    audit_path = str(audit_config) if audit_config is not None else str(log_dir / "audit.config")
    failure: list[BaseException] = []
    done = threading.Event()  # not Thread.is_alive(): an interrupted join() can make it lie

    def target() -> None:
        try:
            lg.StartTestWithLogSettings(lg_sut, qsl, settings, log_settings, audit_path)
        except BaseException as exc:  # re-raised in the caller's thread
            failure.append(exc)
        finally:
            done.set()

    with GcWatch(gc_freeze) as gc_stats, MachineWatch() as machine, bar:
        threading.Thread(target=target, name="loadgen", daemon=True).start()
        drain_deadline: float | None = None
        try:
            while not done.wait(timeout=0.2):
                if drain_s is None or not sut.schedule_ended.is_set():
                    continue
                if drain_deadline is None:
                    drain_deadline = time.perf_counter() + drain_s
                elif time.perf_counter() >= drain_deadline:
                    n = sut.cancel_pending()
                    if n:
                        log.info("cancelled %d samples still pending %.0f s after the last was issued", n, drain_s)
                    drain_s = None
        except KeyboardInterrupt:
            interrupts.settle()  # taken up here: the process need not be forced out
            n = sut.abort("interrupted")
            log.warning("interrupted: completed %d pending samples without output; waiting for LoadGen", n)
            if mode is Mode.PERFORMANCE:  # what was measured so far, for diagnosis
                keep_interrupted_timings(log_dir / "sut_timings.csv", sut.timing_rows)
            # If LoadGen is still issuing its schedule, the QSL and SUT stay alive: the caller exits the process.
            done.wait(timeout=ABORT_WAIT_S)
            raise
        finally:
            if done.is_set():  # LoadGen may still use them otherwise; the process exits instead
                lg.DestroyQSL(qsl)
                lg.DestroySUT(lg_sut)
    if failure:
        raise failure[0]
    log.info("%s %s", mode.value, machine.line())
    log.info("%s %s", mode.value, gc_stats.line())  # a test's last line (gpu_campaign reads it so)
    return TestRun(mode, log_dir, time.perf_counter() - t0, sut.completed, list(sut.errors), gc_stats, machine,
                   sut.first_issue_ns())


