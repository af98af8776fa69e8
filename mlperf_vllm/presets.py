"""Named engine settings measured best on a GPU class, per scenario (BENCHMARKS.md has the sweeps).

Values are run.py flag destinations; `engine_args` are vLLM EngineArgs fields (as --engine-arg).
A flag or --engine-arg given on the command line always wins over the preset.

Why scenarios differ: Offline wants the largest steps the GPU runs efficiently (throughput only);
Server must keep p99 TTFT under 2 s, so the step budget must still admit new prompts under load;
Interactive's 30 ms p99 TPOT bounds how many prefill tokens may share a decode step, so its step
budget is small and long prompts are split across steps (vLLM's long_prefill_token_threshold).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .config import Scenario
from .errors import UsageError

LOADGEN_SETTINGS = {"offline_expected_qps", "server_target_qps"}  # preset values that a --user-conf holds instead
# A preset file (tuned_preset.json, written by a tune): its keys, and the flag destinations its settings may set.
PRESET_FILE_SCHEMA = "mlperf_vllm.tuned_preset/1"
PRESET_FILE_KEYS = {"schema", "scenario", "settings", "fingerprint", "tune"}
PRESET_SETTING_KEYS = {"precision", "gpu_memory_utilization", "max_num_batched_tokens", "max_num_seqs",
                       "offline_expected_qps", "server_target_qps", "engine_args", "quantization", "kv_cache_dtype",
                       "max_model_len"}

_H200_COMMON: dict[str, Any] = {"precision": "fp8", "gpu_memory_utilization": 0.92}

PRESETS: dict[str, dict[Scenario, dict[str, Any]]] = {
    "h200-fp8": {
        # LoadGen sizes Offline's one query from the expected rate (mlperf.conf: 1/s, i.e. one pass, ~217 s
        # here): 60/s gives 3 passes, 40,104 samples, ~650 s at the measured 61.7/s (VALID up to ~66.8/s).
        Scenario.OFFLINE: {**_H200_COMMON, "max_num_batched_tokens": 8192, "max_num_seqs": 512,
                           "offline_expected_qps": 60.0},
        Scenario.SERVER: {**_H200_COMMON, "max_num_batched_tokens": 8192, "max_num_seqs": 512},
        # async scheduling overlaps the CPU's scheduling with the GPU's step: in 4-5 minute runs 48 QPS VALID
        # (p99 TPOT 26.5 ms) where the same settings without it failed at 44.5 (31.0 ms); Offline and Server
        # gained nothing. CUDA graphs up to the 2,048-token step: vLLM captures up to min(2 x max_num_seqs, 512)
        # tokens, so most steps (decode plus a prefill chunk) ran launch by launch; captured, on one H200 at 38 QPS
        # the mean / p99 TPOT fell from 16.9 / 31.1 ms to 10.6 / 16.5 ms and the GPU went from 85% to 98% busy.
        # At MLPerf's 600 s: 38 QPS VALID twice without the graphs (40 once of three); with them 44 QPS twice
        # (p99 TPOT 21.7 / 22.1 ms).
        Scenario.INTERACTIVE: {**_H200_COMMON, "max_num_batched_tokens": 2048, "max_num_seqs": 256,
                               "engine_args": {"async_scheduling": True, "max_cudagraph_capture_size": 2048}},
        Scenario.SINGLESTREAM: {**_H200_COMMON, "max_num_batched_tokens": 8192, "max_num_seqs": 512},
    },
}


def preset_settings(name: str, scenario: Scenario) -> dict[str, Any]:
    """The flag values preset `name` gives `scenario` (engine_args as a dict under that key)."""
    return dict(PRESETS[name][scenario])


def describe(name: str) -> str:
    """One line per scenario, for --help and the README."""
    parts = []
    for scenario, values in PRESETS[name].items():
        bits = [f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items()
                if k not in _H200_COMMON and k != "engine_args"]
        bits += [f"{k}={v}" for k, v in (values.get("engine_args") or {}).items()]
        parts.append(f"{scenario.value}: {', '.join(bits) or 'defaults'}")
    return "; ".join(parts)


def is_name(preset: str) -> bool:
    """Whether --preset names a shipped preset (else it is a path to a preset file)."""
    return preset in PRESETS


def resolve(preset: str, scenario: Scenario) -> dict[str, Any]:
    """The flag values --preset gives `scenario`: a shipped preset's, or a preset file's (load_file)."""
    return preset_settings(preset, scenario) if is_name(preset) else load_file(Path(preset), scenario)


def load_file(path: Path, scenario: Scenario) -> dict[str, Any]:
    """A tuned_preset.json's settings for `scenario`; UsageError (one line) when it is missing, not JSON,
    has keys this version does not know, or was tuned for another scenario."""
    names = ", ".join(PRESETS)
    if not path.is_file():
        raise UsageError(f"--preset {path}: no such file; give a tuned_preset.json from a tune, or one of: {names}.")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise UsageError(f"--preset {path} is not a JSON preset file ({e}); give a tuned_preset.json.") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("settings"), dict):
        raise UsageError(f"--preset {path} has no 'settings' object; give a tuned_preset.json from a tune.")
    unknown = sorted(set(doc) - PRESET_FILE_KEYS) + sorted(set(doc["settings"]) - PRESET_SETTING_KEYS)
    if unknown:
        raise UsageError(f"--preset {path}: unknown keys {', '.join(unknown)}; "
                         f"settings may hold {', '.join(sorted(PRESET_SETTING_KEYS))}.")
    if doc.get("schema", PRESET_FILE_SCHEMA) != PRESET_FILE_SCHEMA:
        raise UsageError(f"--preset {path}: schema {doc.get('schema')!r} is not {PRESET_FILE_SCHEMA!r}.")
    if doc.get("scenario") != scenario.value:
        raise UsageError(f"--preset {path} was tuned for --scenario {doc.get('scenario')}; "
                         f"run it with that scenario, or tune {scenario.value}.")
    values = dict(doc["settings"])
    if values.get("engine_args") is not None and not isinstance(values["engine_args"], dict):
        raise UsageError(f"--preset {path}: settings.engine_args must be an object of vLLM EngineArgs fields.")
    for key in ("max_num_batched_tokens", "max_num_seqs", "max_model_len"):
        if key in values and (not isinstance(values[key], int) or isinstance(values[key], bool) or values[key] <= 0):
            raise UsageError(f"--preset {path}: settings.{key} must be a positive whole number, got {values[key]!r}.")
    return values
