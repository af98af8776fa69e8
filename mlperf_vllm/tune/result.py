"""A tune's record: summary.json's `tune`, and tuned_preset.json, which `--preset FILE` replays exactly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .. import presets
from ..config import Scenario
from ..results.atomic import write_text_atomic
from .fingerprint import Fingerprint
from .plan import Plan
from .settings import Settings
from .tuner import Outcome

PRESET_FILE = "tuned_preset.json"


def candidates(outcome: Outcome) -> list[dict[str, Any]]:
    """Every candidate once, in the order first measured: its settings and what its probes found."""
    rows: dict[str, dict[str, Any]] = {}
    for p in outcome.probes:
        key = Settings.from_dict(p.settings).key
        row = rows.setdefault(key, {"settings": p.settings, "line": Settings.from_dict(p.settings).line(),
                                    "tokens_per_s": None, "screen_qps": None, "edge_qps": None, "limiting": None,
                                    "margin": None, "seconds": 0.0, "start_failure": None, "probes": 0})
        row["seconds"] = round(row["seconds"] + p.seconds, 3)
        row["probes"] += 1
        if p.start_failure:
            row["start_failure"] = p.start_failure
        elif p.kind == "offline" and p.metric is not None:
            n = row["probes"]
            row["tokens_per_s"] = p.metric if row["tokens_per_s"] is None else round(
                (row["tokens_per_s"] * (n - 1) + p.metric) / n, 3)
        elif p.kind == "screen":
            row.update(screen_qps=p.qps, limiting=p.limiting, margin=p.margin)
        elif p.kind == "edge":
            row.update(edge_qps=p.qps, limiting=p.limiting, margin=p.margin)
    return list(rows.values())


def summary(fp: Fingerprint, plan: Plan, outcome: Outcome, preset_file: Path | None) -> dict[str, Any]:
    """summary.json's `tune`."""
    rows = candidates(outcome)
    chosen = outcome.choice.to_dict() if outcome.choice else None
    return {
        "fingerprint": fp.to_dict(), "fingerprint_digest": fp.digest,
        "start": {"settings": plan.start.to_dict(), "source": plan.start_source},
        "vllm_defaults": plan.defaults.to_dict(),
        "candidates": rows,
        "choice": next((r for r in rows if r["settings"] == chosen), None),
        "score": outcome.score_kind, "noise": outcome.noise, "stop_reason": outcome.stop_reason,
        "engine_starts": outcome.starts, "seconds": outcome.seconds,
        "preset_file": None if preset_file is None else str(preset_file),
    }


def preset_document(fp: Fingerprint, scenario: Scenario, choice: Settings, edge_qps: float | None = None,
                    fixed: dict[str, Any] | None = None) -> dict[str, Any]:
    """tuned_preset.json: the scenario, the settings as run.py flag values, and the fingerprint it holds for.
    `fixed` carries the tune's other engine settings (precision, gpu_memory_utilization) so a replay is exact."""
    values = {**(fixed or {}), **choice.preset_values()}
    if edge_qps is not None and scenario in (Scenario.SERVER, Scenario.INTERACTIVE):
        values["server_target_qps"] = f"{edge_qps:g}"
    return {"schema": presets.PRESET_FILE_SCHEMA, "scenario": scenario.value, "settings": values,
            "fingerprint": fp.to_dict()}


def write_preset(run_dir: Path, document: dict[str, Any]) -> Path:
    """Write tuned_preset.json into the run folder (atomically) and return its path."""
    path = run_dir / PRESET_FILE
    write_text_atomic(path, json.dumps(document, indent=2, sort_keys=True) + "\n")
    return path
