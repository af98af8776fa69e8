"""vLLM in-process: one engine, driven by one thread that keeps it saturated.

All requests, Offline's whole query or Server's arrivals, go into one inbox. The driver thread adds
everything waiting before every engine step, so vLLM's continuous batching sees the whole backlog
(no fixed batches, no lock-step); finished requests are reported the moment their step ends.
This is the same step loop `LLM.generate` runs, so the harness costs nothing on top of it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections import deque
from typing import Any, Sequence

from ..config import EngineConfig
from .base import CompletionSink, GenerationRequest
from .process_logs import EngineProcessLogs
from .vllm_common import (
    RequestState,
    SamplingParamsFactory,
    cuda_device_count,
    engine_args_dict,
    request_errors,
)

log = logging.getLogger(__name__)


class VllmEngine:
    """vLLM's LLMEngine behind the Engine protocol."""

    name = "vllm"

    def __init__(self, cfg: EngineConfig, llm_engine: Any | None = None) -> None:
        """Start vLLM for cfg, or drive an existing LLMEngine (e.g. `vllm.LLM(...).llm_engine`)."""
        on_gpu = cuda_device_count() > 0
        if on_gpu:
            # CUDA may already be initialised in this process (device queries); forked workers then fail.
            os.environ.setdefault("VLLM_WORKER_MULTIPROC_METHOD", "spawn")
        else:
            # In-process engine core: starts in ~2 s on CPU instead of ~30 s (no spawn).
            os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        from vllm import EngineArgs
        from vllm.v1.engine.llm_engine import LLMEngine

        self._params = SamplingParamsFactory()
        self._rejected = request_errors()
        self.engine_args = engine_args_dict(cfg, on_gpu)
        self._owns_engine = llm_engine is None
        self._process_logs = EngineProcessLogs()
        if llm_engine is None:
            log.info("starting vLLM with %s", self.engine_args)
            # with multiprocessing (vLLM's default) the engine core is another process: it logs into run.log too
            separate = os.environ.get("VLLM_ENABLE_V1_MULTIPROCESSING", "1") != "0"
            started = time.monotonic()
            try:
                with self._process_logs.starting() if separate else contextlib.nullcontext():
                    llm_engine = LLMEngine.from_engine_args(EngineArgs(**self.engine_args))
            except BaseException:
                self._process_logs.close()
                raise
            log.info("vLLM ready in %.1f s", time.monotonic() - started)
        self._engine = llm_engine
        self.max_model_len: int = self._engine.model_config.max_model_len
        self._inbox: deque[tuple[GenerationRequest, CompletionSink]] = deque()
        self._cv = threading.Condition()
        self._states: dict[str, RequestState] = {}
        self._next_id = 0
        self._stopping = False
        self._cancel = False
        self._dead: str | None = None
        self._thread = threading.Thread(target=self._run, name="vllm-driver", daemon=True)
        self._thread.start()

    def submit(self, requests: Sequence[GenerationRequest], sink: CompletionSink) -> None:
        """Queue requests for the driver thread; returns at once."""
        with self._cv:
            dead = self._dead
            if dead is None:
                self._inbox.extend((r, sink) for r in requests)
                self._cv.notify()
        if dead is not None:
            for r in requests:
                sink.on_error(r.tag, dead)

    def cancel_all(self) -> None:
        """Abort every request queued or running (each reports on_error "cancelled"); returns at once.
        The driver thread does it before its next step, so a request submitted meanwhile goes too."""
        with self._cv:
            self._cancel = True
            self._cv.notify()

    def outstanding(self) -> int:
        """Requests queued or running."""
        with self._cv:
            return len(self._inbox) + len(self._states)

    def shutdown(self) -> None:
        """Stop the driver thread and the engine core."""
        with self._cv:
            self._stopping = True
            self._cv.notify()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=10)
        engine, self._engine = self._engine, None
        if engine is not None and self._owns_engine:
            shutdown = getattr(engine.engine_core, "shutdown", None)
            if shutdown is not None:
                shutdown()
        self._process_logs.close()

    def _add(self, request: GenerationRequest, sink: CompletionSink) -> None:
        rid = str(self._next_id)
        self._next_id += 1
        try:
            self._engine.add_request(rid, {"prompt_token_ids": list(request.prompt_token_ids)},
                                     self._params(request))
        except self._rejected as exc:  # e.g. prompt longer than max_model_len
            sink.on_error(request.tag, f"rejected by vLLM: {exc}")
            return
        self._states[rid] = RequestState(request, sink)

    def _run(self) -> None:
        try:
            while True:
                with self._cv:
                    while not (self._inbox or self._stopping or self._states or self._cancel):
                        self._cv.wait()
                    if self._stopping:
                        break
                    batch = list(self._inbox)
                    self._inbox.clear()
                    cancel, self._cancel = self._cancel, False
                if cancel:
                    self._abort_all(batch)
                    continue
                for request, sink in batch:
                    self._add(request, sink)
                if self._states:
                    self._dispatch(self._engine.step())
        except Exception as exc:  # engine died: fail everything outstanding, never hang LoadGen
            log.exception("vLLM engine failed")
            self._fail_all(f"vLLM engine failed: {type(exc).__name__}: {exc}")

    def _abort_all(self, queued: list[tuple[GenerationRequest, CompletionSink]]) -> None:
        running = list(self._states.values())
        if self._states:
            self._engine.abort_request(list(self._states))
        with self._cv:
            self._states.clear()
        for request, sink in [*queued, *((st.request, st.sink) for st in running)]:
            sink.on_error(request.tag, "cancelled")

    def _fail_all(self, message: str) -> None:
        with self._cv:
            self._dead = message
            pending = [(r, s) for r, s in self._inbox] + [(st.request, st.sink) for st in self._states.values()]
            self._inbox.clear()
            self._states.clear()
        for request, sink in pending:
            sink.on_error(request.tag, message)

    def _dispatch(self, outputs: list[Any]) -> None:
        for out in outputs:
            state = self._states.get(out.request_id)
            if state is None:
                continue
            if out.finished:
                del self._states[out.request_id]
            state.absorb(out)
