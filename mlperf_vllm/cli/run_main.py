"""run.py: check everything, run the LoadGen tests on the engine, score, report. main(argv) -> exit code."""

from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Sequence

from .. import diagnose, preflight, runner
from ..config import Mode, RunConfig
from ..errors import EXIT_INTERRUPTED, EXIT_NOT_VALID, EXIT_OK, EXIT_RUN_FAILED, BenchError, UsageError
from ..mlperf import accuracy as acc
from ..mlperf import logs
from . import interrupt, run_args
from .console import configure_console_logging, error_line
from .dotenv import load_env_file

log = logging.getLogger(__name__)


def _resolve_auto_qps(cfg: RunConfig) -> RunConfig:
    found = runner.last_offline_samples_per_s(cfg)
    if found is None:
        raise UsageError("--server-target-qps auto needs an earlier completed Offline run of the same model and engine "
                         f"settings in {cfg.results_dir}; run --scenario offline first or give a number.")
    rate, run_id = found
    return replace(cfg, target_qps=round(0.8 * rate, 4), target_qps_source=f"auto: 0.8 x Offline {rate:g}/s of {run_id}")


def _prepare(argv: Sequence[str] | None) -> tuple[RunConfig, Any, Any, Any]:
    """Everything before the run folder exists: flags, model, device, data, tokenizer, results dir."""
    cfg, args = run_args.parse(argv)
    model = preflight.resolve_model(cfg.engine.model, cfg.engine.tokenizer, preflight.needs_tokenizer(cfg))
    if cfg.backend == "openai":
        from ..engines.openai_http import check_endpoints
        check_endpoints(cfg.endpoints, cfg.served_model_name or cfg.model_label)
        device = "remote"
    else:
        device = "cpu" if cfg.accuracy_log is not None else preflight.resolve_device(args.device, model)
    samples = preflight.load_samples(cfg, model)
    cfg = preflight.finalize(cfg, model, samples, device)
    if cfg.target_qps_source == "auto":
        cfg = _resolve_auto_qps(cfg)
    tokenizer = acc.load_tokenizer(model.tokenizer) if cfg.mode is not Mode.PERFORMANCE else None
    if args.results_dir is not None or cfg.accuracy_log is None:
        preflight.check_results_dir(cfg.results_dir)
    return cfg, args, samples, tokenizer


def _rescore_only(cfg: RunConfig, samples: Any, tokenizer: Any) -> int:
    """--accuracy-log without --results-dir: print the scores as JSON, write nothing."""
    entries = acc.load_accuracy_log(cfg.accuracy_log)
    scores = acc.score_accuracy_log(entries, samples.references, tokenizer, source=str(cfg.accuracy_log))
    verdict = acc.gate(scores, cfg.category, cfg.high_accuracy)
    print(json.dumps({"scores": scores, "gate": verdict.to_dict()}))
    return EXIT_OK if verdict.passed else EXIT_NOT_VALID


def _print_outcome(data: dict[str, Any], run_dir: Path) -> None:
    v = data["validity"]
    head = data.get("headline") or {}
    if v.get("performance"):
        metric = f" — {head['name']} {head['value']:,.2f} {head['unit']}" if head.get("value") is not None else ""
        print(f"Performance: {v['performance']}{metric}")
        for reason in v.get("reasons", []):
            print(f"  - {reason}")
    if v.get("accuracy"):
        rouge = data["run"]["accuracy"]["rouge"]
        scores = ", ".join(f"{k} {val:.4f}" for k, val in rouge.items())
        note = " (indicative: partial data set)" if v.get("accuracy_indicative_only") else ""
        print(f"Accuracy: {v['accuracy']}{note} — {scores}, gen_len {data['run']['accuracy']['gen_len']:,}")
    if v.get("not_submittable_because"):
        print("Not valid for submission: " + "; ".join(v["not_submittable_because"]))
    print(f"Report: {run_dir / 'report.md'}")


def _tail(path: Path, n_bytes: int = 20000) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(max(0, path.stat().st_size - n_bytes))
            return fh.read().decode(errors="replace")
    except OSError:
        return ""


def _exit_code(data: dict[str, Any]) -> int:
    v = data["validity"]
    if v.get("performance") == "INVALID" or v.get("accuracy") == "FAIL":
        return EXIT_NOT_VALID
    return EXIT_OK


