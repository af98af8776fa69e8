"""What both in-process vLLM engines share: per-request state, vLLM's request errors, sampling
parameters, and the EngineArgs a config maps to."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from ..config import EngineConfig
from .base import Completion, CompletionSink, GenerationRequest

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
