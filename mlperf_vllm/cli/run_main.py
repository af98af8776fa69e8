"""run.py: flags -> plan -> the benchmark run (or the submission tree) -> console lines and exit code."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Sequence

from .. import diagnose, interrupts, rule_checks
from ..config import Backend, Mode
from ..engines.factory import EngineFactory
from ..results import store
from ..errors import EXIT_INTERRUPTED, EXIT_NOT_VALID, EXIT_OK, EXIT_SETUP, BenchError, UsageError
from . import interrupt, run_args, set_args, tune_args
from .console import configure_console_logging, error_line, say
from .dotenv import load_env_file


def _print_outcome(data: dict[str, Any], run_dir: Path) -> None:
    """The run's verdict on the console; every line redacted (a reason or note may quote a server)."""
    v = data["validity"]
    head = data.get("headline") or {}
    if v.get("performance"):
        metric = f" — {head['name']} {head['value']:,.2f} {head['unit']}" if head.get("value") is not None else ""
        say(f"Performance: {v['performance']}{metric}")
        for reason in v.get("reasons", []):
            say(f"  - {reason}")
    if v.get("accuracy"):
        rouge = data["run"]["accuracy"]["rouge"]
        scores = ", ".join(f"{k} {val:.4f}" for k, val in rouge.items())
        note = " (indicative: partial data set)" if v.get("accuracy_indicative_only") else ""
        say(f"Accuracy: {v['accuracy']}{note} — {scores}, gen_len {data['run']['accuracy']['gen_len']:,}")
    broken = v.get("rule_breaks") or []
    others = [b for b in v.get("not_submittable_because") or [] if b not in broken]
    if broken:
        say("Not valid for submission, breaks MLPerf's rules (--submission-dir never packs it): " + "; ".join(broken))
    if others:
        say(f"{'Also not' if broken else 'Not'} valid for submission: " + "; ".join(others))
    for line in data.get("notes") or []:
        say(f"Note: {line}")
    if (run_dir / "report.md").is_file():  # not there when the disk refused it
        say(f"Report: {run_dir / 'report.md'}")


def _tail(path: Path, n_bytes: int = 20000) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(max(0, path.stat().st_size - n_bytes))
            return fh.read().decode(errors="replace")
    except OSError:
        return ""


def _verdict_code(data: dict[str, Any]) -> int:
    v = data["validity"]
    if v.get("performance") == "INVALID" or v.get("accuracy") == "FAIL":
        return EXIT_NOT_VALID
    return EXIT_OK


def _submission(req: run_args.SubmissionRequest) -> int:
    """--submission-dir: build the tree from the history; no benchmark runs."""
    from ..orchestrate import submission

    if not req.system_name:
        raise UsageError("--submission-dir needs --system-name (e.g. 1xH200_vLLM).")
    report = submission.build(req.results_dir, req.submission_dir, req.system_name, req.submitter,
                              req.version if req.version_given else None)
    say("\n".join(submission.summary_lines(report)))
    if report.checker_failed:
        print(error_line(f"the official submission checker found {report.checker_errors} errors in "
                         f"{req.submission_dir}; its full output is in {report.checker_log}"), file=sys.stderr)
        return EXIT_NOT_VALID
    return EXIT_OK


def _submission_set(req: set_args.SetRequest) -> int:
    """--submission-set: print the plan; unless --plan, run what is not done, pack, check, print the table."""
    from ..orchestrate import set_plan, set_run

    plan = req.plan()
    say("\n".join(set_plan.plan_lines(plan, req.submission_dir, req.results_dir)))
    if req.plan_only:
        return EXIT_OK
    if req.gpus is not None:  # every run of the set sees exactly the system's GPUs
        os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(map(str, req.gpus))
    packing = set_run.Packing(req.results_dir, req.submission_dir, req.system_name, req.submitter, req.version,
                              req.pack_failed)
    demo = all(c.dataset.value == "demo" for c in req.configs)
    runner = set_run.SetRunner(plan, packing, lambda cfg, qps: _set_scenario(req, cfg, qps), say, demo)
    code = runner.run()
    if code == EXIT_INTERRUPTED:  # LoadGen's threads may still call into Python: leave via os._exit
        say(f"Interrupted: the same command resumes; progress is in {runner.path}.", err=True)
        sys.stdout.flush()
        sys.stderr.flush()
        interrupt.exit_now()
    return code


# How a set runs one scenario: run.py in a fresh process (LoadGen reads its configuration once per process).
SCENARIO_COMMAND = (sys.executable, str(Path(__file__).resolve().parents[2] / "run.py"))


