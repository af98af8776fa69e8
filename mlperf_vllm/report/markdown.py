"""report.md from summary.json: the verdict first, then the numbers, settings and links. Pure."""

from __future__ import annotations

from typing import Any

from .. import rule_checks
from ..mlperf.machine import describe as describe_machine
from . import tune as tune_section

PCTS = ("50.00", "90.00", "95.00", "97.00", "99.00", "99.90")


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def _ms(ns: Any) -> str:
    if ns is None:
        return "–"
    if float(ns) >= 86_400 * 10**9:  # LoadGen's INT64_MAX for a latency of failed samples: not a measurement
        return "n/a (failed samples)"
    return f"{float(ns) / 1e6:,.2f}"


def verdict_lines(s: dict[str, Any]) -> list[str]:
    """The first lines of the report: status, performance validity, accuracy verdict, submittability."""
    v = s.get("validity", {})
    cfg = s.get("config", {})
    lines = []
    if s.get("status") != "completed":
        lines.append(f"**Run {str(s.get('status', 'incomplete')).upper()}**: the results below are partial.")
    perf = v.get("performance")
    if perf:
        why = "" if perf == "VALID" else ": " + "; ".join(v.get("reasons") or ["see the LoadGen summary"])
        lines.append(f"- **Performance: {perf}** (LoadGen's verdict{', and no errors' if perf == 'VALID' else ''}){why}")
    gate = (s.get("run", {}).get("accuracy") or {}).get("gate")
    if gate:
        target = f"{cfg.get('category')} reference, ROUGE >= {gate['rouge_fraction'] * 100:g}%, gen_len 90-110%"
        extra = []
        if gate.get("stricter_than_mlperf"):
            extra.append("--high-accuracy: stricter than MLPerf's 99%")
        if gate.get("indicative_only"):
            extra.append(f"indicative only: {gate['samples_scored']:,} of {gate['official_samples']:,} samples, "
                         "gen_len bounds scaled")
        lines.append(f"- **Accuracy: {gate['verdict']}** against the {target}" +
                     (f" ({'; '.join(extra)})" if extra else ""))
    t06 = (s.get("compliance") or {}).get("TEST06")
    if t06 is not None:
        lines.append(f"- **TEST06: {'PASS' if t06['passed'] else 'FAIL'}** (first token: "
                     f"{'skipped' if t06['first_token_check'] is None else t06['first_token_check']}, "
                     f"EOS: {t06['eos_check']}, sample length: {t06['sample_length_check']}, "
                     f"{t06['samples_logged']} outputs logged; [verify_accuracy.txt](TEST06/verify_accuracy.txt))")
    listed = v.get("rule_breaks")
    broken = [b for b in listed if isinstance(b, str)] if isinstance(listed, list) else []
    broken += [b for b in rule_checks.rule_breaks(cfg) if b not in broken]  # a run recorded before a check too
    others = [b for b in v.get("not_submittable_because") or [] if b not in broken]
    if broken:
        lines.append("- **Not valid for submission: breaks MLPerf's rules** (`--submission-dir` never packs it): "
                     + "; ".join(broken) + ".")
    if v.get("submittable") and not broken:
        lines.append("- **Submittable**: no rule of the submission checker that this tool knows is broken.")
    elif others:
        lines.append(f"- {'Also not' if broken else 'Not'} valid for submission: " + "; ".join(others) + ".")
    return lines


def _metrics_table(s: dict[str, Any]) -> list[str]:
    perf = s.get("run", {}).get("performance")
    if not perf:
        return []
    lg = perf["loadgen"]
    t = lg["throughput"]
    rows = [("Scenario (LoadGen)", lg.get("scenario")), ("Result", lg.get("result_validity")),
            ("Tokens/s", t.get("tokens_per_s")), ("Samples/s", t.get("samples_per_s")),
            ("Completed tokens/s", t.get("completed_tokens_per_s")),
            ("Completed samples/s", t.get("completed_samples_per_s")),
            ("Scheduled samples/s", t.get("scheduled_samples_per_s")),
            ("Queries", lg.get("query_count")), ("LoadGen errors", lg.get("num_errors"))]
    out = ["## Metrics", "", "| metric | value |", "|---|---|"]
    out += [f"| {k} | {_fmt(v)} |" for k, v in rows if v is not None]
    return out + [""]


