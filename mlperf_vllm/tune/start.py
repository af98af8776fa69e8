"""The tune's first settings, from the machine: the KV cache left after the weights and the data's lengths.

As trtllm-bench does (tensorrt_llm/bench/build/tuning.py, finetune_setting): sequences = KV capacity in
tokens / (ISL + OSL), at most 4,096; step tokens = sequences x (1 + ISL/OSL), at most 32,768; both rounded
up, "slightly optimistic" (sequences to a multiple of 32 below 256 with at least 64, of 128 below 1,024,
else of 256; tokens to 256 below 4,096 with at least 2,048, 512 below 8,192, else 1,024). On Llama-3.1-8B
FP8 with CNN/DailyMail (ISL ~870, OSL 128) that gives 2,304 / 16,384 on an H200, 1,280 / 9,216 on an H100.
The shipped h200-fp8 preset is the start only where the fingerprint says H200.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import presets
from ..config import Scenario
from .fingerprint import Fingerprint
from .settings import Settings, as_settings

MAX_SEQS = 4096
MIN_TOKENS, MAX_TOKENS = 2048, 32768
GIB = 1024 ** 3


@dataclass(frozen=True)
class ModelShape:
    """What the KV cache per token depends on (config.json) and the weights' size."""

    layers: int
    kv_heads: int
    head_dim: int
    weight_bytes: float
    kv_bytes_per_elem: float = 2.0  # 1 for an FP8 KV cache

    def kv_bytes_per_token(self, tp: int = 1) -> float:
        """K and V of every layer for one token, per GPU of a tensor-parallel group (at least one head each)."""
        return 2 * self.layers * max(self.kv_heads / tp, 1) * self.head_dim * self.kv_bytes_per_elem


def shape_from_config(config: dict[str, Any], weight_bytes: float, kv_cache_dtype: str = "auto") -> ModelShape:
    """A checkpoint's ModelShape from its config.json and the size of its weight files; an 'fp8*' KV cache
    holds one byte per element, 'auto' the model's dtype (two bytes for bf16/fp16, four for fp32)."""
    heads = int(config["num_attention_heads"])
    head_dim = int(config.get("head_dim") or int(config["hidden_size"]) // heads)
    if kv_cache_dtype.startswith("fp8"):
        kv_bytes = 1.0
    else:
        kv_bytes = 4.0 if str(config.get("torch_dtype", "")).endswith("float32") else 2.0
    return ModelShape(layers=int(config["num_hidden_layers"]), kv_heads=int(config.get("num_key_value_heads", heads)),
                      head_dim=head_dim, weight_bytes=float(weight_bytes), kv_bytes_per_elem=kv_bytes)


def weight_bytes(model_dir: Path) -> int:
    """Bytes of a local checkpoint's weights (its *.safetensors, else *.bin files)."""
    files = sorted(model_dir.glob("*.safetensors")) or sorted(model_dir.glob("*.bin"))
    return sum(f.stat().st_size for f in files)


def kv_capacity_tokens(shape: ModelShape, gpu_memory_gib: float, tp: int = 1,
                       memory_utilization: float = 0.9) -> int:
    """Tokens of KV cache one replica holds: `memory_utilization` of its `tp` GPUs' memory less the weights
    (each data-parallel replica has its own weights and cache, so its capacity is per replica)."""
    free = gpu_memory_gib * GIB * memory_utilization * tp - shape.weight_bytes
    per_token = shape.kv_bytes_per_token(tp) * tp
    return max(0, int(free / per_token))


def round_seqs(raw: float) -> int:
    """trtllm-bench's optimistic rounding of the batch size."""
    if raw < 256:
        return max(64, 32 * math.ceil(raw / 32))
    if raw < 1024:
        return 128 * math.ceil(raw / 128)
    return 256 * math.ceil(raw / 256)


def round_tokens(raw: float) -> int:
    """trtllm-bench's optimistic rounding of the step's token budget (at least 2,048)."""
    if raw < 4096:
        return max(MIN_TOKENS, 256 * math.ceil(raw / 256))
    if raw < 8192:
        return 512 * math.ceil(raw / 512)
    return 1024 * math.ceil(raw / 1024)


def from_capacity(kv_tokens: int, isl: float, osl: float) -> Settings:
    """The start from the KV capacity (tokens) and the data's mean input and output lengths."""
    if kv_tokens <= 0 or isl <= 0 or osl <= 0:
        raise ValueError(f"no start from KV capacity {kv_tokens} tokens, ISL {isl}, OSL {osl}")
    raw_seqs = min(kv_tokens / (isl + osl), MAX_SEQS)
    raw_tokens = min(raw_seqs * (1 + isl / osl), MAX_TOKENS)
    return Settings(max_num_batched_tokens=min(MAX_TOKENS, round_tokens(raw_tokens)),
                    max_num_seqs=min(MAX_SEQS, round_seqs(raw_seqs)))


@dataclass(frozen=True)
class Start:
    """The first settings and where they came from ('h200-fp8 preset' or 'KV capacity ...')."""

    settings: Settings
    source: str


def choose_start(fp: Fingerprint, scenario: Scenario, kv_tokens: int, isl: float, osl: float) -> Start:
    """The h200-fp8 preset on an H200 with an FP8 checkpoint or FP8 quantization, else the capacity formula."""
    computed = from_capacity(kv_tokens, isl, osl)
    if fp.is_h200 and "fp8" in fp.quantization.lower() and scenario in presets.PRESETS["h200-fp8"]:
        values = presets.preset_settings("h200-fp8", scenario)
        return Start(as_settings(values, computed), "h200-fp8 preset (the fingerprint is an H200)")
    return Start(computed, f"KV capacity {kv_tokens} tokens, ISL {isl:.0f}, OSL {osl:.0f}")
