"""run.py --tune: the plan and its estimate on the console, the tune, then the full run that confirms its
choice: run.py again with the tuned preset, in a fresh process (LoadGen reads its configuration once per
process), exactly as a user would replay it."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from .. import diagnose
from ..errors import EXIT_INTERRUPTED, EXIT_RUN_FAILED, EXIT_SETUP, BenchError, UsageError
from ..results import store
from . import interrupt
from .console import error_line, say
from .tune_args import TUNE_PARENT_ENV, TuneRequest

log = logging.getLogger(__name__)
RUN_PY = str(Path(__file__).resolve().parents[2] / "run.py")


def _prepare(req: TuneRequest) -> Any:
    """The resolved tune; UsageError when the budget cannot hold its first measurement."""
    from ..orchestrate import plan as planning
    from ..orchestrate import tune_run

    job = tune_run.prepare(planning.resolve(req.cfg, req.device_flag), req.budget_s)
    need = tune_run.smallest_budget_s(job.plan)
    if req.budget_s < need:
        raise UsageError(f"--tune-budget-min {req.budget_s / 60:g} cannot hold the first measurement (an engine "
                         f"start and {'a QPS search' if job.plan.serving else 'a window'}, about {need / 60:.1f} "
                         "min); give more minutes" + (" or a smaller --search-budget-min." if job.plan.serving else "."))
    return job


def _measure(job: Any, engine_factory: Any) -> Any:
    """The tune itself, its log lines in the tune folder's run.log; None when it failed (said on the console)."""
    from ..orchestrate import tune_run
    from ..results.folder import attach_run_log

    job.folder.mkdir(parents=True, exist_ok=True)
    handler = attach_run_log(job.folder)
    try:
        return tune_run.tune(job, engine_factory, on_probe=say)
    except KeyboardInterrupt:
        say(f"Interrupted: the tune's measurements so far are in {job.log.path}; the same command resumes it.",
            err=True)
        sys.stdout.flush()
        sys.stderr.flush()
        interrupt.exit_now()
    except Exception as exc:  # the engine failed inside a probe: what was measured stays in the log
        log.exception("the tune failed")
        hint = diagnose.advice(exc, job.run.cfg.engine) or f"{type(exc).__name__}: {exc}"
        print(error_line(f"the tune failed: {hint} (details in {job.folder / 'run.log'}; the same command resumes "
                         "it)"), file=sys.stderr)
        return None
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()


def run_tune(req: TuneRequest, engine_factory: Any = None) -> int:
    """Tune, write the tuned preset, then confirm it with a full run; the confirmation's exit code."""
    from ..orchestrate import tune_run

    try:
        job = _prepare(req)
    except BenchError as exc:
        print(error_line(str(exc)), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    say("\n".join(tune_run.lines(job)))
    outcome = _measure(job, engine_factory)
    if outcome is None:
        return EXIT_RUN_FAILED
    say(f"Tune {job.plan.scenario.display}: stopped by {outcome.stop_reason} after {outcome.starts} engine starts, "
        f"{outcome.seconds / 60:.1f} min of measurements")
    if outcome.choice is None:
        print(error_line(f"no candidate's engine started (stopped by {outcome.stop_reason}); the causes are in "
                         f"{job.log.path} and {job.folder / 'run.log'}."), file=sys.stderr)
        return EXIT_SETUP
    record = tune_run.write_record(job, outcome, req.cfg)
    say(f"  choice: {outcome.choice.line()}")
    say("Confirming the choice with a full run: run.py " + " ".join(req.argv))
    before = store.run_folder_names(req.cfg.results_dir)
    # the run ends with this process, kill -9 included (interrupts.end_with_parent): none outlives its tune
    proc = subprocess.Popen([sys.executable, RUN_PY, *req.argv, "--tune-record", str(record)],
                            env={**os.environ, TUNE_PARENT_ENV: str(os.getpid())})
    try:
        code = proc.wait()
    except KeyboardInterrupt:  # the run got the same Ctrl-C: let it stop and keep its logs
        code = proc.wait()
    new = sorted(store.run_folder_names(req.cfg.results_dir) - before)
    preset = req.cfg.results_dir / new[-1] / "tuned_preset.json" if new else None
    if preset is not None and preset.is_file():
        say(f"Tuned preset: {preset} (replay: the same flags without --tune and --tune-budget-min, with --preset "
            f"{preset})")
    return code