def _latency_table(s: dict[str, Any]) -> list[str]:
    perf = s.get("run", {}).get("performance")
    if not perf:
        return []
    lg = perf["loadgen"]
    lim = s.get("limits", {})
    out = ["## Latency (LoadGen, ms)", "",
           "| percentile | sample latency | TTFT | TPOT |", "|---|---|---|---|"]
    for p in PCTS:
        out.append(f"| p{p.rstrip('0').rstrip('.')} | {_ms(lg['latency_ns'].get(p))} | {_ms(lg['ttft_ns'].get(p))} | "
                   f"{_ms(lg['tpot_ns'].get(p))} |")
    out.append(f"| mean | {_ms(lg['latency_ns'].get('mean'))} | {_ms(lg['ttft_ns'].get('mean'))} | "
               f"{_ms(lg['tpot_ns'].get('mean'))} |")
    if lim.get("p99_ttft_ms"):
        out += ["", f"Limits for this scenario (p99): TTFT < {lim['p99_ttft_ms']:,.0f} ms, "
                    f"TPOT < {lim['p99_tpot_ms']:,.0f} ms."]
    return out + [""]


def _sut_stats(s: dict[str, Any]) -> list[str]:
    stats = s.get("sut_timing_stats")
    if not stats:
        return []
    out = ["## SUT-clock timings (--extra-metrics; from issue to token, not LoadGen's official figures)", "",
           "| test | samples | errors | TTFT p50/p90/p99 ms | TPOT p50/p90/p99 ms | latency p50/p90/p99 ms |",
           "|---|---|---|---|---|---|"]
    for test, st in stats.items():
        cells = []
        for key in ("ttft_ms", "tpot_ms", "latency_ms"):
            v = st.get(key)
            cells.append("–" if not v else f"{v['p50']:,.2f} / {v['p90']:,.2f} / {v['p99']:,.2f}")
        out.append(f"| {test} | {st['samples']:,} | {st['errors']} | " + " | ".join(cells) + " |")
    return out + [""]


def _machine(s: dict[str, Any]) -> list[str]:
    """What the host and the GPUs did during each LoadGen test (mlperf/machine.py)."""
    tests = [t for t in s.get("tests") or [] if t.get("machine")]
    if not tests:
        return []
    return (["## The machine during the tests", ""]
            + [f"- `{t['log_dir']}`: {describe_machine(t['machine'])}" for t in tests] + [""])


def _probe_number(p: dict[str, Any], i: int) -> str:
    """The probe's number as its folder under Search/ has it (a probe repeated longer keeps only its last
    run in the summary, so the list's own count would drift from the folders)."""
    parts = (p.get("log_dir") or "").rsplit("/", 1)[-1].split("-")
    return str(int(parts[1])) if len(parts) > 1 and parts[1].isdigit() else str(i)


