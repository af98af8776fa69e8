"""mmlu.py: MMLU (k-shot, log-probability choice) on the same vLLM engine as run.py."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import logging
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from .. import __version__, preflight
from ..config import EngineConfig
from ..engines.base import Engine
from ..errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_RUN_FAILED, BenchError, UsageError
from ..mmlu import data as mdata
from ..mmlu import evaluate as mev
from ..mmlu.subjects import LETTERS, SUBJECTS
from ..progress import Progress
from ..results import environment, store
from ..results.atomic import write_json_atomic, write_text_atomic
from ..runner import attach_run_log
from .console import configure_console_logging, error_line
from .dotenv import load_env_file
from .run_args import DEFAULT_MODEL, PRECISIONS, _HelpFormatter

log = logging.getLogger(__name__)
EngineFactory = Callable[[EngineConfig], Engine]


def build_parser() -> argparse.ArgumentParser:
    """mmlu.py's flags."""
    p = argparse.ArgumentParser(prog="mmlu.py", formatter_class=_HelpFormatter,
                                description="MMLU on vLLM, scored like lm-evaluation-harness (k-shot, letter log-probabilities).")
    p.add_argument("--model", default=DEFAULT_MODEL, help="Hugging Face id, local model directory, or 'demo'")
    p.add_argument("--tokenizer", default=None, help="tokenizer id or directory, if not the model's own")
    p.add_argument("--data-path", type=Path, default=None,
                   help="local MMLU: cais/mmlu parquet layout or the original CSV layout (default: the Hub; demo data for --model demo)")
    p.add_argument("--subjects", default="all", help="comma-separated subject names, or all")
    p.add_argument("--num-fewshot", type=int, default=5, help="examples from the dev split of the same subject")
    p.add_argument("--total-limit", type=int, default=None,
                   help="score N questions spread over the subjects in proportion (stratified, seeded); default: all")
    p.add_argument("--seed", type=int, default=1234, help="seed of the --total-limit sample")
    p.add_argument("--prompt-style", default="plain", choices=["plain", "chat"],
                   help="plain text as lm-evaluation-harness (default), or wrapped in the model's chat template")
    p.add_argument("--precision", default="bf16", choices=list(PRECISIONS), help="as in run.py")
    p.add_argument("--device", default="auto", choices=["auto", "cuda", "cpu"], help="as in run.py")
    p.add_argument("--tensor-parallel-size", type=int, default=1, help="GPUs per model replica")
    p.add_argument("--data-parallel-size", type=int, default=1,
                   help="model replicas (vLLM data parallelism), each on its own GPUs")
    p.add_argument("--max-model-len", type=int, default=None, help="context length (default: longest prompt + 1)")
    p.add_argument("--gpu-memory-utilization", type=float, default=0.90, help="share of GPU memory vLLM may use")
    p.add_argument("--results-dir", type=Path, default=Path("results"), help="where the run folder is written")
    p.add_argument("--details", action="store_true", help="also print the per-subject table")
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


def _samples_csv(scored: Sequence[mev.Scored]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["subject", "domain", "question_id", "answer", "prediction", "correct",
                *(f"logprob_{x}" for x in LETTERS), "latency_ms"])
    from ..mmlu.subjects import DOMAIN_NAMES
    for s in scored:
        q = s.question
        w.writerow([q.subject, DOMAIN_NAMES[q.domain], q.qid, LETTERS[q.answer], LETTERS[s.prediction], int(s.correct),
                    *(f"{v:.6f}" for v in s.logprobs), f"{s.latency_ms:.1f}"])
    return buf.getvalue()


