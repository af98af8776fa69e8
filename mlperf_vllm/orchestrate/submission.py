"""Lay out an MLPerf submission tree from the runs in the results history.

Layouts (tools/submission/submission_structure.md and the checker's constants.py):
- v6.0 and later: closed/<submitter>/results/<system>/<benchmark>/<Scenario>/{performance/run_1,
  accuracy, TEST06, measurements.json, user.conf}, plus systems/<system>.json and code/<benchmark>/.
- v5.1: the same results/ without TEST06 and measurements, plus measurements/<system>/<benchmark>/
  <Scenario>/{user.conf, README.md, <system>.json} and compliance/<system>/<benchmark>/<Scenario>/TEST06/.
Accuracy logs are truncated with the hash appended to accuracy.txt (truncate_accuracy_log.py).
Fields the tool cannot know are "TODO".
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import UsageError
from ..mlperf import compliance, logs
from ..results import store, system_desc
from ..results.atomic import write_bytes_atomic, write_json_atomic, write_text_atomic
from . import checker

BENCHMARK = {"datacenter": "llama3.1-8b", "edge": "llama3.1-8b-edge"}
SCENARIO_DIR = {"offline": "Offline", "server": "Server", "interactive": "Interactive", "singlestream": "SingleStream"}
REQUIRED_SCENARIOS = {"datacenter": ({"Offline"}, {"Server", "Interactive"}), "edge": ({"Offline", "SingleStream"}, set())}


@dataclass
class SubmissionReport:
    """What was laid out, and what a checker would object to."""

    root: Path
    entries: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    checker: str = "not run"


def _pick_runs(results_dir: Path, version: str | None) -> dict[tuple[str, str], store.RunEntry]:
    """The newest completed accuracy+performance run per (category, scenario), of one round only."""
    chosen: dict[tuple[str, str], store.RunEntry] = {}
    for entry in store.history(results_dir):
        s = entry.summary
        if s is None or s.kind != "benchmark" or s.status != "completed" or s.mode != "both":
            continue
        key = (s.category or "", s.scenario or "")
        if key in chosen or key[0] not in BENCHMARK:
            continue
        if version is not None and s.data["config"].get("version") != version:
            continue
        chosen[key] = entry
    return chosen


def _measurements(s: dict[str, Any]) -> dict[str, Any]:
    e = s.get("config", {}).get("engine", {})
    return {"input_data_types": "int32 (token ids)", "retraining": "No", "starting_weights_filename": "TODO",
            "weight_data_types": e.get("quantization") or e.get("dtype"), "weight_transformations": "TODO",
            "harness": f"mlperf_vllm {__version__}", "engine": f"vLLM {s.get('system', {}).get('software', {}).get('vllm')}"}


def _copy_logs(src: Path, dst: Path, names: tuple[str, ...]) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for name in names:
        if (src / name).is_file():
            shutil.copyfile(src / name, dst / name)


def _lay_out_scenario(entry: store.RunEntry, base: Path, extra: dict[str, Path], report: SubmissionReport) -> None:
    run, s = entry.path, entry.summary.data if entry.summary else {}
    _copy_logs(run / "Performance", base / "performance" / "run_1", (logs.SUMMARY_FILE, logs.DETAIL_FILE))
    _copy_logs(run / "Accuracy", base / "accuracy", (logs.SUMMARY_FILE, logs.DETAIL_FILE))
    cut, text, _ = compliance.truncate_accuracy_log(run / "Accuracy" / logs.ACCURACY_FILE, run / "Accuracy" / "accuracy.txt")
    write_bytes_atomic(base / "accuracy" / logs.ACCURACY_FILE, cut)
    write_text_atomic(base / "accuracy" / "accuracy.txt", text)
    conf_dir = extra["conf"]
    conf_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(run / "user.conf", conf_dir / "user.conf")
    if "measurements_json" in extra:
        write_json_atomic(extra["measurements_json"], _measurements(s))
    for key in ("readme", "results_readme"):
        if key in extra:
            write_text_atomic(extra[key], _scenario_readme(run.name, s))
    t06 = run / "TEST06"
    if (t06 / "verify_accuracy.txt").is_file():
        dst = extra["test06"]
        _copy_logs(t06, dst, ("verify_accuracy.txt",))
        _copy_logs(t06, dst / "performance" / "run_1", (logs.SUMMARY_FILE, logs.DETAIL_FILE))
        data = (t06 / logs.ACCURACY_FILE).read_bytes()
        cut = data if len(data) <= compliance.MAX_ACCURACY_LOG_SIZE else (
            data[:compliance.VIEWABLE_SIZE] + b"\n\n...\n\n" + data[-compliance.VIEWABLE_SIZE:])
        (dst / "accuracy").mkdir(parents=True, exist_ok=True)
        (dst / "accuracy" / logs.ACCURACY_FILE).write_bytes(cut)
    elif (s.get("config", {}).get("category")) == "datacenter":
        report.warnings.append(f"{run.name}: no TEST06 (run it with --compliance-test06); the checker requires it")


def _round(results_dir: Path, version: str | None) -> str:
    """The round to pack: the one asked for, or the one every candidate run was made for."""
    if version is not None:
        return version
    rounds = {e.summary.data["config"].get("version") for e in _pick_runs(results_dir, None).values() if e.summary}
    if len(rounds) > 1:
        raise UsageError(f"the runs in {results_dir} were made for several rounds ({', '.join(sorted(map(str, rounds)))});"
                         " pick one with --version.")
    return str(rounds.pop()) if rounds else "v6.1"


def build(results_dir: Path, out: Path, system: str, submitter: str, version: str | None,
          division: str = "closed", run_official_checker: bool = True) -> SubmissionReport:
    """Write the submission tree under out and return what was done."""
    if not system or "/" in system or system.startswith("."):
        raise UsageError("--system-name must be a plain name, e.g. 1xH200_vLLM")
    version = _round(results_dir, version)
    runs = _pick_runs(results_dir, version)
    if not runs:
        raise UsageError(f"no completed --mode both run of round {version} in {results_dir} to submit; "
                         f"run run.py --mode both --version {version} first.")
    if out.exists() and any(out.iterdir()):
        raise UsageError(f"--submission-dir {out} is not empty; choose a new directory.")
    root = out / division / submitter
    report = SubmissionReport(out)
    v6 = version != "v5.1"
    env = None
    for (category, scenario), entry in sorted(runs.items()):
        bench, scen = BENCHMARK[category], SCENARIO_DIR[scenario]
        base = root / "results" / system / bench / scen
        if v6:
            extra = {"conf": base, "measurements_json": base / "measurements.json", "test06": base / "TEST06",
                     "results_readme": base / "README.md"}
        else:
            m = root / "measurements" / system / bench / scen
            extra = {"conf": m, "measurements_json": m / f"{system}.json", "readme": m / "README.md",
                     "test06": root / "compliance" / system / bench / scen / "TEST06"}
        _lay_out_scenario(entry, base, extra, report)
        data = entry.summary.data if entry.summary else {}
        blockers = data.get("validity", {}).get("not_submittable_because", [])
        blockers = [b for b in blockers if "TEST06" not in b]
        report.entries.append({"benchmark": bench, "scenario": scen, "run": entry.path.name, "blockers": blockers})
        report.warnings += [f"{bench}/{scen} ({entry.path.name}): {b}" for b in blockers]
        env = env or data.get("system")
    for category, (need_all, need_one) in REQUIRED_SCENARIOS.items():
        have = {SCENARIO_DIR[sc] for (cat, sc) in runs if cat == category}
        if have and (not need_all <= have or (need_one and not need_one & have)):
            report.warnings.append(f"{BENCHMARK[category]}: needs {sorted(need_all)}"
                                   + (f" and one of {sorted(need_one)}" if need_one else "") + f", has {sorted(have)}")
    description = system_desc.describe(env or {}, system, submitter, division, {cat for cat, _ in runs},
                                       f"mlperf_vllm {__version__}")
    write_json_atomic(root / "systems" / f"{system}.json", description)
    todo = system_desc.todo_fields(description)
    if todo:
        report.warnings.append(f"systems/{system}.json: fill in {len(todo)} fields a run cannot observe "
                               f"({', '.join(todo)}); status is set to 'available'")
    code = root / ("code" if not v6 else "src") / next(iter(sorted({e["benchmark"] for e in report.entries})))
    write_text_atomic(code / "README.md", f"# Harness\n\nmlperf_vllm {__version__}: run.py drives vLLM through "
                      "the official MLCommons LoadGen. Add the source of this repository here.\n")
    if run_official_checker:
        report.checker = _checker_verdict(out, submitter, version)
    return report


def _scenario_readme(run_name: str, s: dict[str, Any]) -> str:
    command = " ".join(s.get("meta", {}).get("command", []))
    return (f"# {run_name}\n\nProduced by mlperf_vllm {__version__} with\n\n    {command}\n\n"
            "Reproduce it with the same command, the user.conf beside this file and the software in "
            "systems/*.json.\n")


def _checker_verdict(out: Path, submitter: str, version: str) -> str:
    """The official checker's verdict in one line (its full output is in its own log)."""
    result = checker.run_checker(out, submitter, version)
    if result is None:
        return "not run: no checker found (set MLPERF_INFERENCE_DIR to a mlcommons/inference checkout)"
    if result.passed:
        return f"passed ({result.script})"
    head = "; ".join(result.errors[:3]) or " | ".join(result.tail)
    return f"failed (exit {result.returncode}, {len(result.errors)} errors): {head}"


def summary_lines(report: SubmissionReport) -> list[str]:
    """What to print after building."""
    lines = [f"Submission tree: {report.root}"]
    lines += [f"  {e['benchmark']}/{e['scenario']} <- {e['run']}" for e in report.entries]
    lines += [f"  warning: {w}" for w in report.warnings]
    lines.append(f"  submission checker: {report.checker}")
    return lines
