"""Side-by-side comparison of two runs: metric, A, B, change in %, and the settings that differ. Pure."""

from __future__ import annotations

from typing import Any

METRICS = (  # (label, path in summary.json, higher is better)
    ("headline", ("headline", "value"), None),
    ("tokens/s", ("run", "performance", "tokens_per_sec"), True),
    ("samples/s", ("run", "performance", "samples_per_sec"), True),
    ("p99 TTFT (ms)", ("run", "performance", "p99_ttft_ms"), False),
    ("p99 TPOT (ms)", ("run", "performance", "p99_tpot_ms"), False),
    ("p90 latency (ms)", ("run", "performance", "p90_latency_ms"), False),
    ("p99 latency (ms)", ("run", "performance", "p99_latency_ms"), False),
    ("rouge1", ("run", "accuracy", "rouge", "rouge1"), True),
    ("rouge2", ("run", "accuracy", "rouge", "rouge2"), True),
    ("rougeL", ("run", "accuracy", "rouge", "rougeL"), True),
    ("rougeLsum", ("run", "accuracy", "rouge", "rougeLsum"), True),
    ("gen_len", ("run", "accuracy", "gen_len"), None),
    ("engine start (s)", ("engine_start_s",), False),
)


def _get(d: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(d, dict):
            return None
        d = d.get(key)
    return d


def _flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(d, dict):
        for k, v in d.items():
            out.update(_flatten(v, f"{prefix}{k}."))
    else:
        out[prefix.rstrip(".")] = d
    return out


def _headline(d: dict[str, Any]) -> tuple[Any, Any]:
    return _get(d, ("headline", "name")), _get(d, ("headline", "unit"))


def like_for_like(a: dict[str, Any], b: dict[str, Any]) -> dict[str, str | None]:
    """Why the performance and the accuracy numbers of two runs cannot be set against each other (None:
    they can). Different scenarios measure under different loads (tokens/s of Offline's one query against
    a p90 latency in ms of SingleStream); accuracy needs the same samples."""
    ca, cb = (d.get("config") if isinstance(d.get("config"), dict) else {} for d in (a, b))
    perf = None
    if ca.get("scenario") != cb.get("scenario"):
        perf = f"A is {ca.get('scenario')}, B is {cb.get('scenario')}: different scenarios"
    elif _headline(a) != _headline(b) and None not in (*_headline(a), *_headline(b)):
        perf = f"A reports {_headline(a)[0]}, B {_headline(b)[0]}: different metrics"
    data = [(c.get("category"), c.get("dataset"), c.get("total_sample_count")) for c in (ca, cb)]
    acc = None if data[0] == data[1] else "accuracy of different samples (category, data set or count)"
    return {"performance": perf, "accuracy": acc}


def metric_rows(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows (metric, a, b, change_pct) for metrics either run has; no change where it has no meaning."""
    apart = like_for_like(a, b)
    rows = []
    for label, path, _ in METRICS:
        va, vb = _get(a, path), _get(b, path)
        if va is None and vb is None:
            continue
        if label == "headline":
            (na, ua), (nb, ub) = _headline(a), _headline(b)
            if (na, ua) == (nb, ub):
                label = f"headline: {na} ({ua})" if na else label
            else:
                va, vb = (None if v is None else f"{_fmt(v)} {u} ({n})" for v, n, u in ((va, na, ua), (vb, nb, ub)))
        group = "accuracy" if path[:2] == ("run", "accuracy") else "engine" if path == ("engine_start_s",) \
            else "performance"
        change = None
        if isinstance(va, (int, float)) and isinstance(vb, (int, float)) and va and not apart.get(group):
            change = (vb - va) / abs(va) * 100
        rows.append({"metric": label, "a": va, "b": vb, "change_pct": change})
    for key, label in (("performance", "validity"), ("accuracy", "accuracy verdict")):
        rows.append({"metric": label, "a": _get(a, ("validity", key)), "b": _get(b, ("validity", key)),
                     "change_pct": None})
    return rows


TUNE_ROWS = (("choice", ("choice", "line")), ("stop reason", ("stop_reason",)), ("score", ("score",)),
             ("tokens/s of the choice", ("choice", "tokens_per_s")), ("edge QPS of the choice", ("choice", "edge_qps")),
             ("confirmed QPS", ("confirmed_qps",)), ("start", ("start", "source")), ("engine starts", ("engine_starts",)),
             ("minutes of measurements", ("minutes",)), ("fingerprint", ("fingerprint_digest",)))


def tune_rows(a: dict[str, Any], b: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """What each run's tune (run.py --tune) found, where either run confirms one ([] where neither does)."""
    ta, tb = (d.get("tune") if isinstance(d.get("tune"), dict) else None for d in (a, b))
    if ta is None and tb is None:
        return []
    ta, tb = ({**t, "minutes": round((t.get("seconds") or 0) / 60, 2)} if t else {} for t in (ta, tb))
    return [(label, _get(ta, path), _get(tb, path)) for label, path in TUNE_ROWS
            if _get(ta, path) is not None or _get(tb, path) is not None]


def tune_lines(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    rows = tune_rows(a, b)
    if not rows:
        return []
    untuned = [x for x, d in (("A", a), ("B", b)) if not isinstance(d.get("tune"), dict)]
    note = [f"{' and '.join(untuned)} confirmed no tune.", ""] if untuned else []
    return (["", "## Tune", "", *note, "| tune | A | B |", "|---|---|---|"]
            + [f"| {label} | {_fmt(x)} | {_fmt(y)} |" for label, x, y in rows])


def changed_settings(a: dict[str, Any], b: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """Settings (config and software versions) whose values differ."""
    fa = _flatten({"config": a.get("config", {}), "software": _get(a, ("system", "software")) or {},
                   "gpu": {"model": _get(a, ("system", "gpu", "model")), "count": _get(a, ("system", "gpu", "count"))}})
    fb = _flatten({"config": b.get("config", {}), "software": _get(b, ("system", "software")) or {},
                   "gpu": {"model": _get(b, ("system", "gpu", "model")), "count": _get(b, ("system", "gpu", "count"))}})
    skip = {"config.results_dir", "config.tune_record"}
    return [(k, fa.get(k), fb.get(k)) for k in sorted(set(fa) | set(fb))
            if k not in skip and fa.get(k) != fb.get(k)]


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 100 else f"{v:,.2f}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return str(v)


def render(a: dict[str, Any], b: dict[str, Any]) -> str:
    """Markdown comparison of run A (baseline) and run B."""
    ida, idb = _get(a, ("meta", "run_id")), _get(b, ("meta", "run_id"))
    notes = [f"**Not like for like: {why}.** They are shown side by side without a change: a percentage "
             "between them would have no meaning." for why in like_for_like(a, b).values() if why]
    lines = [f"# Comparison: A = `{ida}`, B = `{idb}`", "", *notes, *([""] if notes else []),
             "| metric | A | B | change |", "|---|---|---|---|"]
    for r in metric_rows(a, b):
        ch = "–" if r["change_pct"] is None else f"{r['change_pct']:+.1f}%"
        lines.append(f"| {r['metric']} | {_fmt(r['a'])} | {_fmt(r['b'])} | {ch} |")
    lines += tune_lines(a, b)
    diffs = changed_settings(a, b)
    lines += ["", "## Settings that differ", ""]
    if diffs:
        lines += ["| setting | A | B |", "|---|---|---|"] + [f"| {k} | {_fmt(x)} | {_fmt(y)} |" for k, x, y in diffs]
        lines += ["", "**Changed settings: the runs are not like for like.**"]
    else:
        lines.append("None: same configuration and software.")
    return "\n".join(lines) + "\n"