def _search_table(s: dict[str, Any]) -> list[str]:
    q = s.get("qps_search")
    if not q:
        return []
    lim = q["limits"]
    chosen = q.get("confirmed_qps")
    out = ["## QPS search", "",
           f"Highest QPS with p99 TTFT < {lim['p99_ttft_ms']:,.0f} ms and p99 TPOT < {lim['p99_tpot_ms']:,.0f} ms: "
           + (f"**{chosen:,.4g} QPS, confirmed VALID by the full run**" if chosen else "**none confirmed**")
           + f" (short probes bracketed to {q['tolerance'] * 100:g}%, stopped by {q['stopped_by']}"
           + (f", ceiling {q['ceiling_qps']:,.4g} from {q['ceiling_from']}" if q.get("ceiling_qps") else "")
           + (f", started at {q['start_qps']:,.4g} QPS from a burst's {q['rate_estimate']['qps']:,.4g} completed/s"
              if q.get("rate_estimate") else "") + ").", "",
           "| probe | target QPS | p99 TTFT ms | p99 TPOT ms | completed tokens/s | verdict | why |",
           "|---|---|---|---|---|---|---|"]
    for i, p in enumerate(q["probes"], 1):
        out.append(f"| {_probe_number(p, i)} | {p['qps']:,.4g} | {_fmt(p['p99_ttft_ms'])} | {_fmt(p['p99_tpot_ms'])} | "
                   f"{_fmt(p['completed_tokens_per_s'])} | {p['verdict']} | {p.get('why') or ''} |")
    for i, p in enumerate(q.get("settle_probes") or [], 1):
        out.append(f"| long {i} ({p['probe_s'] or p['seconds']:.0f} s) | {p['qps']:,.4g} | "
                   f"{_fmt(p['steady_p99_ttft_ms'])} | {_fmt(p['steady_p99_tpot_ms'])} | "
                   f"{_fmt(p['completed_tokens_per_s'])} | {p['verdict']} | {p.get('why') or ''} |")
    for c in q.get("confirmations", []):
        out.append(f"| full run {c['attempt']} | {c['qps']:,.4g} | | | | {c['result_validity']} | |")
    if q.get("settle_why"):
        out += ["", f"Long probes: {q['settle_why']}" + (f"; confirmed from {q['settled_qps']:,.4g} QPS."
                                                        if q.get("settled_qps") else ".")]
    if q.get("probes_s") is not None:
        took = f"The probes took {q['probes_s'] / 60:.1f} min"
        if q.get("full_runs_s") is not None:
            took += (f", the full runs {q['full_runs_s'] / 60:.1f} min: search plus confirmation "
                     f"{(q['probes_s'] + q['full_runs_s']) / 60:.1f} min")
        out += ["", took + " (the engine's start not counted)."]
    return out + [""]


def _repeats_table(s: dict[str, Any]) -> list[str]:
    r = s.get("repeats")
    if not r:
        return []
    head = s.get("headline", {})
    first = s.get("run", {}).get("performance") or {}
    lg = first.get("loadgen", {})
    out = ["## Repeats", "",
           f"The performance test ran {r['count']} times on the same engine; the first is the result. "
           f"Largest difference from it: {_fmt(r['max_abs_diff_pct'])}%; "
           + ("every test VALID." if r["all_valid"] else "not every test VALID."), "",
           f"| test | result | {head.get('name') or 'metric'} | vs first | p99 TTFT ms | p99 TPOT ms |",
           "|---|---|---|---|---|---|",
           f"| Performance | {s.get('validity', {}).get('performance')} | {_fmt(head.get('value'))} | | "
           f"{_ms((lg.get('ttft_ns') or {}).get('99.00'))} | {_ms((lg.get('tpot_ns') or {}).get('99.00'))} |"]
    for t in r["tests"]:
        diff = "" if t["diff_pct"] is None else f"{t['diff_pct']:+.2f}%"
        out.append(f"| {t['log_dir']} | {'VALID' if t['valid'] else 'INVALID'} | {_fmt(t['value'])} | {diff} | "
                   f"{_fmt(t['p99_ttft_ms'])} | {_fmt(t['p99_tpot_ms'])} |")
    return out + [""]


def _accuracy_table(s: dict[str, Any]) -> list[str]:
    a = s.get("run", {}).get("accuracy")
    if not a:
        return []
    gate = a["gate"]
    out = ["## Accuracy (ROUGE, as evaluation.py computes it)", "",
           "| metric | value | reference | threshold | pass |", "|---|---|---|---|---|"]
    for m in gate["metrics"]:
        digits = 0 if m["name"] == "gen_len" else 4
        bound = f">= {_fmt(m['lower'], digits)}" + (f", <= {_fmt(m['upper'], digits)}" if m["upper"] else "")
        out.append(f"| {m['name']} | {_fmt(m['value'], digits)} | {_fmt(m['reference'], digits)} | {bound} | "
                   f"{'PASS' if m['passed'] else 'FAIL'} |")
    out.append(f"| gen_num | {_fmt(a['gen_num'])} | {_fmt(gate['official_samples'])} | | |")
    return out + [""]


