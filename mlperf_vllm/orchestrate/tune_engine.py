"""The tuner's Engine and Session (tune/seam.py) over the project's in-process vLLM engine and LoadGen.

Each candidate starts its own engine. vLLM rejects settings it cannot run at once, and an engine that
cannot fit reports out of memory while it starts: both become StartFailed with the cause; a start whose
log and processes fall silent for the bound (no line logged, no CPU second spent) is given up and the
processes it started are ended. Offline scores generated tokens/s over a warm window of the run's own
samples, the engine's backlog kept full as LoadGen's one Offline query keeps it. Server and Interactive screen a candidate with one short LoadGen
probe at a QPS on an idle engine (orchestrate/search.py's LoadGenRunner.probe) and find its edge with the
run's own QPS search. MLPerf's rules hold inside: prefix caching off and greedy decoding
(engines/vllm_common.py), the run's data set, LoadGen's Poisson arrivals.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Sequence

from .. import diagnose, rules
from ..config import EngineConfig
from ..engines.base import Completion, Engine, GenerationRequest
from ..engines.factory import EngineFactory, start_engine, vllm_spec
from ..logfile import open_log_files
from ..mlperf import harness
from ..tune import edges
from ..tune.seam import Edge, Limits, Screen, StartFailed, bounded_start
from ..tune.settings import ENGINE_ARG_KNOBS, KNOBS, Settings
from . import plan as planning
from . import search

log = logging.getLogger(__name__)

WARM_PROBES, WINDOW_PROBES = 1, 3  # Offline: a warm-up of one probe duration, then a window of three
LATENCY_CAP = 10.0  # a screen that completed nothing reads as this many times each limit
IDLE_WAIT_S = 60.0  # after a window: how long the cancelled backlog may take to leave the engine
MAX_WINDOWS = 10  # a window whose engine finishes nothing twice in this many times its length reads 0 tokens/s


def engine_config(base: EngineConfig, s: Settings) -> EngineConfig:
    """The run's engine settings with a candidate's knobs (a switch that is off is left to vLLM)."""
    extra = {k: v for k, v in base.extra.items() if k not in KNOBS}
    extra.update({k: getattr(s, k) for k in ENGINE_ARG_KNOBS if getattr(s, k) not in (None, False)})
    return replace(base, max_num_batched_tokens=s.max_num_batched_tokens, max_num_seqs=s.max_num_seqs, extra=extra)


def _progress() -> tuple[int, int]:
    """What grows while an engine starts: the run's log files (weights, compile, graphs) and the CPU seconds
    of this process and the ones it started (a compile may log nothing for a minute, but it computes)."""
    size = 0
    for path in open_log_files():
        try:
            size += os.path.getsize(path)
        except OSError:
            continue
    try:
        import psutil
    except ImportError:
        return size, 0
    cpu = 0.0
    for proc in [psutil.Process(), *psutil.Process().children(recursive=True)]:
        try:
            t = proc.cpu_times()
            cpu += t.user + t.system
        except psutil.Error:
            continue
    return size, int(cpu)


def _log_tail(n_bytes: int = 20000) -> str:
    """The end of the run's log: where an engine core process wrote why it did not start."""
    text = ""
    for path in open_log_files():
        try:
            with open(path, "rb") as fh:
                fh.seek(max(0, os.path.getsize(path) - n_bytes))
                text += fh.read().decode(errors="replace")
        except OSError:
            continue
    return text


def _children() -> set[int]:
    try:
        import psutil
    except ImportError:
        return set()
    return {p.pid for p in psutil.Process().children(recursive=True)}


def _end_new_children(before: set[int]) -> None:
    """End the processes an abandoned start left (an engine core holding GPU memory), by their ids."""
    import signal

    for pid in sorted(_children() - before):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            continue