def _set_scenario(req: set_args.SetRequest, cfg: Any, target_qps: float | None) -> Any:
    """One scenario of a set: exactly the run.py call a user would make (at `target_qps` when the set steps the
    rate down), its output on this console; the run folder it made is found by name afterwards."""
    import subprocess

    from ..orchestrate import set_run

    argv = set_args.with_target_qps(req.argv[cfg.scenario], target_qps)
    say(f"{cfg.scenario.display}: run.py " + " ".join(argv))
    before = store.run_folder_names(req.results_dir)
    proc = subprocess.Popen([*SCENARIO_COMMAND, *argv])
    try:
        code = proc.wait()
    except KeyboardInterrupt:  # the run got the same Ctrl-C: let it stop and keep its logs
        code = proc.wait()
    new = sorted(store.run_folder_names(req.results_dir) - before)
    run_dir = req.results_dir / new[-1] if new else None
    status = "interrupted" if code == EXIT_INTERRUPTED else "completed" if code in (EXIT_OK, EXIT_NOT_VALID) \
        else "failed"
    return set_run.ScenarioResult(run_dir, status, code)


def _tokenizer(plan: Any) -> Any:
    """The local tokenizer, loaded before the run: accuracy is scored with it, and --backend openai counts
    the tokens of servers that send text without token ids with it (in performance runs too)."""
    cfg = plan.cfg
    openai = cfg.backend is Backend.OPENAI
    if cfg.mode is Mode.PERFORMANCE and not openai:
        return None
    from ..mlperf.accuracy import load_tokenizer

    # preflight.resolve_model refused a model without one (needs_tokenizer), so there is one to load
    purpose = ", which --backend openai needs to count the tokens of servers that reply with text only" \
        if openai else ""
    return load_tokenizer(plan.model.tokenizer, purpose)


def _rescore_only(plan: Any, tokenizer: Any) -> int:
    """--accuracy-log without --results-dir: print the scores as JSON, write nothing."""
    from ..mlperf import accuracy as acc

    cfg = plan.cfg
    entries = acc.load_accuracy_log(cfg.accuracy_log)
    scores = acc.score_accuracy_log(entries, plan.samples.references, tokenizer, source=str(cfg.accuracy_log))
    verdict = acc.gate(scores, cfg.category, cfg.high_accuracy)
    print(json.dumps({"scores": scores, "gate": verdict.to_dict()}))
    return EXIT_OK if verdict.passed else EXIT_NOT_VALID


def main(argv: Sequence[str] | None = None, engine_factory: EngineFactory | None = None) -> int:
    """Entry point of run.py."""
    from ..orchestrate import benchmark
    from ..orchestrate import plan as planning

    configure_console_logging()
    try:
        load_env_file()
    except OSError as exc:
        print(error_line(f"cannot read .env ({exc.strerror or exc}); make it readable or remove it."), file=sys.stderr)
        return EXIT_SETUP
    interrupt.install()
    args = list(argv if argv is not None else sys.argv[1:])
    try:
        request = run_args.parse_request(args)
        if isinstance(request, run_args.SubmissionRequest):
            return _submission(request)
        if isinstance(request, set_args.SetRequest):
            return _submission_set(request)
        if isinstance(request, tune_args.TuneRequest):
            from .tune_main import run_tune

            return run_tune(request, engine_factory)
        cfg, device_flag = request
        if cfg.tune_record and os.environ.get(tune_args.TUNE_PARENT_ENV, "").isdigit() \
                and not interrupts.end_with_parent(int(os.environ[tune_args.TUNE_PARENT_ENV])):
            raise KeyboardInterrupt  # the tune that started this confirmation has already ended
        plan = planning.resolve(cfg, device_flag)
        tokenizer = _tokenizer(plan)
        if cfg.rescore_only:
            return _rescore_only(plan, tokenizer)
    except BenchError as exc:
        print(error_line(str(exc)), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    for line in rule_checks.rule_breaks(cfg.to_dict()):  # said once the run is sure to start
        say(f"warning: this run will be marked not valid for submission: {line}", err=True)

    def advise(exc: BaseException, run_dir: Path) -> str:
        hint = diagnose.advice(exc, plan.cfg.engine, _tail(run_dir / "run.log"))
        return hint or f"{type(exc).__name__}: {exc}"

    def on_interrupt() -> None:
        interrupt.second_interrupt_exits()
        say("Interrupted: stopping; the logs so far are kept (press Ctrl-C again to exit at once).", err=True)

    try:
        result = benchmark.execute(plan, ["run.py", *args], tokenizer, engine_factory, on_interrupt, advise)
    except BenchError as exc:  # the run could not start: its folder could not be made or written
        print(error_line(str(exc)), file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # a write of the history itself (not of the run) refused
        print(error_line(f"cannot write to {cfg.results_dir}: {exc}; check the folder, its disk and its "
                         "permissions, then run again."), file=sys.stderr)
        return EXIT_SETUP
    if result.error:
        print(error_line(result.error), file=sys.stderr)
    if result.status == "interrupted":
        say(f"Interrupted: logs so far are kept in {result.run_dir}.", err=True)
    _print_outcome(result.summary, result.run_dir)
    for name in result.removed_runs:
        say(f"--keep-all 0: removed earlier run {name}")
    if result.status != "interrupted" and interrupts.requested():
        say("Interrupted after the run had ended: its results above were written in full first.", err=True)
    if result.status == "interrupted":  # LoadGen's threads may still call into Python: leave via os._exit
        sys.stdout.flush()
        sys.stderr.flush()
        interrupt.exit_now()
    return result.code if result.code is not None else _verdict_code(result.summary)