def _report(summary: dict[str, Any], results: dict[str, Any]) -> str:
    o = results["overall"]
    cfg = summary["config"]
    lines = [f"# MMLU — {cfg['model_label']}", "",
             f"**Accuracy: {o['accuracy']:.2f}%** ({o['correct']:,} of {o['questions']:,} questions, "
             f"{cfg['num_fewshot']}-shot, {cfg['prompt_style']} prompts, micro average)", "",
             "Scored like lm-evaluation-harness: the answer is the letter whose token has the highest "
             "log-probability after `Answer:`; published Llama-3.1-8B-Instruct MMLU (5-shot) is about 68-69%.", ""]
    if summary.get("notes"):
        lines += [f"- {n}" for n in summary["notes"]] + [""]
    lines += ["## By domain", "", "| domain | accuracy % | questions |", "|---|---|---|"]
    lines += [f"| {d} | {v['accuracy']:.2f} | {v['questions']:,} |" for d, v in results["by_domain"].items()]
    lines += ["", "## By subject", "", "| subject | domain | accuracy % | questions |", "|---|---|---|---|"]
    lines += [f"| {s} | {v['domain']} | {v['accuracy']:.2f} | {v['questions']:,} |"
              for s, v in results["by_subject"].items()]
    lines += ["", "![score by subject](plots/score_by_subject.png)", "",
              "Files: [overall.json](overall.json), [by_domain.json](by_domain.json), [by_subject.json](by_subject.json), "
              "[samples.csv](samples.csv), [config.json](config.json), [run.log](run.log)", ""]
    return "\n".join(lines)