class _Window:
    """Offline's sink: when each request finished and with how many tokens; wakes the feeder."""

    def __init__(self) -> None:
        self.lock, self.event = threading.Lock(), threading.Event()
        self.finished: list[tuple[float, int]] = []
        self.errors: list[str] = []

    def on_first_token(self, tag: int, token_ids: Sequence[int]) -> None:
        pass

    def on_complete(self, completion: Completion) -> None:
        with self.lock:
            self.finished.append((time.perf_counter(), len(completion.token_ids)))
        self.event.set()

    def on_error(self, tag: int, message: str) -> None:
        with self.lock:
            self.errors.append(message)
        self.event.set()

    @property
    def ended(self) -> int:
        with self.lock:
            return len(self.finished) + len(self.errors)


def offline_rates(engine: Engine, prompts: list[list[int]], max_new_tokens: int, backlog: int,
                  warm_s: float, window_s: float) -> tuple[float, float]:
    """(Generated tokens/s, requests/s) between the first request to finish after `warm_s` and the last to finish by the
    window's end (at least `window_s` later, and at least one more finish: a large step may take longer than a
    short window), the engine kept at least `backlog` requests deep with whole passes over the samples. The
    first finish's tokens were made before the window opened, so they are not counted. Then the rest is
    cancelled and the engine left idle."""
    sink, submitted = _Window(), 0
    t0 = time.perf_counter()
    give_up = t0 + MAX_WINDOWS * (warm_s + window_s)
    while True:
        with sink.lock:
            times = [t for t, _ in sink.finished if t >= t0 + warm_s]
            if sink.errors and not sink.finished:
                raise RuntimeError(f"the engine failed every request of the window: {sink.errors[0]}")
        now = time.perf_counter()
        if (times and now >= times[0] + window_s and times[-1] > times[0]) or now >= give_up:
            break
        if submitted - sink.ended < backlog:  # a pass at a time: an engine may finish inside submit()
            engine.submit([GenerationRequest(submitted + i, p, max_new_tokens=max_new_tokens)
                           for i, p in enumerate(prompts)], sink)
            submitted += len(prompts)
            continue
        sink.event.clear()
        sink.event.wait(1.0)
    _drain(engine, sink, submitted)
    with sink.lock:
        window = [(t, n) for t, n in sink.finished if t0 + warm_s <= t <= now]
    if len({t for t, _ in window}) < 2:
        return 0.0, 0.0
    first, last = min(t for t, _ in window), max(t for t, _ in window)
    counted = [n for t, n in window if t > first]
    return sum(counted) / (last - first), len(counted) / (last - first)


def _drain(engine: Engine, sink: _Window, submitted: int) -> None:
    """Cancel what is still queued or running and wait (bounded) until it has left the engine."""
    cancel = getattr(engine, "cancel_all", None)
    if cancel is not None:
        cancel()
    deadline = time.monotonic() + IDLE_WAIT_S
    while sink.ended < submitted and time.monotonic() < deadline:
        sink.event.clear()
        sink.event.wait(1.0)


