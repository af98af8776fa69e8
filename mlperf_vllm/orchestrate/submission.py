"""Lay out an MLPerf submission tree from the runs in the results history.

Layouts (tools/submission/submission_structure.md and the checker's constants.py):
- v6.0 and later: closed/<submitter>/results/<system>/<benchmark>/<Scenario>/{performance/run_1,
  accuracy, TEST06, measurements.json, user.conf}, plus systems/<system>.json and code/<benchmark>/.
- v5.1: the same results/ without TEST06 and measurements, plus measurements/<system>/<benchmark>/
  <Scenario>/{user.conf, README.md, <system>.json} and compliance/<system>/<benchmark>/<Scenario>/TEST06/.
Accuracy logs are truncated with the hash appended to accuracy.txt (truncate_accuracy_log.py).
Fields the tool cannot know are "TODO".

Only runs that are a result are packed: completed, --mode both, no setting that breaks MLPerf's rules
(rule_checks), performance VALID (in summary.json and in LoadGen's own summary), accuracy PASS, every log
in place. Others are skipped with the reason. The
tree is built in a hidden folder beside the target and renamed into place at the end, so a failure
(a missing file, a full disk, Ctrl-C) never leaves half a tree.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__, rule_checks
from ..errors import EXIT_NOT_VALID, BenchError, DataError, SetupError, UsageError
from ..mlperf import compliance, logs
from ..results import locks, store, system_desc
from ..results.atomic import (
    dir_mode,
    disk_error,
    is_disk_error,
    write_bytes_atomic,
    write_json_atomic,
    write_text_atomic,
)
from . import checker

BENCHMARK = {"datacenter": "llama3.1-8b", "edge": "llama3.1-8b-edge"}
SCENARIO_DIR = {"offline": "Offline", "server": "Server", "interactive": "Interactive", "singlestream": "SingleStream"}
REQUIRED_SCENARIOS = {"datacenter": ({"Offline"}, {"Server", "Interactive"}), "edge": ({"Offline", "SingleStream"}, set())}


# What a packed run must hold: LoadGen's logs of both tests, the accuracy scores, the user.conf LoadGen read.
REQUIRED_FILES = (f"Performance/{logs.SUMMARY_FILE}", f"Performance/{logs.DETAIL_FILE}",
                  f"Accuracy/{logs.SUMMARY_FILE}", f"Accuracy/{logs.DETAIL_FILE}", f"Accuracy/{logs.ACCURACY_FILE}",
                  "Accuracy/accuracy.txt", "user.conf")
NAME_MAX_BYTES = 200  # --system-name and --submitter are folder names, and systems/<name>.json a file name
TEST06_FILES = ("verify_accuracy.txt", logs.SUMMARY_FILE, logs.DETAIL_FILE, logs.ACCURACY_FILE)


class NothingValid(BenchError):
    """Runs exist, but none of them is a result that may be submitted (INVALID or accuracy FAIL)."""

    exit_code = EXIT_NOT_VALID


@dataclass
class SubmissionReport:
    """What was laid out, what was skipped and why, and what the official checker said."""

    root: Path
    entries: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)  # benchmark, scenario, run, reason
    warnings: list[str] = field(default_factory=list)
    checker: str = "not run"
    checker_failed: bool = False
    checker_errors: int = 0
    checker_log: Path | None = None
    version: str = ""  # the round packed


def _missing_files(run: Path) -> str | None:
    """Why the run folder cannot be packed as it is (a log deleted or empty), or None."""
    missing = [rel for rel in REQUIRED_FILES if not (run / rel).is_file()]
    if missing:
        more = f" and {len(missing) - 1} more files are" if len(missing) > 1 else " is"
        return f"{missing[0]}{more} missing"
    empty = [rel for rel in REQUIRED_FILES if (run / rel).stat().st_size == 0]
    if empty:
        return f"{empty[0]} is empty (cut short, e.g. by a full disk)"
    return None


def _loadgen_result(summary_txt: Path) -> str | None:
    """`Result is` of LoadGen's own summary: the verdict the checker reads."""
    try:
        return logs.parse_summary(summary_txt.read_text(errors="replace")).get("Result is")
    except OSError:
        return None


