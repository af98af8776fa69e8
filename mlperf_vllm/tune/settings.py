"""The engine settings a tune searches, vLLM's defaults for them, and what makes one setting simpler.

Knobs are vLLM EngineArgs fields. None means "vLLM decides" (its default), so a setting that leaves a
knob at None is the plainer one: ties inside the measured noise go to the setting closer to vLLM's
defaults (fewer knobs changed, then smaller changes), as vLLM's own tuning PRs prefer fewer overrides.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, replace
from typing import Any

KNOBS = ("max_num_batched_tokens", "max_num_seqs", "async_scheduling", "max_cudagraph_capture_size",
         "long_prefill_token_threshold")
ENGINE_ARG_KNOBS = KNOBS[2:]  # passed as --engine-arg; the first two are run.py flags
# vLLM's capture default: min(2 x max_num_seqs, 512) tokens (vllm/config/compilation.py).
CUDAGRAPH_DEFAULT_CAP = 512


@dataclass(frozen=True)
class Settings:
    """One candidate: the step's token budget, the sequences per step, and three switches."""

    max_num_batched_tokens: int
    max_num_seqs: int
    async_scheduling: bool = False
    max_cudagraph_capture_size: int | None = None  # None: vLLM's min(2 x max_num_seqs, 512)
    long_prefill_token_threshold: int | None = None  # None: prompts are chunked only by the step budget

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def key(self) -> str:
        """Canonical text of the settings: the identity of a candidate in the probe log."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    def with_(self, **changes: Any) -> "Settings":
        return replace(self, **changes)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Settings":
        return cls(**{k: d[k] for k in KNOBS if k in d})

    def preset_values(self) -> dict[str, Any]:
        """The settings as run.py flag destinations, engine args under `engine_args` (presets.py's form)."""
        extra = {k: getattr(self, k) for k in ENGINE_ARG_KNOBS if getattr(self, k) not in (None, False)}
        out: dict[str, Any] = {"max_num_batched_tokens": self.max_num_batched_tokens, "max_num_seqs": self.max_num_seqs}
        if extra:
            out["engine_args"] = extra
        return out

    def line(self) -> str:
        """Compact one-line form, e.g. 'tokens 8192, seqs 512, async, graphs<=8192'."""
        bits = [f"tokens {self.max_num_batched_tokens}", f"seqs {self.max_num_seqs}"]
        if self.async_scheduling:
            bits.append("async")
        if self.max_cudagraph_capture_size is not None:
            bits.append(f"graphs<={self.max_cudagraph_capture_size}")
        if self.long_prefill_token_threshold is not None:
            bits.append(f"long prefill>{self.long_prefill_token_threshold}")
        return ", ".join(bits)


def vllm_defaults(gpu_model: str, gpu_memory_gib: float, llm_class: bool = True) -> Settings:
    """vLLM's own choice (EngineArgs.get_batch_defaults): a GPU of 70 GiB or more that is not an A100 gets
    16,384 tokens (LLM class; 8,192 for the OpenAI server) and 1,024 sequences; any other 8,192 (2,048)
    and 256. The in-process engine is the LLM class's case."""
    big = gpu_memory_gib >= 70 and "A100" not in gpu_model.upper()
    if big:
        return Settings(16384 if llm_class else 8192, 1024)
    return Settings(8192 if llm_class else 2048, 256)


def _log_distance(value: int | None, default: int) -> float:
    return 0.0 if value is None else abs(math.log2(max(value, 1) / max(default, 1)))


def complexity(s: Settings, defaults: Settings) -> tuple[int, float]:
    """How far `s` is from vLLM's defaults: (knobs changed, summed log2 distance of the numbers). Lower is simpler."""
    changed = sum(1 for k in KNOBS if getattr(s, k) != getattr(defaults, k))
    graph_default = min(2 * s.max_num_seqs, CUDAGRAPH_DEFAULT_CAP)
    distance = (_log_distance(s.max_num_batched_tokens, defaults.max_num_batched_tokens)
                + _log_distance(s.max_num_seqs, defaults.max_num_seqs)
                + _log_distance(s.max_cudagraph_capture_size, graph_default)
                + (0.0 if s.long_prefill_token_threshold is None else 1.0))
    return changed, round(distance, 9)


def _shown(s: Settings, knob: str) -> str:
    value = getattr(s, knob)
    if knob == "max_cudagraph_capture_size" and value is None:
        return str(min(2 * s.max_num_seqs, CUDAGRAPH_DEFAULT_CAP))  # what vLLM captures then
    if value is None or value is False:
        return "off"
    return "on" if value is True else str(value)


def render_beside(start: Settings, defaults: Settings, start_label: str = "start") -> list[str]:
    """One line per knob: its value in the start and in vLLM's defaults, '*' where they differ."""
    width = max(len(k) for k in KNOBS)
    lines = [f"{'knob':<{width}}  {start_label:>10}  {'vLLM default':>12}"]
    for k in KNOBS:
        a, b = _shown(start, k), _shown(defaults, k)
        lines.append(f"{k:<{width}}  {a:>10}  {b:>12}{'' if a == b else '  *'}")
    return lines


def as_settings(values: dict[str, Any], fallback: Settings) -> Settings:
    """Settings from preset values (flag destinations plus engine_args), knobs not named from `fallback`."""
    flat = {**values, **(values.get("engine_args") or {})}
    return fallback.with_(**{k: flat[k] for k in KNOBS if k in flat})