class TuneSession:
    """A started candidate: its engine, and for Server/Interactive a SUT and a LoadGen runner on it."""

    def __init__(self, owner: "TuneEngine", engine: Engine, s: Settings, folder: Path) -> None:
        self.owner, self.engine, self.settings = owner, engine, s
        self.runner: search.LoadGenRunner | None = None
        self.probes = 0
        self.samples_per_s: float | None = None
        cfg = owner.plan.cfg
        if owner.serving:
            from ..mlperf.sut import SystemUnderTest

            sut = SystemUnderTest(engine, owner.plan.samples, stream=True, max_new_tokens=cfg.max_new_tokens,
                                  lg=owner.lg)
            plan = owner.plan
            self.runner = search.LoadGenRunner(
                cfg, folder, owner.loadgen_settings(), sut, owner.lg, len(plan.samples),
                lambda q, mq: planning.user_conf_text(plan.with_target_qps(q, "", mq).cfg), False)

    def tokens_per_s(self) -> float:
        """Offline's score; the window's samples/s is kept in `samples_per_s` (it sizes LoadGen's Offline query)."""
        cfg, o = self.owner.plan.cfg, self.owner
        backlog = max(2 * self.settings.max_num_seqs, len(o.plan.samples))
        tokens, self.samples_per_s = offline_rates(self.engine, o.plan.samples.prompts, cfg.max_new_tokens, backlog,
                                                   WARM_PROBES * cfg.search_probe_s, WINDOW_PROBES * cfg.search_probe_s)
        return tokens

    def screen(self, qps: float) -> Screen:
        assert self.runner is not None
        self.probes += 1
        r = self.runner.probe(self.probes, qps, self.owner.plan.cfg.search_probe_s, kind="screen")
        lim = self.owner.limits
        ttft = r.steady_p99_ttft_ms if r.steady_p99_ttft_ms is not None else r.p99_ttft_ms
        tpot = r.steady_p99_tpot_ms if r.steady_p99_tpot_ms is not None else r.p99_tpot_ms
        return Screen(qps, LATENCY_CAP * lim.ttft_ms if ttft is None else min(ttft, LATENCY_CAP * lim.ttft_ms),
                      LATENCY_CAP * lim.tpot_ms if tpot is None else min(tpot, LATENCY_CAP * lim.tpot_ms))

    def edge(self, start_qps: float) -> Edge:
        """The run's QPS search on this engine (short probes only: candidates are compared, not confirmed)."""
        assert self.runner is not None
        ceiling = self.owner.plan.ceiling.samples_per_s if self.owner.plan.ceiling else None
        return edges.edge_of(search.run_search(self.runner, start_qps, ceiling), self.owner.limits)

    def close(self) -> None:
        self.engine.shutdown()


class TuneEngine:
    """Starts a candidate's engine with the run's other settings; its LoadGen probes go under `folder`."""

    def __init__(self, plan: planning.RunPlan, folder: Path, factory: EngineFactory | None = None,
                 lg: Any = None) -> None:
        self.plan, self.folder, self.factory, self.lg = plan, folder, factory or start_engine, lg
        self.serving = plan.cfg.scenario in rules.TOKEN_LATENCY_LIMITS
        lim = rules.TOKEN_LATENCY_LIMITS.get(plan.cfg.scenario)
        self.limits = Limits(lim.ttft_ms, lim.tpot_ms) if lim else None
        self._settings: Any = None
        if self.serving and self.lg is None:
            import mlperf_loadgen

            self.lg = mlperf_loadgen

    def loadgen_settings(self) -> Any:
        """LoadGen's TestSettings, read once per process (harness's doc) and shared by every probe."""
        if self._settings is None:
            cfg = self.plan.cfg
            with tempfile.TemporaryDirectory(prefix="mlperf-tune-conf-") as tmp:
                base = Path(tmp) / "user.conf"
                base.write_text(planning.user_conf_text(cfg))
                self._settings = harness.make_settings(rules.loadgen_model_name(cfg.category, cfg.scenario),
                                                       cfg.scenario, base, self.lg)
        return self._settings

    def start(self, s: Settings, timeout_s: float) -> TuneSession:
        engine_cfg = engine_config(self.plan.cfg.engine, s)
        before = _children()

        def start() -> Engine:
            try:
                return self.factory(vllm_spec(engine_cfg))
            except Exception as exc:  # the engine core's own cause is in the log (it fails in its own process)
                cause = diagnose.advice(exc, engine_cfg, _log_tail()) or f"{type(exc).__name__}: {exc}"
                raise StartFailed(" ".join(cause.split())[:500]) from exc

        log.info("tune: starting %s", s.line())
        engine = bounded_start(start, timeout_s, lambda: _end_new_children(before), _progress)
        folder = self.folder / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{id(engine) % 10000:04d}"
        return TuneSession(self, engine, s, folder)
