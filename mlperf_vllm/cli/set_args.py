"""--submission-set: the flags of the one command that runs a whole set, parsed into a SetRequest.

Each scenario of the set gets the RunConfig one run.py call would get (--mode both, --compliance-test06 for
datacenter), built by the same code, so a set runs exactly what the single runs would.
"""

from __future__ import annotations

import argparse
import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from ..config import Category, RunConfig, Scenario
from ..errors import UsageError
from ..orchestrate import set_plan

SET_HELP = ("run a whole submission set and pack it into --submission-dir: every scenario's accuracy and "
            "performance test (and TEST06 for datacenter) on one warm engine per scenario, then the tree, "
            "truncation and the official checker")
SCENARIOS_HELP = ("with --submission-set: comma-separated scenarios. Default: datacenter offline,server,interactive "
                  "(the checker needs offline plus server or interactive; all three is the complete set), edge "
                  "offline,singlestream (both required)")
# Flags of a single run that a set decides itself, and what to do instead.
NOT_IN_A_SET = {"scenario": "--scenario picks one run; use --scenarios",
                "mode": "--mode: a set always runs both tests",
                "accuracy_log": "--accuracy-log scores one log; run it without --submission-set",
                "category": "--category: --submission-set names the category"}


@dataclass(frozen=True)
class SetRequest:
    """A resolved --submission-set command: one RunConfig per scenario, where to pack, and how."""

    category: Category
    configs: tuple[RunConfig, ...]
    device: str
    gpus: tuple[int, ...] | None
    submitter: str
    system_name: str
    submission_dir: Path
    results_dir: Path
    version: str
    plan_only: bool
    pack_failed: bool
    search_budget_s: float
    argv: dict[Scenario, tuple[str, ...]] = field(default_factory=dict)  # each scenario's run.py flags

    def plan(self) -> set_plan.SetPlan:
        return set_plan.build(self.category, list(self.configs), self.gpus, self.search_budget_s, self.pack_failed)


def add_set_flags(p: argparse.ArgumentParser) -> None:
    """The --submission-set group of run.py."""
    g = p.add_argument_group("submission set (one command for every run, packed and checked)")
    g.add_argument("--submission-set", default=None, choices=[c.value for c in Category], help=SET_HELP)
    g.add_argument("--scenarios", default=None, metavar="LIST", help=SCENARIOS_HELP)
    g.add_argument("--gpus", default=None, metavar="LIST",
                   help="with --submission-set: the GPUs of the system, e.g. 0-7 or 0,1,2,3; every run uses all of "
                        "them (data parallel, one replica per --tensor-parallel-size GPUs). Default: every visible GPU")
    g.add_argument("--plan", action="store_true",
                   help="with --submission-set: print the steps, their GPUs and a time estimate; start nothing")
    g.add_argument("--pack-failed", action="store_true",
                   help="with --submission-set: pack failed steps too, each named as failed (to try the pipeline "
                        "where accuracy cannot pass, e.g. the demo model); the checker's verdict says what fails")


def refuse_outside_a_set(a: argparse.Namespace) -> None:
    """The set's own flags without --submission-set: one line saying what to do."""
    given = [f for f, v in (("--gpus", a.gpus), ("--scenarios", a.scenarios), ("--plan", a.plan),
                            ("--pack-failed", a.pack_failed)) if v not in (None, False)]
    if given:
        raise UsageError(f"{given[0]} is for --submission-set; add --submission-set datacenter|edge or drop it.")


