"""Which FP8 path a run takes, read from the model's config.json.

Submitters run FP8 from a pre-quantized checkpoint: LLM Compressor's compressed-tensors layout (as
RedHatAI/Meta-Llama-3.1-8B-Instruct-FP8 ships it) or NVIDIA ModelOpt's (quant_method "modelopt").
vLLM detects both from the checkpoint and runs FP8 GEMMs with the stored scales; measured on one H200
(BENCHMARKS.md) that is 12.5% faster Offline than quantizing bf16 weights on load (`quantization="fp8"`,
dynamic activation scales). Passing quantization="fp8" for such a checkpoint would be wrong: vLLM
takes the method from the checkpoint, so the plan passes none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Fp8Checkpoint:
    """A pre-quantized FP8 checkpoint as its config.json describes it."""

    layout: str  # compressed-tensors | modelopt
    weights: str  # e.g. "per-tensor", "per-channel"
    activations: str  # static | dynamic
    kv_cache_scales: bool  # the checkpoint carries FP8 KV-cache scales

    def describe(self) -> str:
        kv = "; KV-cache scales in the checkpoint" if self.kv_cache_scales else ""
        return (f"pre-quantized FP8 checkpoint ({self.layout}: {self.weights} weights, "
                f"{self.activations} activation scales{kv})")


ONLINE_FP8 = ("online FP8 quantization of bf16 weights (slower than a pre-quantized FP8 checkpoint: "
              "see BENCHMARKS.md)")


def _ct_fp8(qc: dict[str, Any]) -> Fp8Checkpoint | None:
    groups = qc.get("config_groups") or {}
    for group in groups.values() if isinstance(groups, dict) else ():
        w = (group or {}).get("weights") or {}
        if w.get("num_bits") == 8 and w.get("type") == "float":
            a = (group or {}).get("input_activations") or {}
            activations = "dynamic" if a.get("dynamic") else "static" if a else "no"
            return Fp8Checkpoint("compressed-tensors", f"per-{w.get('strategy', 'tensor')}", activations,
                                 bool(qc.get("kv_cache_scheme")))
    return None


def _modelopt_fp8(qc: dict[str, Any]) -> Fp8Checkpoint | None:
    algo = str(qc.get("quant_algo") or (qc.get("quantization") or {}).get("quant_algo") or "").upper()
    if algo != "FP8":
        return None
    kv = str(qc.get("kv_cache_quant_algo") or (qc.get("quantization") or {}).get("kv_cache_quant_algo") or "")
    scheme = qc.get("kv_cache_scheme")  # config.json form of the same thing
    fp8_kv = kv.upper() == "FP8" or (isinstance(scheme, dict) and scheme.get("num_bits") == 8
                                     and scheme.get("type") == "float")
    return Fp8Checkpoint("modelopt", "per-tensor", "static", fp8_kv)


def fp8_checkpoint(model_config: dict[str, Any]) -> Fp8Checkpoint | None:
    """The FP8 checkpoint a config.json describes, or None (bf16 or another quantization)."""
    qc = model_config.get("quantization_config")
    if not isinstance(qc, dict):
        return None
    method = str(qc.get("quant_method") or "").lower()
    if method == "compressed-tensors":
        return _ct_fp8(qc)
    if method == "modelopt":
        return _modelopt_fp8(qc)
    if method == "fp8":  # e.g. a checkpoint saved by vLLM's or HF's FP8 quantizer
        dynamic = qc.get("activation_scheme") == "dynamic"
        return Fp8Checkpoint("fp8", "per-tensor", "dynamic" if dynamic else "static", False)
    return None


def resolve_fp8(model_config: dict[str, Any], quantization: str | None) -> tuple[str | None, str]:
    """(the quantization to hand vLLM, how the run's FP8 is obtained) for a model and the asked method.

    A pre-quantized FP8 checkpoint always runs as stored, whatever --precision said; online fp8
    applies only to an unquantized checkpoint.
    """
    found = fp8_checkpoint(model_config)
    if found is not None:
        return None, found.describe()
    if quantization == "fp8":
        return "fp8", ONLINE_FP8
    return quantization, ""
