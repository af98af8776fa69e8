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
    """The checker's exit status and its ERROR lines."""

    script: Path
    returncode: int
    errors: list[str] = field(default_factory=list)
    tail: list[str] = field(default_factory=list)

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


def run_checker(tree: Path, submitter: str, version: str, script: Path | None = None) -> CheckerResult | None:
    """Run the checker on `tree` (the folder holding closed/...); None when no checker is found."""
    script = script or find_checker()
    if script is None:
        return None
    r = subprocess.run([sys.executable, str(script), "--input", str(tree), "--submitter", submitter,
                        "--version", version, "--csv", str(tree.parent / f"{tree.name}-checker-summary.csv")],
                       capture_output=True, text=True, timeout=TIMEOUT_S, cwd=str(tree.parent))
    lines = (r.stdout + r.stderr).splitlines()
    errors = [m.group(1).strip() for line in lines if (m := _ERROR.match(line))]
    return CheckerResult(script, r.returncode, errors, lines[-5:])
