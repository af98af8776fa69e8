"""Engine failures in words: what went wrong and which flag to change."""

from __future__ import annotations

import re
from typing import Any

_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"KV cache|cache blocks|out of memory|OutOfMemoryError|CUDA error: out of memory", re.I),
     "the engine ran out of memory for the model and its KV cache: lower --max-model-len (now {max_model_len}) "
     "or --max-num-seqs (now {max_num_seqs}), or raise --gpu-memory-utilization (now {gpu_memory_utilization})"),
    (re.compile(r"CUDA is not available|No CUDA GPUs are available|NVIDIA driver|no CUDA-capable device", re.I),
     "CUDA is not available to the engine: check nvidia-smi (and --gpus all for Docker), or use --model demo on a CPU"),
    (re.compile(r"architectures? .*not supported|Cannot find model module|not supported for now", re.I),
     "vLLM does not support this model's architecture: check --model, or use a vLLM release that supports it"),
)


_ERROR_LINE = re.compile(r"\b(ERROR|CRITICAL)\b|\w*(Error|Exception)\b:?")


def _root_message(exc: BaseException) -> str:
    """The innermost exception's text (vLLM wraps the worker's error)."""
    texts = []
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        texts.append(str(exc))
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return " | ".join(t for t in texts if t)


def advice(exc: BaseException, engine_cfg: Any = None, log_text: str = "") -> str | None:
    """A one-line explanation with the flag to change, or None when the failure is not recognised."""
    root = _root_message(exc)
    haystack = root + "\n" + log_text
    for pattern, template in _RULES:
        # the exception, or an error line of the engine's log: an INFO line that names the KV cache is no cause
        if pattern.search(root) or any(pattern.search(ln) and _ERROR_LINE.search(ln) for ln in log_text.splitlines()):
            values = {k: getattr(engine_cfg, k, None) if engine_cfg is not None else None
                      for k in ("max_model_len", "max_num_seqs", "gpu_memory_utilization")}
            hits = [ln for ln in haystack.splitlines() if pattern.search(ln)]
            # the cause, not an INFO line that happens to match (the engine logs "KV cache" as it starts)
            line = next((ln for ln in hits if _ERROR_LINE.search(ln)), hits[0] if hits else "").strip()
            said = f" (engine: {line[:240]})" if line else ""
            return template.format(**{k: "default" if v is None else v for k, v in values.items()}) + said
    return None
