"""The report's Tune section, from summary.json's `tune` (run.py --tune's confirmation run). Pure.

Every candidate the tune measured with what it found (Offline tokens/s; Server and Interactive the margin
to the nearest p99 limit at the screen QPS and the edge QPS of a QPS search), the choice, why the tune
stopped, and the tuned settings beside the start and vLLM's defaults.
"""

from __future__ import annotations

from typing import Any

KNOBS = ("max_num_batched_tokens", "max_num_seqs", "async_scheduling", "max_cudagraph_capture_size",
         "long_prefill_token_threshold")
GRAPH_DEFAULT_CAP = 512  # vLLM captures CUDA graphs up to min(2 x max_num_seqs, 512) tokens by default
STOP_REASONS = {"converged": "every knob was tried", "budget_exhausted": "the time budget was spent",
                "start_limit": "the limit of engine starts was reached",
                "no_engine_started": "no candidate's engine started"}


def _num(v: Any, fmt: str = ",.0f") -> str:
    return "–" if v is None else format(v, fmt)


def _shown(settings: dict[str, Any], knob: str) -> str:
    value = settings.get(knob)
    if knob == "max_cudagraph_capture_size" and value is None:
        return str(min(2 * int(settings.get("max_num_seqs") or 0), GRAPH_DEFAULT_CAP))
    if value is None or value is False:
        return "off"
    return "on" if value is True else str(value)


def _score(row: dict[str, Any] | None, score: str) -> str:
    if row is None:
        return "not measured"
    if row.get("start_failure"):
        return "did not start"
    if score == "tokens/s":
        return f"{_num(row.get('tokens_per_s'))} tokens/s"
    return f"edge {_num(row.get('edge_qps'), ',.4g')} QPS" if row.get("edge_qps") else \
        f"margin {_num(row.get('margin'), '+.1%')} at {_num(row.get('screen_qps'), ',.4g')} QPS"


def _candidates(t: dict[str, Any]) -> list[str]:
    chosen = (t.get("choice") or {}).get("settings")
    out = ["| # | settings | tokens/s | screen QPS | edge QPS | limiting | margin | seconds | note |",
           "|---|---|---|---|---|---|---|---|---|"]
    for i, r in enumerate(t.get("candidates") or [], 1):
        line = f"**{r['line']}**" if r["settings"] == chosen else r["line"]
        note = f"did not start: {r['start_failure']}" if r.get("start_failure") else (
            "the choice" if r["settings"] == chosen else "")
        out.append(f"| {i} | {line} | {_num(r.get('tokens_per_s'))} | {_num(r.get('screen_qps'), ',.4g')} | "
                   f"{_num(r.get('edge_qps'), ',.4g')} | {r.get('limiting') or '–'} | {_num(r.get('margin'), '+.1%')} "
                   f"| {_num(r.get('seconds'), ',.1f')} | {note} |")
    return out


def _beside(t: dict[str, Any]) -> list[str]:
    """The tuned settings, the start and vLLM's defaults, knob by knob, with what each measured."""
    rows = {tuple(sorted(r["settings"].items())): r for r in t.get("candidates") or []}
    cols = [((t.get("choice") or {}).get("settings") or {}), t["start"]["settings"], t["vllm_defaults"]]
    out = ["| knob | tuned | start | vLLM default |", "|---|---|---|---|"]
    for knob in KNOBS:
        out.append(f"| {knob} | " + " | ".join(_shown(c, knob) for c in cols) + " |")
    measured = [_score(rows.get(tuple(sorted(c.items()))), t.get("score", "")) if c else "–" for c in cols]
    out.append(f"| measured | {' | '.join(measured)} |")
    return out


def section(s: dict[str, Any]) -> list[str]:
    """The Tune section's lines ([] for a run that confirmed no tune)."""
    t = s.get("tune")
    if not isinstance(t, dict) or not t.get("start"):
        return []
    reason = t.get("stop_reason") or "?"
    budget = f"of a {t['budget_s'] / 60:g} min budget" if t.get("budget_s") else "without a budget"
    out = ["## Tune", "",
           f"This run confirms a tune: stopped by **{reason}** ({STOP_REASONS.get(reason, reason)}) after "
           f"{t.get('engine_starts')} engine starts and {(t.get('seconds') or 0) / 60:.1f} min of measurements "
           f"{budget}. Start: {t['start']['source']}. Scored by {t.get('score')}; differences inside the noise "
           f"({_num(t.get('noise'), '.1%') if t.get('score') == 'tokens/s' else _num(t.get('noise'), '.3f')}) "
           "go to the setting nearer vLLM's defaults.", ""]
    if t.get("fingerprint_changed"):
        out += [f"An earlier tune in the same folder was for another fingerprint ({t['fingerprint_changed']}): "
                "this one measured afresh.", ""]
    if t.get("preset_file"):
        out += [f"Tuned preset: `{t['preset_file']}` (replay: `python run.py --scenario "
                f"{(s.get('config') or {}).get('scenario')} --preset {t['preset_file']}`).", ""]
    if t.get("confirmed_qps"):
        out += [f"The QPS search with the chosen settings confirmed {t['confirmed_qps']:,.4g} QPS (the tune's edge: "
                f"{_num(t.get('edge_qps'), ',.4g')} QPS).", ""]
    return out + _candidates(t) + [""] + _beside(t) + [""]


def plot_unit(t: dict[str, Any]) -> str:
    """What the tune plot's bars measure: Offline tokens/s, else each candidate's edge QPS where it has one."""
    if t.get("score") == "tokens/s":
        return "tokens/s over a warm window"
    return "edge QPS" if any(r.get("edge_qps") for r in t.get("candidates") or []) else "margin to the nearer p99 limit"


def plot_rows(t: dict[str, Any]) -> list[tuple[str, float | None, bool, str]]:
    """(settings, value, chosen, note where there is no value) per candidate for plots.tune_candidates; the
    value in plot_unit's unit."""
    unit, chosen = plot_unit(t), (t.get("choice") or {}).get("settings")
    key = {"edge QPS": "edge_qps", "margin to the nearer p99 limit": "margin"}.get(unit, "tokens_per_s")
    rows = []
    for r in t.get("candidates") or []:
        note = "did not start" if r.get("start_failure") else (
            f"screened only: margin {_num(r.get('margin'), '+.1%')}" if key == "edge_qps" else "–")
        rows.append((r["line"], None if r.get("start_failure") else r.get(key), r["settings"] == chosen, note))
    return rows
