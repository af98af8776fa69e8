"""mmlu.py: flags -> MMLU plan -> the MMLU run -> console lines and exit code."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Sequence

from ..config import EngineConfig
from ..engines.factory import EngineFactory
from ..errors import EXIT_INTERRUPTED, EXIT_SETUP, BenchError, UsageError
from ..mmlu import data as mdata
from ..mmlu import evaluate as mev
from ..mmlu.subjects import SUBJECTS
from ..orchestrate import preflight
from ..orchestrate.mmlu import MmluPlan, execute
from . import interrupt, paths
from .console import configure_console_logging, error_line
from .dotenv import load_env_file
from .run_args import DEFAULT_MODEL, MAX_PARALLEL, MAX_TOKENS, PRECISIONS, _HelpFormatter, add_switch, number

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    """mmlu.py's flags."""
    p = argparse.ArgumentParser(prog="mmlu.py", formatter_class=_HelpFormatter,
                                description="MMLU on vLLM, scored like lm-evaluation-harness (k-shot, letter log-probabilities).")
    p.add_argument("--model", default=DEFAULT_MODEL, type=paths.model_ref("--model"),
                   help="Hugging Face id, local model directory, or 'demo'")
    p.add_argument("--tokenizer", default=None, type=paths.model_ref("--tokenizer"),
                   help="tokenizer id or directory, if not the model's own")
    p.add_argument("--data-path", type=paths.flag("--data-path"), default=None,
                   help="local MMLU: cais/mmlu parquet layout or the original CSV layout (default: the Hub; demo data for --model demo)")
    p.add_argument("--subjects", default="all", help="comma-separated subject names, or all")
    p.add_argument("--num-fewshot", default=5, help="examples from the dev split of the same subject",
                   type=number("--num-fewshot", int, 0, 100, ">= 0 and at most 100"))
    p.add_argument("--total-limit", default=None,
                   help="score N questions spread over the subjects in proportion (stratified, seeded); default: all",
                   type=number("--total-limit", int, 1, None, "at least 1"))
    p.add_argument("--seed", default=1234, help="seed of the --total-limit sample",
                   type=number("--seed", int, None, None, "a whole number"))
    p.add_argument("--prompt-style", default="plain", choices=["plain", "chat"],
                   help="plain text as lm-evaluation-harness (default), or wrapped in the model's chat template")
    p.add_argument("--precision", default="bf16", choices=list(PRECISIONS), help="as in run.py")
    p.add_argument("--device", default="auto", choices=["auto", "cuda", "cpu"], help="as in run.py")
    p.add_argument("--tensor-parallel-size", default=1, help="GPUs per model replica",
                   type=number("--tensor-parallel-size", int, 1, MAX_PARALLEL, f"at least 1, at most {MAX_PARALLEL}"))
    p.add_argument("--data-parallel-size", default=1,
                   help="model replicas (vLLM data parallelism), each on its own GPUs",
                   type=number("--data-parallel-size", int, 1, MAX_PARALLEL, f"at least 1, at most {MAX_PARALLEL}"))
    p.add_argument("--max-model-len", default=None, help="context length (default: longest prompt + 1)",
                   type=number("--max-model-len", int, 1, MAX_TOKENS, f"positive, at most {MAX_TOKENS} tokens"))
    p.add_argument("--gpu-memory-utilization", default=0.90, help="share of GPU memory vLLM may use",
                   type=number("--gpu-memory-utilization", float, 0, 1, "in (0, 1]", low_open=True))
    p.add_argument("--results-dir", type=paths.flag("--results-dir", paths.RESULTS_ROOM), default=Path("results"),
                   help="where the run folder is written")
    add_switch(p, "--details", 0, "1 also prints the per-subject table")
    add_switch(p, "--keep-all", 1, "1 keeps every run; 0 removes earlier MMLU runs of the same shot count")
    add_switch(p, "--extra-metrics", 0, "1 adds per-question latency percentiles to the results")
    return p


def _subjects(value: str) -> list[str]:
    if value == "all":
        return list(SUBJECTS)
    names = [s.strip() for s in value.split(",") if s.strip()]
    unknown = [s for s in names if s not in SUBJECTS]
    if unknown:
        raise UsageError(f"unknown MMLU subject(s): {', '.join(unknown)}; names look like 'high_school_physics' "
                         "(see README for all 57).")
    return names


def _check(a: argparse.Namespace) -> None:
    if a.num_fewshot < 0:
        raise UsageError(f"--num-fewshot must be >= 0, got {a.num_fewshot}.")
    if a.total_limit is not None and a.total_limit < 1:
        raise UsageError(f"--total-limit must be at least 1, got {a.total_limit}.")
    if not 0 < a.gpu_memory_utilization <= 1:
        raise UsageError(f"--gpu-memory-utilization must be in (0, 1], got {a.gpu_memory_utilization}.")
    for flag, value in (("--tensor-parallel-size", a.tensor_parallel_size),
                        ("--data-parallel-size", a.data_parallel_size)):
        if value < 1:
            raise UsageError(f"{flag} must be at least 1, got {value}.")