def _unusable(entry: store.RunEntry, allow_invalid: bool) -> str | None:
    """Why this run is not packed, or None when it is a result that may be."""
    s = entry.summary
    assert s is not None
    if s.status != "completed":
        return f"its status is {s.shown_status}"
    if s.mode != "both":
        return f"--mode {s.mode} (a submission needs --mode both)"
    broken = [] if allow_invalid else _rule_breaks(s.data)
    if broken:
        more = f" (and {len(broken) - 1} more)" if len(broken) > 1 else ""
        return f"breaks MLPerf's rules: {broken[0]}{more}"
    problem = _missing_files(entry.path)
    if problem:
        return problem
    if allow_invalid:
        return None
    if s.performance_verdict != "VALID":
        reasons = (s.data.get("validity") or {}).get("reasons") or []
        why = f": {reasons[0]}" if reasons and isinstance(reasons[0], str) else ""
        return f"performance {s.performance_verdict or 'not measured'}{why}"
    loadgen = _loadgen_result(entry.path / "Performance" / logs.SUMMARY_FILE)
    if loadgen != "VALID":
        return f"LoadGen's Performance/{logs.SUMMARY_FILE} says {loadgen or 'no result'}"
    if s.accuracy_verdict != "PASS":
        return f"accuracy {s.accuracy_verdict or 'not scored'} (the ROUGE/gen_len targets were not met)"
    return None


def _rule_breaks(data: dict[str, Any]) -> list[str]:
    """The rules a run breaks: as its summary recorded them, and as its configuration shows them now (so a
    run recorded before a rule was checked, or a summary edited by hand, is judged the same)."""
    validity = data.get("validity") if isinstance(data.get("validity"), dict) else {}
    listed = validity.get("rule_breaks")
    recorded = [b for b in listed if isinstance(b, str)] if isinstance(listed, list) else []
    config = data.get("config") if isinstance(data.get("config"), dict) else {}
    return recorded + [b for b in rule_checks.rule_breaks(config) if b not in recorded]


def _candidates(results_dir: Path, version: str | None, allow_invalid: bool, only: frozenset[str] | None = None
                ) -> list[tuple[tuple[str, str], store.RunEntry, str | None]]:
    """Every benchmark run of the round (newest first; of `only`'s run folders, if given) with its (category,
    scenario) and why it is not usable."""
    out = []
    for entry in store.history(results_dir):
        s = entry.summary
        if only is not None and entry.path.name not in only:
            continue
        if s is None or s.kind != "benchmark" or s.category not in BENCHMARK or s.scenario not in SCENARIO_DIR:
            continue
        if version is not None and (s.data.get("config") or {}).get("version") != version:
            continue
        out.append(((s.category or "", s.scenario or ""), entry, _unusable(entry, allow_invalid)))
    return out


def _pick_runs(results_dir: Path, version: str | None, allow_invalid: bool = False, only: frozenset[str] | None = None
               ) -> tuple[dict[tuple[str, str], store.RunEntry], dict[tuple[str, str], list[tuple[str, str]]]]:
    """The newest usable run per (category, scenario) of one round, and the newer ones skipped (name, why)."""
    chosen: dict[tuple[str, str], store.RunEntry] = {}
    skipped: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for key, entry, reason in _candidates(results_dir, version, allow_invalid, only):
        if key in chosen:
            continue
        if reason is None:
            chosen[key] = entry
        else:
            skipped.setdefault(key, []).append((entry.path.name, reason))
    return chosen, skipped


def _measurements(s: dict[str, Any]) -> dict[str, Any]:
    e = s.get("config", {}).get("engine", {})
    return {"input_data_types": "int32 (token ids)", "retraining": "No", "starting_weights_filename": "TODO",
            "weight_data_types": e.get("quantization") or e.get("dtype"), "weight_transformations": "TODO",
            "harness": f"mlperf_vllm {__version__}", "engine": f"vLLM {s.get('system', {}).get('software', {}).get('vllm')}"}


def _copy_logs(src: Path, dst: Path, names: tuple[str, ...]) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for name in names:  # every one of them was checked to exist (REQUIRED_FILES, TEST06_FILES)
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
    t06_missing = [n for n in TEST06_FILES if not (t06 / n).is_file()]
    if (t06 / "verify_accuracy.txt").is_file() and t06_missing:
        report.warnings.append(f"{run.name}: TEST06/{t06_missing[0]} is missing, so TEST06 is not packed; "
                               "run it again with --compliance-test06")
    elif (t06 / "verify_accuracy.txt").is_file():
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