def _scenario_namespace(a: argparse.Namespace, category: Category, scenario: Scenario,
                        gpus: tuple[int, ...] | None) -> argparse.Namespace:
    """The flags one run.py call for this scenario would get."""
    b = copy.copy(a)
    b.engine_arg = list(a.engine_arg)
    b.endpoint = list(a.endpoint)
    b.category, b.scenario, b.mode = category.value, scenario.value, "both"
    b.compliance_test06 = category is Category.DATACENTER
    b.submission_dir = None
    streams = scenario in (Scenario.SERVER, Scenario.INTERACTIVE)
    b.server_target_qps = (a.server_target_qps or ("search" if a.user_conf is None else None)) if streams else None
    b.offline_expected_qps = a.offline_expected_qps if scenario is Scenario.OFFLINE else None
    b.singlestream_expected_latency_ms = a.singlestream_expected_latency_ms \
        if scenario is Scenario.SINGLESTREAM else None
    if gpus is not None and a.data_parallel_size == "1" and a.tensor_parallel_size != "auto":
        tp = int(a.tensor_parallel_size) if a.tensor_parallel_size.isdigit() else 1
        b.data_parallel_size = str(max(1, len(gpus) // max(1, tp)))
    return b


def _check_gpus(a: argparse.Namespace, gpus: tuple[int, ...] | None, given: set[str]) -> None:
    if gpus is None:
        return
    tp = a.tensor_parallel_size
    dp = a.data_parallel_size
    if tp.isdigit() and int(tp) > 0 and len(gpus) % int(tp):
        raise UsageError(f"--gpus names {len(gpus)} GPUs, not a multiple of --tensor-parallel-size {tp}; "
                         "name a multiple of it.")
    if "data_parallel_size" in given and tp.isdigit() and dp.isdigit() and int(tp) * int(dp) != len(gpus):
        raise UsageError(f"--tensor-parallel-size {tp} x --data-parallel-size {dp} is not the {len(gpus)} GPUs of "
                         "--gpus; drop --data-parallel-size (the set uses every GPU) or fix --gpus.")


def parse_set(parser: argparse.ArgumentParser, a: argparse.Namespace, args: Sequence[str], given: set[str],
              run_config: Callable[..., tuple[RunConfig, str]]) -> SetRequest:
    """Check a --submission-set command before anything runs; UsageError (exit 2, one line) otherwise.
    `given` names the flags on the command line; `run_config` builds one run's config (run_args)."""
    for dest, why in NOT_IN_A_SET.items():
        if dest in given:
            raise UsageError(f"{why} (with --submission-set).")
    if "keep_all" in given and not a.keep_all:
        raise UsageError("--keep-all 0 would delete the set's earlier attempts, which resume and the readiness "
                         "table read; drop it (with --submission-set).")
    category = Category(a.submission_set)
    scenarios = set_plan.parse_scenarios(category, a.scenarios)
    gpus = set_plan.parse_gpus(a.gpus)
    _check_gpus(a, gpus, given)
    for flag, dest in (("--submitter", "submitter"), ("--system-name", "system_name"),
                       ("--submission-dir", "submission_dir")):
        if dest not in given or not getattr(a, dest):
            raise UsageError(f"--submission-set needs {flag} (the set is packed into --submission-dir as "
                             "closed/<submitter>/results/<system-name>/...).")
    if "/" in a.system_name or a.system_name.startswith("."):
        raise UsageError("--system-name must be a plain name, e.g. 8xH200_vLLM")
    spelled = _spelled_out(parser, args)
    configs, device, argv = [], "auto", {}
    for scenario in scenarios:
        b = _scenario_namespace(a, category, scenario, gpus)
        cfg, device = run_config(parser, b, args)
        configs.append(cfg)
        argv[scenario] = scenario_argv(spelled, a, b, given)
    from ..orchestrate.search import DEFAULT_BUDGET_S

    budget = DEFAULT_BUDGET_S if a.search_budget_min is None else a.search_budget_min * 60
    return SetRequest(category, tuple(configs), device, gpus, a.submitter, a.system_name, a.submission_dir,
                      a.results_dir or Path("results"), a.version, a.plan, a.pack_failed, budget, argv)


# The set's own flags (with whether they take a value), left out of each scenario's run.py call.
SET_FLAGS = {"--submission-set": True, "--scenarios": True, "--gpus": True, "--plan": False, "--pack-failed": False,
             "--submission-dir": True, "--system-name": True, "--submitter": True}
PER_SCENARIO = {"--server-target-qps": "server_target_qps", "--offline-expected-qps": "offline_expected_qps",
                "--singlestream-expected-latency-ms": "singlestream_expected_latency_ms",
                "--data-parallel-size": "data_parallel_size", "--compliance-test06": "compliance_test06"}


def _spelled_out(parser: argparse.ArgumentParser, args: Sequence[str]) -> list[tuple[str, list[str]]]:
    """The command line as (flag, its tokens); a flag must be spelled out in full (each scenario's run.py call is
    made from these tokens, so an abbreviation could not be told from another flag)."""
    options = parser._option_string_actions
    out: list[tuple[str, list[str]]] = []
    for token in args:
        flag = token.split("=", 1)[0]
        if token.startswith("--") and flag in options:
            out.append((flag, [token]))
        elif token.startswith("--"):
            raise UsageError(f"{flag}: with --submission-set, spell every flag out in full (see --help).")
        elif out:
            out[-1][1].append(token)
        else:
            raise UsageError(f"unexpected argument {token!r}; run.py takes flags only.")
    return out


def scenario_argv(spelled: list[tuple[str, list[str]]], a: argparse.Namespace, b: argparse.Namespace,
                  given: set[str]) -> tuple[str, ...]:
    """The run.py flags of one scenario of the set: the set's own flags and other scenarios' rates left out,
    this scenario's category, scenario, mode, TEST06, rate and data parallelism put in."""
    argv = [t for flag, tokens in spelled if flag not in SET_FLAGS and flag not in PER_SCENARIO for t in tokens]
    argv += ["--category", b.category, "--scenario", b.scenario, "--mode", "both"]
    argv += ["--compliance-test06"] if b.compliance_test06 else []
    for flag, dest in PER_SCENARIO.items():
        value = getattr(b, dest)
        if dest == "compliance_test06" or value is None:
            continue
        if dest != "data_parallel_size" or "data_parallel_size" in given or value != a.data_parallel_size:
            argv += [flag, str(value)]
    return tuple(argv)


def with_target_qps(argv: tuple[str, ...], target_qps: float | None) -> tuple[str, ...]:
    """A scenario's run.py flags at another --server-target-qps (a step-down after a latency-INVALID run)."""
    if target_qps is None:
        return argv
    out, skip = [], False
    for token in argv:
        if skip:
            skip = False
        elif token == "--server-target-qps":
            skip = True
        elif not token.startswith("--server-target-qps="):
            out.append(token)
    return (*out, "--server-target-qps", f"{target_qps:g}")
