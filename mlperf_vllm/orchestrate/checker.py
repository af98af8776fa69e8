"""The official MLCommons submission checker on a submission tree: the vendored copy, or a checkout.

Both layouts of mlcommons/inference work: `tools/submission/submission_checker/main.py` (the package,
current) and `tools/submission/submission_checker.py` (one file, until 2025). MLPERF_INFERENCE_DIR
points at a checkout to use instead of the copy in third_party/ (pinned; see third_party/README.md).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

VENDORED = Path(__file__).resolve().parents[2] / "third_party" / "mlcommons-submission-checker" / "submission_checker"
TIMEOUT_S = 900
_ERROR = re.compile(r"^\[[^\]]*\bERROR\]\s*(.*)$")  # its log format: [time file:line ERROR] message


@dataclass(frozen=True)
class CheckerResult:
    """The checker's exit status, its ERROR lines, and where its full output was saved."""

    script: Path
    returncode: int
    errors: list[str] = field(default_factory=list)
    tail: list[str] = field(default_factory=list)
    log: Path | None = None

    @property
    def passed(self) -> bool:
        return self.returncode == 0 and not self.errors


def find_checker(inference_dir: Path | None = None) -> Path | None:
    """The checker's entry script: in a mlcommons/inference checkout (either layout), else the vendored one."""
    root = inference_dir or (Path(os.environ["MLPERF_INFERENCE_DIR"]) if os.environ.get("MLPERF_INFERENCE_DIR")
                             else None)
    if root is not None:
        for rel in ("tools/submission/submission_checker/main.py", "tools/submission/submission_checker.py"):
            if (root / rel).is_file():
                return root / rel
        return None
    main = VENDORED / "main.py"
    return main if main.is_file() else None


def log_path(tree: Path) -> Path:
    """Where the checker's full output is kept: beside the tree (the tree holds only submission files)."""
    return tree.parent / f"{tree.name}-checker.log"


def run_checker(tree: Path, submitter: str, version: str, script: Path | None = None) -> CheckerResult | None:
    """Run the checker on `tree` (the folder holding closed/...); None when no checker is found. A checker
    that cannot start or runs past TIMEOUT_S is a failed check (returncode -1), not an exception."""
    script = script or find_checker()
    if script is None:
        return None
    command = [sys.executable, str(script), "--input", str(tree), "--submitter", submitter,
               "--version", version, "--csv", str(tree.parent / f"{tree.name}-checker-summary.csv")]
    try:
        r = subprocess.run(command, capture_output=True, text=True, errors="replace", timeout=TIMEOUT_S,
                           cwd=str(tree.parent))
        output, returncode = r.stdout + r.stderr, r.returncode
    except subprocess.TimeoutExpired as exc:
        partial = exc.stdout or b""
        output = (partial.decode(errors="replace") if isinstance(partial, bytes) else partial)
        output += f"\n[checker ERROR] the checker did not finish within {TIMEOUT_S} s\n"
        returncode = -1
    except OSError as exc:
        output, returncode = f"[checker ERROR] the checker could not start: {exc}\n", -1
    lines = output.splitlines()
    errors = [m.group(1).strip() for line in lines if (m := _ERROR.match(line))]
    log = log_path(tree)
    try:
        log.write_text(output, encoding="utf-8")
    except OSError:
        log = None
    return CheckerResult(script, returncode, errors, lines[-5:], log)