def _round(results_dir: Path, version: str | None, allow_invalid: bool = False, only: frozenset[str] | None = None
           ) -> str:
    """The round to pack: the one asked for, or the one every usable run (else every run) was made for."""
    if version is not None:
        return version
    candidates = _candidates(results_dir, None, allow_invalid, only)
    rounds = {(e.summary.data.get("config") or {}).get("version") for _, e, why in candidates
              if why is None and e.summary}
    if not rounds:  # nothing usable: name the round of the runs there are, so the refusal says why they fail
        rounds = {(e.summary.data.get("config") or {}).get("version") for _, e, _ in candidates if e.summary}
    if len(rounds) > 1:
        raise UsageError(f"the runs in {results_dir} were made for several rounds ({', '.join(sorted(map(str, rounds)))});"
                         " pick one with --version.")
    return str(rounds.pop()) if rounds else "v6.1"


def _nothing_usable(results_dir: Path, version: str, skipped: dict[tuple[str, str], list[tuple[str, str]]]
                    ) -> BenchError:
    """The error when runs exist but none can be packed: every one named with its reason."""
    flat = [f"{name}: {why}" for key in sorted(skipped) for name, why in skipped[key]]
    more = f" (and {len(flat) - 3} more)" if len(flat) > 3 else ""
    text = (f"no completed --mode both run of round {version} in {results_dir} can be submitted: "
            + "; ".join(flat[:3]) + more + f". Run run.py --mode both --version {version} again (or fix the runs).")
    invalid = any(why.startswith(("performance ", "LoadGen's ", "accuracy ", "breaks MLPerf's rules")) for v in skipped.values() for _, why in v)
    return NothingValid(text) if invalid else DataError(text)


def _check_target(out: Path) -> None:
    if out.is_symlink() and not out.exists():
        raise UsageError(f"--submission-dir {out} is a symbolic link to a folder that does not exist; pass another.")
    if out.exists() and not out.is_dir():
        raise UsageError(f"--submission-dir {out} is a file, not a folder; pass a new folder.")
    if out.exists() and any(out.iterdir()):
        raise UsageError(f"--submission-dir {out} is not empty; choose a new directory.")


def build(results_dir: Path, out: Path, system: str, submitter: str, version: str | None,
          division: str = "closed", run_official_checker: bool = True,
          allow_invalid: bool = False, only: frozenset[str] | None = None) -> SubmissionReport:
    """Write the submission tree under out and return what was done. `allow_invalid` (--submission-set
    --pack-failed, and tests of the layout on demo runs) also packs INVALID and accuracy-FAIL runs; `only`
    limits the runs to these folder names (a set packs its own runs, not newer ones beside them)."""
    for flag, name, example in (("--system-name", system, "1xH200_vLLM"), ("--submitter", submitter, "MyOrg")):
        if not name or "/" in name or name.startswith(".") or "\0" in name:  # a folder name inside the tree
            raise UsageError(f"{flag} must be a plain name, e.g. {example}")
        if len(os.fsencode(name)) > NAME_MAX_BYTES:
            raise UsageError(f"{flag} is {len(os.fsencode(name))} bytes long; a name in the submission tree may have "
                             f"at most {NAME_MAX_BYTES} (file names: 255, with '.json' added); use a shorter one.")
    out = Path(out)
    # shared: other packers may read too, but no run of the folder is removed until the tree is whole
    with locks.history_lock(results_dir, shared=True):
        report = _pack(results_dir, out, system, submitter, version, division, allow_invalid, only)
    if run_official_checker:
        _run_checker(report, out, submitter, report.version)
    return report


def _pack(results_dir: Path, out: Path, system: str, submitter: str, version: str | None, division: str,
          allow_invalid: bool, only: frozenset[str] | None) -> SubmissionReport:
    """Pick the runs and lay out the tree (built hidden beside out, then renamed into place)."""
    version = _round(results_dir, version, allow_invalid, only)
    runs, skipped = _pick_runs(results_dir, version, allow_invalid, only)
    if not runs and not skipped:
        raise UsageError(f"no completed --mode both run of round {version} in {results_dir} to submit; "
                         f"run run.py --mode both --version {version} first.")
    if not runs:
        raise _nothing_usable(results_dir, version, skipped)
    _check_target(out)
    report = SubmissionReport(out, version=version)
    for (category, scenario), names in sorted(skipped.items()):
        report.skipped += [{"benchmark": BENCHMARK[category], "scenario": SCENARIO_DIR.get(scenario, scenario),
                            "run": name, "reason": why} for name, why in names]
    staging = _staging_dir(out)
    try:
        _lay_out(runs, staging, system, submitter, version, division, report)
        os.replace(staging, out)  # out is absent or an empty folder: the tree appears whole or not at all
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if is_disk_error(exc):
            raise disk_error(exc, Path(exc.filename or out)) from None
        raise SetupError(f"cannot build the submission tree {out}: {exc}; nothing was left behind.") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return report


