"""vLLM in-process: one engine, driven by one thread that keeps it saturated.

All requests, Offline's whole query or Server's arrivals, go into one inbox. The driver thread adds
everything waiting before every engine step, so vLLM's continuous batching sees the whole backlog
(no fixed batches, no lock-step); finished requests are reported the moment their step ends.
This is the same step loop `LLM.generate` runs, so the harness costs nothing on top of it.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Sequence

from ..config import EngineConfig
from .base import Completion, CompletionSink, Engine, GenerationRequest

log = logging.getLogger(__name__)


CPU_KV_CACHE_BYTES = 256 * 1024**2  # ample for the demo model (512 bytes per token)


@dataclass
class RequestState:
    """One request in flight: its tokens so far, and whether its first token was reported."""

    request: GenerationRequest
    sink: CompletionSink
    token_ids: list[int] = field(default_factory=list)
    logprobs: list[dict[int, float]] | None = None
    first_sent: bool = False

    def absorb(self, out: Any) -> None:
        """Take one vLLM RequestOutput (a delta, or the final one) and report what it completes."""
        seq = out.outputs[0]
        self.token_ids.extend(seq.token_ids)
        if seq.logprobs is not None:
            if self.logprobs is None:
                self.logprobs = []
            self.logprobs.extend({tid: lp.logprob for tid, lp in pos.items()} for pos in seq.logprobs)
        if self.request.stream and not self.first_sent and self.token_ids:
            self.first_sent = True
            self.sink.on_first_token(self.request.tag, list(self.token_ids))
        if out.finished:
            self.sink.on_complete(Completion(self.request.tag, self.token_ids, self.logprobs))


def request_errors() -> tuple[type[BaseException], ...]:
    """Exceptions by which vLLM rejects one request (not the engine): ValueError in older releases,
    VLLMClientError (not a ValueError) in newer ones."""
    try:
        from vllm.exceptions import VLLMClientError  # type: ignore[attr-defined]
    except ImportError:
        return (ValueError, TypeError)
    return (ValueError, TypeError, VLLMClientError)


class SamplingParamsFactory:
    """vLLM SamplingParams for a GenerationRequest: greedy, MLPerf's token limits, ids only."""

    def __init__(self) -> None:
        from vllm import SamplingParams
        from vllm.sampling_params import RequestOutputKind

        self._cls = SamplingParams
        self._kinds = (RequestOutputKind.DELTA, RequestOutputKind.FINAL_ONLY)
        self._has_token_logprobs = "logprob_token_ids" in getattr(SamplingParams, "__struct_fields__", ()) or \
            "logprob_token_ids" in getattr(SamplingParams, "__annotations__", {})

    def __call__(self, r: GenerationRequest) -> Any:
        extra: dict[str, Any] = {}
        if r.choice_token_ids:
            if self._has_token_logprobs:  # full-vocabulary log-probabilities of exactly these tokens
                extra["logprob_token_ids"] = list(r.choice_token_ids)
            else:
                # Older vLLM: restrict sampling to the choices. The greedy pick is then the choice with the
                # highest full-vocabulary log-probability (raw logprobs), which is what scoring needs.
                extra.update(allowed_token_ids=list(r.choice_token_ids), logprobs=len(r.choice_token_ids))
        return self._cls(
            temperature=0.0, top_p=1.0, top_k=1,  # greedy, as MLPerf fixes it
            max_tokens=r.max_new_tokens, min_tokens=r.min_new_tokens, detokenize=False,
            output_kind=self._kinds[0] if r.stream else self._kinds[1], **extra,
        )


def cuda_device_count() -> int:
    """Number of visible CUDA devices (0 without torch or CUDA)."""
    try:
        import torch
    except ImportError:
        return 0
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def engine_args_dict(cfg: EngineConfig, on_gpu: bool) -> dict[str, Any]:
    """vLLM EngineArgs for a config; prefix caching is always off (MLPerf forbids caching across queries)."""
    args: dict[str, Any] = dict(
        model=cfg.model,
        tokenizer=cfg.tokenizer,
        skip_tokenizer_init=True,  # inputs and outputs are token ids; scoring detokenizes itself
        dtype=cfg.dtype,
        quantization=cfg.quantization,
        kv_cache_dtype=cfg.kv_cache_dtype,
        tensor_parallel_size=cfg.tensor_parallel_size,
        data_parallel_size=cfg.data_parallel_size,
        max_model_len=cfg.max_model_len,
        max_num_seqs=cfg.max_num_seqs,
        max_num_batched_tokens=cfg.max_num_batched_tokens,
        enforce_eager=cfg.enforce_eager or not on_gpu,
        load_format=cfg.load_format,
        seed=cfg.seed,
        enable_prefix_caching=False,
        disable_log_stats=True,
    )
    if on_gpu:
        args["gpu_memory_utilization"] = cfg.gpu_memory_utilization
    elif "VLLM_CPU_KVCACHE_SPACE" not in os.environ:
        # On CPU, gpu_memory_utilization would reserve that share of host RAM; size the KV cache directly.
        args["kv_cache_memory_bytes"] = CPU_KV_CACHE_BYTES
    args.update(cfg.extra)
    return {k: v for k, v in args.items() if v is not None}


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
        if llm_engine is None:
            log.info("starting vLLM with %s", self.engine_args)
            llm_engine = LLMEngine.from_engine_args(EngineArgs(**self.engine_args))
        self._engine = llm_engine
        self.max_model_len: int = self._engine.model_config.max_model_len
        self._inbox: deque[tuple[GenerationRequest, CompletionSink]] = deque()
        self._cv = threading.Condition()
        self._states: dict[str, RequestState] = {}
        self._next_id = 0
        self._stopping = False
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
                    while not (self._inbox or self._stopping or self._states):
                        self._cv.wait()
                    if self._stopping:
                        break
                    batch = list(self._inbox)
                    self._inbox.clear()
                for request, sink in batch:
                    self._add(request, sink)
                if self._states:
                    self._dispatch(self._engine.step())
        except Exception as exc:  # engine died: fail everything outstanding, never hang LoadGen
            log.exception("vLLM engine failed")
            self._fail_all(f"vLLM engine failed: {type(exc).__name__}: {exc}")

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


def start_vllm(cfg: EngineConfig) -> Engine:
    """The in-process vLLM engine for cfg: LLMEngine for one replica, AsyncLLM for data parallelism."""
    if cfg.data_parallel_size > 1:
        from .vllm_async import VllmAsyncEngine
        return VllmAsyncEngine(cfg)
    return VllmEngine(cfg)
