"""The one way an engine is started: a plain dict of lazy "module:class" names per backend.

Nothing heavy is imported until an engine is asked for, so --help and the report tools start instantly.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Callable, Sequence

from ..config import Backend, EngineConfig
from .base import Engine

ENGINES = {
    (Backend.VLLM, False): "mlperf_vllm.engines.vllm_engine:VllmEngine",  # LLMEngine, one replica
    (Backend.VLLM, True): "mlperf_vllm.engines.vllm_async:VllmAsyncEngine",  # AsyncLLM, data parallel
    (Backend.OPENAI, False): "mlperf_vllm.engines.openai_http:OpenAIEngine",
}


@dataclass(frozen=True)
class EngineSpec:
    """Everything an engine needs: the vLLM settings, or the servers and model name of --backend openai."""

    backend: Backend
    engine: EngineConfig
    endpoints: tuple[str, ...] = ()
    served_model_name: str = ""
    encode: Callable[[str], list[int]] | None = field(default=None, compare=False)  # for text-only servers
    stall_timeout_s: float = 30.0


EngineFactory = Callable[[EngineSpec], Engine]


def _load(path: str) -> type:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def start_engine(spec: EngineSpec) -> Engine:
    """Start (or connect to) the engine of spec."""
    if spec.backend is Backend.OPENAI:
        cls = _load(ENGINES[(Backend.OPENAI, False)])
        return cls(spec.endpoints, spec.served_model_name, encode=spec.encode, stall_timeout_s=spec.stall_timeout_s)
    cls = _load(ENGINES[(Backend.VLLM, spec.engine.data_parallel_size > 1)])
    return cls(spec.engine)


def vllm_spec(engine: EngineConfig) -> EngineSpec:
    """The spec of an in-process vLLM engine."""
    return EngineSpec(Backend.VLLM, engine)


def openai_spec(engine: EngineConfig, endpoints: Sequence[str], model: str,
                encode: Callable[[str], list[int]] | None, stall_timeout_s: float = 30.0) -> EngineSpec:
    """The spec of the HTTP client for OpenAI-compatible servers."""
    return EngineSpec(Backend.OPENAI, engine, tuple(endpoints), model, encode, stall_timeout_s)
