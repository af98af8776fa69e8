"""The submission set as a plan: which scenarios a category needs, the steps that produce them, which GPUs
each uses and how long each should take. Pure: flags in, steps out; nothing starts and nothing is written.

What the checker demands (submission_checker constants.py `required-/optional-scenarios-*`, loader.py
check_scenarios): datacenter `llama3.1-8b` needs Offline and at least one of Server or Interactive, each with
TEST06 (`models_TEST06`); edge `llama3.1-8b-edge` needs Offline and SingleStream and no compliance test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from .. import rules
from ..config import Category, QpsPolicy, RunConfig, Scenario
from ..errors import UsageError

REQUIRED = {Category.DATACENTER: (Scenario.OFFLINE,), Category.EDGE: (Scenario.OFFLINE, Scenario.SINGLESTREAM)}
ONE_OF = {Category.DATACENTER: (Scenario.SERVER, Scenario.INTERACTIVE), Category.EDGE: ()}
# Datacenter default: all three. Offline alone is rejected; Server and Interactive are each a separate result
# the checker accepts, and a box that can run one can run the other on the same engine settings.
DEFAULT_SCENARIOS = {Category.DATACENTER: (Scenario.OFFLINE, Scenario.SERVER, Scenario.INTERACTIVE),
                     Category.EDGE: (Scenario.OFFLINE, Scenario.SINGLESTREAM)}

# Estimate inputs. Rates per GPU are this project's single-H200 measurements (BENCHMARKS.md: Offline
# ~60 samples/s and Interactive 48.6 QPS at 600 s, Server 56 QPS in 4-5 minute runs; SingleStream p90 ~490 ms,
# anchors §6); rate-bound work is assumed to scale with the number of model replicas. A flag that sets a rate
# replaces the guess.
ENGINE_START_S = 180.0  # vLLM load + CUDA graphs: 1-3 min typical, 215 s measured on one H200
RATE_PER_REPLICA = {Scenario.OFFLINE: 60.0, Scenario.SERVER: 56.0, Scenario.INTERACTIVE: 48.6}
SINGLESTREAM_LATENCY_S = 0.49
TEST06_QUERIES = 100  # compliance/TEST06/audit.config: min_query_count 100, min_duration 0
TEST06_MIN_S = 30.0  # LoadGen's setup, the last queries' latency and the three checks
SCORE_S_PER_SAMPLE = 0.005  # ROUGE on the CPU
PACK_S = 60.0  # copy, truncate the accuracy logs, run the checker
# A Server or Interactive run INVALID on latency runs again at a lower rate: MAX_STEP_DOWNS times, each
# STEP_DOWN below the attempt before (set_attempts); not in the estimate, which assumes the first holds.
MAX_STEP_DOWNS = 3
STEP_DOWN = 0.05


@dataclass(frozen=True)
class Step:
    """One unit of the set that resume tracks: a test of a scenario, or a packing step."""

    name: str  # "offline.performance", "pack"
    scenario: Scenario | None
    test: str  # performance | accuracy | test06 | pack | truncate | check
    estimate_s: float
    gpus: str  # in words: "0,1,2,3" or "none (CPU)"
    detail: str = ""


@dataclass(frozen=True)
class ScenarioRun:
    """One engine start for a scenario: its config and the steps run on the warm engine."""

    cfg: RunConfig
    engine_start_s: float
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class SetPlan:
    """Every step of the set in order, with its estimate."""

    category: Category
    gpus: tuple[int, ...] | None
    runs: tuple[ScenarioRun, ...]
    final: tuple[Step, ...]
    assumptions: tuple[str, ...] = field(default_factory=tuple)

    @property
    def steps(self) -> tuple[Step, ...]:
        return tuple(s for r in self.runs for s in r.steps) + self.final

    @property
    def total_s(self) -> float:
        return sum(r.engine_start_s for r in self.runs) + sum(s.estimate_s for s in self.steps)


def _a(category: Category) -> str:
    return ("an " if category is Category.EDGE else "a ") + category.value


def parse_scenarios(category: Category, text: str | None) -> tuple[Scenario, ...]:
    """--scenarios for a category, checked against what the checker accepts; UsageError says what to pass."""
    if text is None:
        return DEFAULT_SCENARIOS[category]
    allowed = rules.ALLOWED_SCENARIOS[category]
    names = [n.strip().lower() for n in text.split(",")]
    chosen: list[Scenario] = []
    for name in names:
        scenario = next((s for s in Scenario if s.value == name), None)
        if scenario is None:
            raise UsageError(f"--scenarios: unknown scenario {name!r}; use a comma-separated list of "
                             + ", ".join(s.value for s in allowed) + ".")
        if scenario not in allowed:
            raise UsageError(f"--scenarios: {_a(category)} set has no {name} scenario; use "
                             + ", ".join(s.value for s in allowed) + ".")
        if scenario in chosen:
            raise UsageError(f"--scenarios names {name} twice; name each scenario once.")
        chosen.append(scenario)
    missing = [s.value for s in REQUIRED[category] if s not in chosen]
    one_of = ONE_OF[category]
    if missing or (one_of and not set(one_of) & set(chosen)):
        need = " and ".join(s.value for s in REQUIRED[category])
        if one_of:
            need += " plus at least one of " + " or ".join(s.value for s in one_of)
        raise UsageError(f"the submission checker rejects {_a(category)} set of {','.join(names)}: it needs "
                         f"{need}; e.g. --scenarios {','.join(s.value for s in DEFAULT_SCENARIOS[category])}.")
    return tuple(s for s in allowed if s in chosen)  # the checker's order: Offline first


def parse_gpus(text: str | None) -> tuple[int, ...] | None:
    """--gpus "0-7", "0,2,4" or "0-3,6": GPU indices in order; UsageError for a malformed list or a repeat."""
    if text is None:
        return None
    out: list[int] = []
    for part in text.split(","):
        lo, dash, hi = part.strip().partition("-")
        try:
            first, last = int(lo), int(hi) if dash else int(lo)
        except ValueError:
            raise UsageError(f"--gpus takes GPU indices like 0-7 or 0,1,2,3; got {text!r}.") from None
        if first < 0 or last < first:
            raise UsageError(f"--gpus: {part.strip()!r} is not a range of GPU indices (low-high, from 0); got {text!r}.")
        for index in range(first, last + 1):
            if index in out:
                raise UsageError(f"--gpus names GPU {index} twice; name each GPU once.")
            out.append(index)
    return tuple(out)


def gpus_text(gpus: tuple[int, ...] | None) -> str:
    return "every visible GPU" if gpus is None else "GPU " + ",".join(map(str, gpus)) if len(gpus) == 1 else \
        "GPUs " + ",".join(map(str, gpus))


def _rate(cfg: RunConfig, replicas: int) -> tuple[float, bool]:
    """Queries (Offline: samples) per second this scenario is expected to run at, and whether it was given."""
    if cfg.target_qps is not None and cfg.qps_policy is QpsPolicy.FIXED:
        return cfg.target_qps, True
    return RATE_PER_REPLICA[cfg.scenario] * replicas, False


def _unit(scenario: Scenario) -> str:
    return "samples/s" if scenario is Scenario.OFFLINE else "QPS"


def _samples(cfg: RunConfig) -> int:
    return cfg.total_sample_count or rules.DATASET_SIZE[cfg.category]


def performance_s(cfg: RunConfig, replicas: int) -> float:
    """A performance test's length by LoadGen's own query count (equal issue: whole passes over the set)."""
    min_ms = cfg.min_duration_ms if cfg.min_duration_ms is not None else rules.MIN_DURATION_MS
    n = _samples(cfg)
    if cfg.scenario is Scenario.SINGLESTREAM:
        latency = (cfg.target_latency_ms / 1000) if cfg.target_latency_ms else SINGLESTREAM_LATENCY_S
        queries = rules.performance_queries(cfg.scenario, 1 / latency, min_ms, 100, n, True)
        return max(min_ms / 1000, queries * latency)
    rate, _ = _rate(cfg, replicas)
    queries = rules.performance_queries(cfg.scenario, rate, min_ms, n if cfg.scenario is Scenario.OFFLINE else 0,
                                        n, True)
    return max(min_ms / 1000, queries / rate)


def accuracy_s(cfg: RunConfig, replicas: int) -> float:
    """One pass over the data set: sequential for SingleStream, at the target rate otherwise."""
    if cfg.scenario is Scenario.SINGLESTREAM:
        latency = (cfg.target_latency_ms / 1000) if cfg.target_latency_ms else SINGLESTREAM_LATENCY_S
        return _samples(cfg) * latency
    return _samples(cfg) / _rate(cfg, replicas)[0]


def scenario_run(cfg: RunConfig, gpus: tuple[int, ...] | None, search_budget_s: float) -> ScenarioRun:
    """The steps of one scenario on one warm engine, with their estimates."""
    on = gpus_text(gpus)
    replicas = max(1, (len(gpus) if gpus else 1) // max(1, cfg.engine.tensor_parallel_size or 1))
    sc = cfg.scenario.value
    min_s = (cfg.min_duration_ms if cfg.min_duration_ms is not None else rules.MIN_DURATION_MS) / 1000
    perf_detail = f"at least {min_s:g} s, whole passes over the {_samples(cfg):,} samples (equal issue)"
    perf = performance_s(cfg, replicas)
    if cfg.qps_policy is QpsPolicy.SEARCH:
        perf += search_budget_s
        perf_detail = f"QPS search ({search_budget_s / 60:g} min of probes), then the full run at the pick"
    elif cfg.target_qps is not None and cfg.qps_policy is QpsPolicy.FIXED:
        perf_detail = f"{cfg.target_qps:g} {_unit(cfg.scenario)}, " + perf_detail
    elif cfg.qps_policy is QpsPolicy.AUTO:
        perf_detail = "target QPS 0.8 x the Offline rate, " + perf_detail
    steps = [Step(f"{sc}.accuracy", cfg.scenario, "accuracy",
                  accuracy_s(cfg, replicas) + _samples(cfg) * SCORE_S_PER_SAMPLE, on,
                  f"{_samples(cfg):,} samples, then ROUGE scoring on the CPU"),
             Step(f"{sc}.performance", cfg.scenario, "performance", perf, on, perf_detail)]
    if cfg.compliance_test06:
        rate = _rate(cfg, replicas)[0] if cfg.scenario is not Scenario.SINGLESTREAM else 1 / SINGLESTREAM_LATENCY_S
        steps.append(Step(f"{sc}.test06", cfg.scenario, "test06", max(TEST06_MIN_S, TEST06_QUERIES / rate), on,
                          "official audit.config, then the three checks"))
    return ScenarioRun(cfg, ENGINE_START_S, tuple(steps))


def build(category: Category, cfgs: list[RunConfig], gpus: tuple[int, ...] | None, search_budget_s: float,
          pack_failed: bool) -> SetPlan:
    """The whole set: one engine start per scenario, then packing, truncation and the checker."""
    runs = tuple(scenario_run(cfg, gpus, search_budget_s) for cfg in cfgs)
    final = (Step("pack", None, "pack", PACK_S / 2, "none (CPU)",
                  "lay out the tree" + ("; failed steps packed, each named as failed" if pack_failed else
                                        "; a failed step is not packed")),
             Step("truncate", None, "truncate", PACK_S / 4, "none (CPU)",
                  "accuracy logs cut to 4 KB + 4 KB with hash= in accuracy.txt; full logs kept in the runs"),
             Step("check", None, "check", PACK_S / 4, "none (CPU)", "the official submission checker"))
    assumptions = []
    guessed = [f"{c.scenario.display} {RATE_PER_REPLICA[c.scenario]:g} {_unit(c.scenario)}" for c in cfgs
               if c.scenario is not Scenario.SINGLESTREAM and not _rate(c, 1)[1]]
    if guessed:
        assumptions.append(f"one H200's rates per model replica ({', '.join(guessed)}; BENCHMARKS.md), "
                           "replaced by a rate flag where one is given")
    if gpus is None:
        assumptions.append("one model replica (pass --gpus to plan for more)")
    if any(c.scenario is Scenario.SINGLESTREAM and not c.target_latency_ms for c in cfgs):
        assumptions.append(f"SingleStream {SINGLESTREAM_LATENCY_S * 1000:.0f} ms per query (one H200's p90); "
                           "no GPU count shortens it")
    assumptions.append(f"engine start {ENGINE_START_S / 60:g} min per scenario")
    return SetPlan(category, gpus, runs, final, tuple(assumptions))


def minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{math.ceil(seconds)} s"


def plan_lines(plan: SetPlan, submission_dir: Path, results_dir: Path) -> list[str]:
    """The plan as --plan prints it: numbered steps, their GPUs and estimates, the total."""
    names = ",".join(r.cfg.scenario.value for r in plan.runs)
    lines = [f"Submission set {plan.category.value} ({names}) on {gpus_text(plan.gpus)}: "
             f"{len(plan.steps)} steps, about {minutes(plan.total_s)}"]
    n = 0
    for run in plan.runs:
        cfg = run.cfg
        tests = "accuracy, performance" + (" and TEST06" if cfg.compliance_test06 else "")
        lines.append(f"  {cfg.scenario.display}: one engine start on {gpus_text(plan.gpus)} "
                     f"(~{minutes(run.engine_start_s)}), then {tests} on the warm engine")
        for step in run.steps:
            n += 1
            extra = f" — {step.detail}" if step.detail else ""
            lines.append(f"    {n}. {step.name:<26} ~{minutes(step.estimate_s):>7}{extra}")
    lines.append(f"  Then, on the CPU, into {submission_dir} (runs from {results_dir}):")
    for step in plan.final:
        n += 1
        lines.append(f"    {n}. {step.name:<26} ~{minutes(step.estimate_s):>7} — {step.detail}")
    lines.append(f"  Estimate: about {minutes(plan.total_s)} in all; assumes " + "; ".join(plan.assumptions) + ".")
    streaming = [r.cfg.scenario.display for r in plan.runs if r.cfg.scenario in (Scenario.SERVER, Scenario.INTERACTIVE)]
    if streaming:
        lines.append(f"  If {' or '.join(streaming)} is INVALID on latency, it runs again at a lower QPS, at most "
                     f"{MAX_STEP_DOWNS} times ({STEP_DOWN:.0%} lower each), each a whole run beyond the estimate.")
    return lines