def _prepare(a: argparse.Namespace) -> MmluPlan:
    """Check everything that needs no engine and build the prompts; writes nothing."""
    _check(a)
    subjects = _subjects(a.subjects)
    model = preflight.resolve_model(a.model, a.tokenizer, need_tokenizer=True)
    if a.data_path is not None:
        data = mdata.load_local(a.data_path, subjects)
    elif model.is_demo:
        full = mdata.demo_questions()
        data = mdata.MMLUData({s: full.test[s] for s in subjects}, {s: full.dev[s] for s in subjects}, full.source)
    else:
        data = mdata.load_hub(subjects)
    questions = mdata.stratified_limit(data.test, a.total_limit, a.seed)
    if a.total_limit is not None and a.total_limit > len(questions):
        log.warning("--total-limit %d is more than the %d test questions of the subjects asked for; all are scored",
                    a.total_limit, len(questions))
    preflight.check_results_dir(a.results_dir)
    device = preflight.resolve_device(a.device, model)
    preflight.check_gpu_count(a.tensor_parallel_size, a.data_parallel_size, device)
    from ..checkpoint import resolve_fp8
    from ..mlperf.accuracy import load_tokenizer

    tokenizer = load_tokenizer(model.tokenizer)
    style = mev.PromptStyle(chat=a.prompt_style == "chat")
    prompts = mev.prepare(questions, data.dev, a.num_fewshot, tokenizer, style)
    longest = max(len(p) for p in prompts)
    if a.max_model_len is not None and a.max_model_len < longest + 1:
        raise UsageError(f"--max-model-len {a.max_model_len} is smaller than the longest prompt ({longest} tokens) "
                         f"plus the answer; use at least {longest + 1}.")
    context = model.config.get("max_position_embeddings")
    if isinstance(context, int) and context > 0 and (a.max_model_len or longest + 1) > context:
        flag = f"--max-model-len {a.max_model_len}" if a.max_model_len else f"the longest prompt ({longest} tokens)"
        raise UsageError(f"{flag} is more than the model's context ({context} tokens); "
                         + ("use at most that." if a.max_model_len else "use fewer --num-fewshot examples."))
    dtype, quant, kv = PRECISIONS[a.precision]
    quant, fp8_path = resolve_fp8(model.config, quant)
    engine = EngineConfig(model=model.path, tokenizer=model.tokenizer, dtype=dtype, quantization=quant,
                          kv_cache_dtype=kv, tensor_parallel_size=a.tensor_parallel_size,
                          data_parallel_size=a.data_parallel_size, max_model_len=a.max_model_len or longest + 1,
                          gpu_memory_utilization=a.gpu_memory_utilization)
    config = {"model_label": a.model, "category": "mmlu", "scenario": f"{a.num_fewshot}-shot", "mode": "accuracy",
              "num_fewshot": a.num_fewshot, "prompt_style": a.prompt_style, "subjects": a.subjects,
              "total_limit": a.total_limit, "seed": a.seed, "questions": len(questions), "data_source": data.source,
              "device": device.value, "fp8_path": fp8_path, "engine": engine.to_dict()}
    return MmluPlan(engine, config, questions, prompts, style.choice_token_ids(tokenizer), a.results_dir,
                    bool(a.keep_all), bool(a.extra_metrics), data.source.startswith("demo"))


def main(argv: Sequence[str] | None = None, engine_factory: EngineFactory | None = None) -> int:
    """Entry point of mmlu.py."""
    configure_console_logging()
    try:
        load_env_file()
    except OSError as exc:
        print(error_line(f"cannot read .env ({exc.strerror or exc}); make it readable or remove it."), file=sys.stderr)
        return EXIT_SETUP
    interrupt.install()
    args = list(argv if argv is not None else sys.argv[1:])
    try:
        a = build_parser().parse_args(args)
        plan = _prepare(a)
    except BenchError as exc:
        print(error_line(str(exc)), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    try:
        result = execute(plan, ["mmlu.py", *args], engine_factory)
    except BenchError as exc:  # a write the disk refused (full, read-only): exit 3
        print(error_line(str(exc)), file=sys.stderr)
        return exc.exit_code
    except OSError as exc:
        print(error_line(f"cannot write to {a.results_dir}: {exc}; check the folder, its disk and its permissions, "
                         "then run again."), file=sys.stderr)
        return EXIT_SETUP
    if result.error:
        print(error_line(result.error), file=sys.stderr)
    if result.results:
        o = result.results["overall"]
        print(f"MMLU accuracy: {o['accuracy']:.2f}% ({o['correct']:,}/{o['questions']:,}, {a.num_fewshot}-shot)")
        for d, v in result.results["by_domain"].items():
            print(f"  {d}: {v['accuracy']:.2f}% ({v['questions']:,})")
        if a.details:
            for s, v in result.results["by_subject"].items():
                print(f"    {s}: {v['accuracy']:.2f}% ({v['questions']})")
        print(f"Report: {result.run_dir / 'report.md'}")
    for name in result.removed_runs:
        print(f"--keep-all 0: removed earlier run {name}")
    return result.code