def _plot(path: Path, results: dict[str, Any], title: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {"STEM": "#1f5f9e", "Humanities": "#c0392b", "Social sciences": "#27ae60", "Other": "#8e6c8a"}
    items = sorted(results["by_subject"].items(), key=lambda kv: kv[1]["accuracy"])
    fig, ax = plt.subplots(figsize=(8, max(3.0, 0.22 * len(items) + 1.2)))
    ax.barh([s.replace("_", " ") for s, _ in items], [v["accuracy"] for _, v in items],
            color=[colors.get(v["domain"], "#777") for _, v in items])
    ax.axvline(results["overall"]["accuracy"], color="black", linestyle="--",
               label=f"overall {results['overall']['accuracy']:.1f}%")
    ax.axvline(25, color="#999", linestyle=":", label="chance (25%)")
    for dom, c in colors.items():
        ax.barh([], [], color=c, label=dom)
    ax.set_xlim(0, 100)
    ax.set_xlabel("accuracy (%)")
    ax.set_title(title, fontsize=10)
    ax.tick_params(axis="y", labelsize=7)
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def render_mmlu(run_dir: Path) -> None:
    """(Re)write report.md and the plot of an MMLU run folder from its summary.json."""
    summary = store.read_summary(run_dir)
    if not summary or not summary.get("mmlu"):
        raise ValueError(f"{run_dir} holds no finished MMLU results")
    results, cfg = summary["mmlu"], summary["config"]
    _plot(run_dir / "plots" / "score_by_subject.png", results,
          f"MMLU {cfg['num_fewshot']}-shot by subject — {cfg['model_label']}")
    write_text_atomic(run_dir / "report.md", _report(summary, results))


def _prepare(a: argparse.Namespace) -> tuple[Any, Any, mdata.MMLUData, list[mdata.Question]]:
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
    preflight.check_results_dir(a.results_dir)
    device = preflight.resolve_device(a.device, model)
    preflight.check_gpu_count(a.tensor_parallel_size, a.data_parallel_size, device)
    return model, device, data, questions


def main(argv: Sequence[str] | None = None, engine_factory: EngineFactory | None = None) -> int:
    """Entry point of mmlu.py."""
    configure_console_logging()
    load_env_file()
    a = build_parser().parse_args(argv)
    try:
        model, device, data, questions = _prepare(a)
        from ..mlperf.accuracy import load_tokenizer
        tokenizer = load_tokenizer(model.tokenizer)
        style = mev.PromptStyle(chat=a.prompt_style == "chat")
        prompts = mev.prepare(questions, data.dev, a.num_fewshot, tokenizer, style)
        choice_ids = style.choice_token_ids(tokenizer)
        longest = max(len(p) for p in prompts)
        if a.max_model_len is not None and a.max_model_len < longest + 1:
            raise UsageError(f"--max-model-len {a.max_model_len} is smaller than the longest prompt ({longest} tokens) "
                             f"plus the answer; use at least {longest + 1}.")
    except BenchError as exc:
        print(error_line(str(exc)), file=sys.stderr)
        return exc.exit_code
    dtype, quant, kv = PRECISIONS[a.precision]
    ecfg = EngineConfig(model=model.path, tokenizer=model.tokenizer, dtype=dtype, quantization=quant,
                        kv_cache_dtype=kv, tensor_parallel_size=a.tensor_parallel_size,
                        data_parallel_size=a.data_parallel_size,
                        max_model_len=a.max_model_len or longest + 1, gpu_memory_utilization=a.gpu_memory_utilization)
    run_dir = store.new_run_dir(a.results_dir, "mmlu")
    attach_run_log(run_dir)
    config = {"model_label": a.model, "category": "mmlu", "scenario": f"{a.num_fewshot}-shot", "mode": "accuracy",
              "num_fewshot": a.num_fewshot, "prompt_style": a.prompt_style, "subjects": a.subjects,
              "total_limit": a.total_limit, "seed": a.seed, "questions": len(questions), "data_source": data.source,
              "device": device, "engine": ecfg.to_dict()}
    write_json_atomic(run_dir / "config.json", config)
    write_json_atomic(run_dir / "environment.json", environment.collect())
    started = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    status, code, results = "completed", EXIT_OK, None
    try:
        print(f"Starting the engine ({a.model}) ...", file=sys.stderr)
        factory = engine_factory or _default_factory
        engine = factory(ecfg)
        try:
            t0 = time.perf_counter()
            with Progress("MMLU", None, enabled=sys.stderr.isatty(), total=len(questions)) as bar:
                scored = mev.evaluate(engine, questions, prompts, choice_ids, progress=bar)
            seconds = time.perf_counter() - t0
        finally:
            engine.shutdown()
        results = mev.aggregate(scored)
        write_json_atomic(run_dir / "overall.json", {**results["overall"], "seconds": round(seconds, 2)})
        write_json_atomic(run_dir / "by_domain.json", results["by_domain"])
        write_json_atomic(run_dir / "by_subject.json", results["by_subject"])
        write_text_atomic(run_dir / "samples.csv", _samples_csv(scored))
    except KeyboardInterrupt:
        status, code = "interrupted", EXIT_INTERRUPTED
    except Exception as exc:
        log.exception("MMLU run failed")
        status, code = "failed", EXIT_RUN_FAILED
        print(error_line(f"MMLU run failed: {type(exc).__name__}: {exc} (see {run_dir / 'run.log'})"), file=sys.stderr)
    notes = []
    if data.source.startswith("demo"):
        notes.append("demo data: generated questions, not MMLU; the demo model has random weights (about 25% expected)")
    summary = {"schema_version": 1, "status": status, "kind": "mmlu",
               "meta": {"run_id": run_dir.name, "started_at": started, "tool_version": __version__,
                        "command": ["mmlu.py", *(argv if argv is not None else sys.argv[1:])]},
               "config": config, "notes": notes,
               "headline": {"name": "mmlu_accuracy", "unit": "%",
                            "value": results["overall"]["accuracy"] if results else None},
               "validity": {}, "mmlu": results}
    write_json_atomic(run_dir / "summary.json", summary)
    if results:
        render_mmlu(run_dir)
        o = results["overall"]
        print(f"MMLU accuracy: {o['accuracy']:.2f}% ({o['correct']:,}/{o['questions']:,}, {a.num_fewshot}-shot)")
        for d, v in results["by_domain"].items():
            print(f"  {d}: {v['accuracy']:.2f}% ({v['questions']:,})")
        if a.details:
            for s, v in results["by_subject"].items():
                print(f"    {s}: {v['accuracy']:.2f}% ({v['questions']})")
        print(f"Report: {run_dir / 'report.md'}")
    store.update_latest(a.results_dir, run_dir)
    store.rebuild_index(a.results_dir)
    return code


def _default_factory(cfg: EngineConfig) -> Engine:
    from ..engines.vllm_engine import start_vllm
    return start_vllm(cfg)