def _settings(s: dict[str, Any]) -> list[str]:
    cfg = s.get("config", {})
    e = cfg.get("engine", {})
    sysinfo = s.get("system", {})
    gpu = sysinfo.get("gpu", {})
    sw = sysinfo.get("software", {})
    ds = s.get("dataset", {})
    rows = [
        ("model", cfg.get("model_label")), ("category / scenario / mode",
                                            f"{cfg.get('category')} / {cfg.get('scenario')} / {cfg.get('mode')}"),
        ("LoadGen model key", s.get("loadgen_model")), ("MLPerf round", cfg.get("version")),
        ("data set", f"{ds.get('source')} ({_fmt(ds.get('samples'))} samples, mean prompt "
                     f"{_fmt(ds.get('prompt_tokens_mean'), 0)} tokens, max {_fmt(ds.get('prompt_tokens_max'))})"),
        ("dtype / quantization / KV cache", f"{e.get('dtype')} / {e.get('quantization') or 'none'} / "
                                            f"{e.get('kv_cache_dtype')}"),
        ("tensor x data parallel", f"{e.get('tensor_parallel_size')} x {e.get('data_parallel_size')}"
                                   + (f" ({cfg['parallelism']})" if cfg.get("parallelism") else "")),
        ("max model len / max num seqs / max batched tokens",
         f"{_fmt(e.get('max_model_len'))} / {_fmt(e.get('max_num_seqs'))} / {_fmt(e.get('max_num_batched_tokens'))}"),
        ("load format", e.get("load_format")),
        ("backend", cfg.get("backend") + (f" ({', '.join(cfg.get('endpoints') or [])}, model "
                                          f"{cfg.get('served_model_name')})" if cfg.get("endpoints") else "")),
        ("target QPS", f"{_fmt(cfg.get('target_qps') or (s.get('qps_search') or {}).get('confirmed_qps'))} "
                       f"({cfg.get('target_qps_note') or cfg.get('qps_policy') or cfg.get('target_qps_source')})"),
        *([("FP8 path", cfg["fp8_path"])] if cfg.get("fp8_path") else []),
        *([("preset", cfg["preset"])] if cfg.get("preset") else []),
        *([("expected latency (SingleStream)", f"{_fmt(cfg.get('target_latency_ms'), 1)} ms "
                                                  f"({cfg.get('target_latency_source')})")]
          if cfg.get("scenario") == "singlestream" else []),
        ("min duration", "MLPerf default (600 s)" if cfg.get("min_duration_ms") is None
         else f"{cfg['min_duration_ms'] / 1000:g} s"),
        ("GPU", f"{gpu.get('count', 0)} x {gpu.get('model') or 'none (CPU)'}"),
        ("vLLM / LoadGen / torch", f"{sw.get('vllm')} ({sw.get('vllm_package')}) / {sw.get('mlcommons_loadgen')} / "
                                   f"{sw.get('torch')}"),
        ("engine start", f"{_fmt(s.get('engine_start_s'), 1)} s (not part of any measurement)"),
    ]
    if e.get("extra"):
        rows.append(("other engine args", ", ".join(f"{k}={v}" for k, v in e["extra"].items())))
    out = ["## Settings", "", "| setting | value |", "|---|---|"]
    return out + [f"| {k} | {v} |" for k, v in rows] + [""]