def _run(cfg: RunConfig, samples: Any, tokenizer: Any, argv: Sequence[str] | None,
         engine_factory: runner.EngineFactory) -> int:
    from ..report.render import render_run

    ctx = runner.start(cfg, samples, ["run.py", *(argv if argv is not None else sys.argv[1:])])
    progress = sys.stderr.isatty()
    status, code = "completed", None
    try:
        if cfg.accuracy_log is None:
            t0 = time.perf_counter()
            print(f"Connecting to {len(cfg.endpoints)} endpoint(s) ..." if cfg.backend == "openai"
                  else f"Starting the engine ({cfg.model_label}) ...", file=sys.stderr)
            engine = engine_factory(cfg)
            ctx.engine_start_s = runner.elapsed(t0)
            try:
                runner.run_tests(ctx, engine, progress)
            finally:
                engine.shutdown()
            acc_log = ctx.run_dir / "Accuracy" / logs.ACCURACY_FILE
        else:
            acc_log = cfg.accuracy_log
            ctx.notes.append(f"accuracy scored from an existing log: {cfg.accuracy_log}")
        if cfg.mode is not Mode.PERFORMANCE:
            runner.score_accuracy(ctx, acc_log, tokenizer, progress)
    except KeyboardInterrupt:
        interrupt.second_interrupt_exits()
        status, code = "interrupted", EXIT_INTERRUPTED
        log.warning("interrupted: the run stops here; its logs so far are kept in %s", ctx.run_dir)
        print(f"Interrupted: logs so far are kept in {ctx.run_dir} (press Ctrl-C again to exit at once).",
              file=sys.stderr)
    except BenchError as exc:
        status, code = "failed", exc.exit_code
        log.exception("run failed")
        print(error_line(str(exc)), file=sys.stderr)
    except Exception as exc:  # the run folder keeps what was done; the traceback goes to run.log
        status, code = "failed", EXIT_RUN_FAILED
        log.exception("run failed")
        hint = diagnose.advice(exc, cfg.engine, _tail(ctx.run_dir / "run.log"))
        what = hint or f"{type(exc).__name__}: {exc}"
        print(error_line(f"run failed: {what} (details in {ctx.run_dir / 'run.log'})"), file=sys.stderr)
    data = runner.finish(ctx, status, render_run)
    _print_outcome(data, ctx.run_dir)
    for name in data.get("removed_runs", []):
        print(f"--keep-all 0: removed earlier run {name}")
    if status == "interrupted":  # LoadGen's threads may still call into Python: leave via os._exit
        sys.stdout.flush()
        sys.stderr.flush()
        interrupt.exit_now()
    return code if code is not None else _exit_code(data)


def _submission(args: Any) -> int:
    """--submission-dir: build the tree from the history; no benchmark runs."""
    from .. import submission

    if not args.system_name:
        raise UsageError("--submission-dir needs --system-name (e.g. 1xH200_vLLM).")
    report = submission.build(args.results_dir or Path("results"), args.submission_dir, args.system_name,
                              args.submitter, args.version)
    print("\n".join(submission.summary_lines(report)))
    return EXIT_OK


def main(argv: Sequence[str] | None = None, engine_factory: runner.EngineFactory | None = None) -> int:
    """Entry point of run.py."""
    configure_console_logging()
    load_env_file()
    interrupt.install()
    try:
        early = run_args.build_parser().parse_args(argv)
        if early.submission_dir is not None:
            return _submission(early)
        cfg, args, samples, tokenizer = _prepare(argv)
        if cfg.accuracy_log is not None and args.results_dir is None:
            return _rescore_only(cfg, samples, tokenizer)
    except BenchError as exc:
        print(error_line(str(exc)), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return _run(cfg, samples, tokenizer, argv, engine_factory or _factory_for(cfg, tokenizer))


def _factory_for(cfg: RunConfig, tokenizer: Any) -> runner.EngineFactory:
    if cfg.backend != "openai":
        return runner.default_engine_factory

    def make(c: RunConfig) -> Any:
        from ..engines.openai_http import OpenAIEngine
        encode = (lambda text: tokenizer.encode(text, add_special_tokens=False)) if tokenizer is not None else None
        return OpenAIEngine(c.endpoints, c.served_model_name or c.model_label, encode=encode)
    return make
