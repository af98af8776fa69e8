"""The MMLU report: report.md and the per-subject plot of an MMLU run folder, from its summary.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..results.atomic import write_text_atomic
from ..results.record import read_summary


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
    summary = read_summary(run_dir).data
    if not isinstance(summary.get("mmlu"), dict) or not isinstance(summary.get("config"), dict):
        raise ValueError(f"{run_dir} holds no finished MMLU results")
    results, cfg = summary["mmlu"], summary["config"]
    _plot(run_dir / "plots" / "score_by_subject.png", results,
          f"MMLU {cfg['num_fewshot']}-shot by subject — {cfg['model_label']}")
    write_text_atomic(run_dir / "report.md", _report(summary, results))
