"""run.py --tune's flags: checked before anything runs, into a TuneRequest (or, in the confirmation run a
tune starts, into that run's config with the tune's preset applied)."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Sequence

from ..config import RunConfig, Scenario
from ..errors import UsageError
from .flags import _given_dests, number

DEFAULT_BUDGET_MIN = 60.0
MAX_BUDGET_MIN = 24 * 60.0
TUNED_SCENARIOS = (Scenario.OFFLINE, Scenario.SERVER, Scenario.INTERACTIVE)
# What the tune decides itself: given on the command line, it would be silently overruled.
DECIDED = {"preset": "--preset", "max_num_batched_tokens": "--max-num-batched-tokens",
           "max_num_seqs": "--max-num-seqs", "server_target_qps": "--server-target-qps",
           "user_conf": "--user-conf"}
NOT_WITH_TUNE = {"submission_set": "--submission-set runs a set of benchmark runs",
                 "submission_dir": "--submission-dir packs earlier runs",
                 "accuracy_log": "--accuracy-log scores an existing log"}

TUNE_PARENT_ENV = "MLPERF_VLLM_TUNE_PARENT"  # the tune's pid, in its confirmation run's environment


@dataclass(frozen=True)
class TuneRequest:
    """run.py --tune: the tune's run configuration, its budget and the command line to confirm it with."""

    cfg: RunConfig
    device_flag: str
    budget_s: float
    argv: tuple[str, ...]


def add_tune_flags(p: argparse.ArgumentParser) -> None:
    """--tune, --tune-budget-min, and the hidden --tune-record of the run that confirms a tune."""
    g = p.add_argument_group("tune")
    g.add_argument("--tune", action="store_true",
                   help="find this machine's best engine settings for --scenario (offline, server, interactive) by "
                        "measuring, then confirm them with a full run whose folder gets tuned_preset.json; the same "
                        "command resumes an interrupted tune")
    g.add_argument("--tune-budget-min", default=None,
                   type=number("--tune-budget-min", float, 0, MAX_BUDGET_MIN,
                               f"positive minutes, at most {MAX_BUDGET_MIN:g} (a day)", low_open=True),
                   help=f"with --tune: minutes the tune's measurements may take (default {DEFAULT_BUDGET_MIN:g}); "
                        "the confirmation run comes on top")
    g.add_argument("--tune-record", default=None, help=argparse.SUPPRESS)


def _refuse(a: argparse.Namespace, given: set[str]) -> None:
    """One line for each combination a tune cannot run."""
    if not a.tune:
        flag = "--tune-budget-min" if a.tune_budget_min is not None else "--tune-record"
        raise UsageError(f"{flag} is for --tune; add --tune or drop it.")
    for dest, what in NOT_WITH_TUNE.items():
        if getattr(a, dest, None) is not None:
            raise UsageError(f"{what}, it does not tune; drop --tune or {what.split()[0]}.")
    if a.backend != "vllm":
        raise UsageError("--tune starts the engine itself with each candidate's settings: it needs --backend vllm "
                         "(tune on the servers' machine, then start the servers with the tuned settings).")
    if a.mode == "accuracy":
        raise UsageError("--tune measures performance; use --mode performance or both (the confirmation run then "
                         "also runs the accuracy test).")
    if Scenario(a.scenario) not in TUNED_SCENARIOS:
        raise UsageError(f"--tune tunes --scenario offline, server or interactive, not {a.scenario}.")
    for dest, flag in DECIDED.items():
        if dest in given:
            what = "the settings a preset gives" if dest == "preset" else flag
            raise UsageError(f"--tune chooses {what} itself; drop {flag} (or drop --tune to run with it).")
    keys = {pair.partition("=")[0].strip().replace("-", "_") for pair in a.engine_arg}
    tuned = sorted(keys & {"async_scheduling", "max_cudagraph_capture_size", "long_prefill_token_threshold",
                           "max_num_seqs", "max_num_batched_tokens", "enable_prefix_caching"})
    if "enable_prefix_caching" in tuned:
        raise UsageError("--engine-arg enable_prefix_caching: MLPerf keeps prefix caching off, and so does every "
                         "tune; drop it.")
    if tuned:
        raise UsageError(f"--tune chooses --engine-arg {tuned[0]} itself; drop it (or drop --tune to run with it).")


def parse_tune(parser: argparse.ArgumentParser, a: argparse.Namespace, args: Sequence[str],
               run_config: Callable[..., tuple[RunConfig, str]]) -> TuneRequest | tuple[RunConfig, str]:
    """A --tune command -> TuneRequest; its confirmation run (with --tune-record) -> that run's (RunConfig,
    --device), the tune's preset applied as --preset applies one. UsageError (exit 2, one line) otherwise."""
    given = _given_dests(parser, args)
    _refuse(a, given)
    serving = Scenario(a.scenario) is not Scenario.OFFLINE
    if serving:
        a.server_target_qps = "search"  # the tune finds the rate: the probes search it, the confirmation too
    if a.tune_record is not None:
        record = Path(a.tune_record)
        try:
            a.preset = json.loads(record.read_text(encoding="utf-8"))["preset_path"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise UsageError(f"--tune-record {record} cannot be read ({exc}); run the tune again.") from None
        cfg, device = run_config(parser, a, args)
        return replace(cfg, tune_record=str(record)), device
    cfg, device = run_config(parser, a, args)
    minutes = DEFAULT_BUDGET_MIN if a.tune_budget_min is None else a.tune_budget_min
    return TuneRequest(cfg, device, minutes * 60, tuple(args))