def _staging_dir(out: Path) -> Path:
    """A hidden, empty folder beside out (same file system, so the final rename is atomic)."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
        os.chmod(staging, dir_mode())  # mkdtemp makes it 0700; the tree is meant to be shared
    except (FileExistsError, NotADirectoryError):
        raise UsageError(f"--submission-dir {out} is under a file, not a folder; pass a folder path.") from None
    except OSError as exc:
        if is_disk_error(exc):
            raise disk_error(exc, out) from None
        raise SetupError(f"cannot create --submission-dir {out}: {exc.strerror or exc}; pass a folder you can "
                         "write to.") from None
    return staging


def _lay_out(runs: dict[tuple[str, str], store.RunEntry], tree: Path, system: str, submitter: str, version: str,
             division: str, report: SubmissionReport) -> None:
    """Every file of the submission, under tree."""
    root = tree / division / submitter
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
        blockers = (data.get("validity") or {}).get("not_submittable_because") or []
        blockers = [b for b in blockers if isinstance(b, str) and "TEST06" not in b]
        report.entries.append({"benchmark": bench, "scenario": scen, "run": entry.path.name, "blockers": blockers,
                               "performance": entry.summary.performance_verdict if entry.summary else None,
                               "accuracy": entry.summary.accuracy_verdict if entry.summary else None})
        report.warnings += [f"{bench}/{scen} ({entry.path.name}): {b}" for b in blockers]
        system_data = data.get("system")
        env = env or (system_data if isinstance(system_data, dict) else None)
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


def _scenario_readme(run_name: str, s: dict[str, Any]) -> str:
    command = " ".join(s.get("meta", {}).get("command", []))
    return (f"# {run_name}\n\nProduced by mlperf_vllm {__version__} with\n\n    {command}\n\n"
            "Reproduce it with the same command, the user.conf beside this file and the software in "
            "systems/*.json.\n")


def _run_checker(report: SubmissionReport, out: Path, submitter: str, version: str) -> None:
    """The official checker's verdict in one line; its full output goes to a log beside the tree."""
    result = checker.run_checker(out, submitter, version)
    if result is None:
        report.checker = "not run: no checker found (set MLPERF_INFERENCE_DIR to a mlcommons/inference checkout)"
        return
    report.checker_log = result.log
    where = f"; full output: {result.log}" if result.log else ""
    if result.passed:
        report.checker = f"passed ({result.script}){where}"
        return
    report.checker_failed, report.checker_errors = True, max(len(result.errors), 1)
    head = "; ".join(result.errors[:3]) or " | ".join(result.tail)
    report.checker = f"failed (exit {result.returncode}, {len(result.errors)} errors): {head}{where}"


def summary_lines(report: SubmissionReport) -> list[str]:
    """What to print after building: per scenario the run packed and the newer ones skipped, with why."""
    lines = [f"Submission tree: {report.root}"]
    scenarios = sorted({(e["benchmark"], e["scenario"]) for e in report.entries}
                       | {(k["benchmark"], k["scenario"]) for k in report.skipped})
    for bench, scen in scenarios:
        packed = [e for e in report.entries if (e["benchmark"], e["scenario"]) == (bench, scen)]
        if packed:
            e = packed[0]
            verdict = f" (performance {e['performance']}, accuracy {e['accuracy']})" if e.get("performance") else ""
            lines.append(f"  {bench}/{scen} <- {e['run']}{verdict}")
        else:
            lines.append(f"  {bench}/{scen}: nothing packed (no usable run)")
        lines += [f"    skipped {k['run']}: {k['reason']}" for k in report.skipped
                  if (k["benchmark"], k["scenario"]) == (bench, scen)]
    lines += [f"  warning: {w}" for w in report.warnings]
    lines.append(f"  submission checker: {report.checker}")
    return lines
