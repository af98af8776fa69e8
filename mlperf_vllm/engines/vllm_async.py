"""vLLM data parallelism in one process: AsyncLLM with N engine cores (one model replica each).

This is the engine behind `vllm serve --data-parallel-size N`, used without the HTTP server: one
front end in this process, N engine-core processes (each with its own GPUs: TP of them), and vLLM's
DP coordinator spreading requests over the replicas by their queue lengths. vLLM's synchronous
LLMEngine, which `VllmEngine` drives, cannot do this (vLLM refuses LLM(data_parallel_size > 1)).

The asyncio loop runs in its own thread; `submit` hands requests to it from any thread (LoadGen's)
and the callbacks fire on the loop thread, as soon as vLLM yields each output.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import time
from typing import Any, Sequence

from ..config import EngineConfig
from .aio import LoopThread
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

SHUTDOWN_TIMEOUT_S = 30.0
ENGINE_EXIT_TIMEOUT_S = 10.0  # engine cores get this long to exit cleanly before vLLM kills them


class VllmAsyncEngine:
    """vLLM's AsyncLLM behind the Engine protocol; data_parallel_size replicas, balanced by vLLM."""

    name = "vllm"

    def __init__(self, cfg: EngineConfig) -> None:
        on_gpu = cuda_device_count() > 0
        if on_gpu:
            # CUDA may already be initialised in this process (device queries); forked workers then fail.
            os.environ.setdefault("VLLM_WORKER_MULTIPROC_METHOD", "spawn")
        from vllm.engine.arg_utils import AsyncEngineArgs
        from vllm.v1.engine.async_llm import AsyncLLM

        self._params = SamplingParamsFactory()
        self._rejected = request_errors()
        self.engine_args = engine_args_dict(cfg, on_gpu)
        self._ids = itertools.count()
        self._aio = LoopThread("vllm-async")

        async def start() -> Any:  # AsyncLLM wants a running loop for its output handler
            return AsyncLLM.from_engine_args(AsyncEngineArgs(**self.engine_args))

        log.info("starting vLLM AsyncLLM with %s", self.engine_args)
        self._process_logs = EngineProcessLogs()  # the engine cores are other processes: they log into run.log too
        started = time.monotonic()
        try:
            with self._process_logs.starting():
                self._llm = self._aio.run(start())
        except BaseException:
            self._aio.stop()
            self._process_logs.close()
            raise
        log.info("vLLM AsyncLLM ready in %.1f s", time.monotonic() - started)
        self.max_model_len: int = self._llm.model_config.max_model_len

    def submit(self, requests: Sequence[GenerationRequest], sink: CompletionSink) -> None:
        """Hand requests to the loop thread; returns at once."""
        batch = list(requests)
        if not self._aio.spawn(lambda r: self._one(r, sink), batch):
            for r in batch:
                sink.on_error(r.tag, "vLLM engine is shut down")

    async def _one(self, request: GenerationRequest, sink: CompletionSink) -> None:
        state = RequestState(request, sink)
        try:
            async for out in self._llm.generate({"prompt_token_ids": list(request.prompt_token_ids)},
                                                self._params(request), request_id=str(next(self._ids))):
                state.absorb(out)
        except asyncio.CancelledError:
            sink.on_error(request.tag, "cancelled")
            raise
        except self._rejected as exc:  # e.g. prompt longer than max_model_len
            sink.on_error(request.tag, f"rejected by vLLM: {exc}")
        except Exception as exc:  # engine core died (EngineDeadError) or similar: never hang LoadGen
            sink.on_error(request.tag, f"vLLM engine failed: {type(exc).__name__}: {exc}")

    def cancel_all(self) -> None:
        """Cancel every request in flight (AsyncLLM aborts it; each reports on_error); returns at once."""
        if not self._aio.stopped:
            self._aio.loop.call_soon_threadsafe(self._aio.cancel_running)

    def outstanding(self) -> int:
        """Requests in flight."""
        return self._aio.running

    def shutdown(self) -> None:
        """Cancel what is in flight, stop the engine cores and the loop (idempotent)."""
        if self._aio.stopped:
            return

        async def close() -> None:
            await self._aio.cancel_all()
            self._llm.shutdown(timeout=ENGINE_EXIT_TIMEOUT_S)

        try:
            self._aio.run(close(), timeout=SHUTDOWN_TIMEOUT_S)
        except Exception:  # noqa: BLE001 - shutting down: report, never raise over the caller's own error
            log.exception("vLLM AsyncLLM shutdown failed")
        self._llm = None  # its __del__ would shut down again at interpreter exit, when vLLM's modules are gone
        self._aio.stop()
        self._process_logs.close()