def _links(s: dict[str, Any], plots: list[str]) -> list[str]:
    out = ["## Files", ""]
    if s.get("paths", {}).get("performance_logs"):
        out.append("- LoadGen performance logs: [summary](Performance/mlperf_log_summary.txt), "
                   "[detail](Performance/mlperf_log_detail.txt)")
    if s.get("paths", {}).get("accuracy_logs"):
        out.append("- LoadGen accuracy logs: [accuracy log](Accuracy/mlperf_log_accuracy.json), "
                   "[rouge.json](Accuracy/rouge.json), [accuracy.txt](Accuracy/accuracy.txt)")
    out.append("- [config.json](config.json), [environment.json](environment.json), [user.conf](user.conf), "
               "[summary.json](summary.json), [run.log](run.log)")
    for p in plots:
        out += ["", f"![{p}](plots/{p})"]
    return out + [""]


def _through_the_run(t: dict[str, Any] | None) -> list[str]:
    """The performance test minute by minute (SUT clock), and what probes of a few lengths saw of it."""
    if not t or len(t["windows"]) < 2:
        return []
    machine = any(w.get("machine") for w in t["windows"])
    out = ["## Latency through the run (SUT clock, per minute of issue time)", "",
           "A p99 over the whole test is set by its worst moments; a minute that misses them sees less."
           + (" The machine's columns say whether the moment came from outside the engine: the busiest"
              " host CPU reading, the most CPU time taken by the hypervisor (steal), the lowest GPU SM clock"
              " and the seconds a GPU's clock was held back (power, thermal)." if machine else ""), "",
           "| from s | queries | mean TPOT ms | p99 TPOT ms | p99 TTFT ms | in flight at its end |"
           + (" host CPU max % | steal max % | SM clock min MHz | clock held back s |" if machine else ""),
           "|---|---|---|---|---|---|" + ("---|---|---|---|" if machine else "")]
    for w in t["windows"]:
        row = (f"| {w['from_s']:,.0f} | {w['queries']:,} | {_fmt(w['mean_tpot_ms'])} | {_fmt(w['p99_tpot_ms'])} | "
               f"{_fmt(w['p99_ttft_ms'])} | {w['in_flight_end']:,} |")
        if machine:
            m = w.get("machine") or {}
            row += "".join(f" {_fmt(m.get(k), d)} |" for k, d in (("cpu_busy_max", 0), ("steal_max", 1),
                                                                  ("sm_mhz_min", 0), ("held_s", 0)))
        out.append(row)
    probes = [w for w in t["probes"] if w["windows"]]
    if probes:
        out += ["", f"p99 TPOT of every window of a probe's length in this test (whole test: "
                    f"{_fmt(t['all']['p99_tpot_ms'])} ms):", "",
                "| window s | windows | min | median | max | median under the whole test's p99 |",
                "|---|---|---|---|---|---|"]
        out += [f"| {w['seconds']} | {w['windows']} | {_fmt(w['min'])} | {_fmt(w['median'])} | {_fmt(w['max'])} | "
                f"{round(100 * w['median_shortfall'])}% |" for w in probes if w.get("median_shortfall") is not None]
    return out + [""]


def render(s: dict[str, Any], plots: list[str], through: dict[str, Any] | None = None) -> str:
    """The whole report.md; `through` is the performance test's timeline (results/timeline.analyse)."""
    cfg = s.get("config", {})
    head = s.get("headline", {})
    title = f"# {cfg.get('category', '?').capitalize()} {cfg.get('scenario', '?')} — {cfg.get('model_label')}"
    lines = [title, "", f"Run `{s.get('meta', {}).get('run_id')}`, started {s.get('meta', {}).get('started_at')}.", ""]
    if head.get("value") is not None:
        lines += [f"**{head['name']}: {_fmt(head['value'])} {head['unit']}** (the metric the submission checker reports)", ""]
    lines += ["## Verdict", ""] + verdict_lines(s) + [""]
    lines += (_metrics_table(s) + _latency_table(s) + _repeats_table(s) + _search_table(s) + tune_section.section(s)
              + _sut_stats(s)
              + _machine(s) + _through_the_run(through)
              + _accuracy_table(s) + _settings(s))
    notes = s.get("notes") or []
    if notes:
        lines += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    lines += _links(s, plots)
    return "\n".join(lines)
