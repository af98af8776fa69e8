"""MLPerf compliance helpers: TEST06 (LLM output consistency) and accuracy-log truncation.

TEST06 (compliance/TEST06): a performance run with the audit.config below logs 100 sampled outputs;
run_verification.py then checks (1) outside Offline, the first-token payload equals the start of
the output, (2) at most one trailing EOS (an output of exactly two EOS is allowed), (3) token_count
equals the length of the data. The official script compares with one EOS id (default 2, Llama-2's;
given on the command line it is a string and the comparison silently never matches); this version
checks every Llama-3.1 EOS id as integers. Truncation follows tools/submission/truncate_accuracy_log.py:
the accuracy.txt gets `hash=<sha256 of the full log>`, the log keeps its first and last 4 KiB.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .. import rules

TEST06_AUDIT_CONFIG = """\
# TEST06 (compliance/TEST06/audit.config): performance mode, 100 sampled outputs logged.
*.*.mode = 2
*.*.accuracy_log_rng_seed = 720381539243781796
*.*.accuracy_log_sampling_target = 100
*.*.min_query_count = 100
*.*.min_duration = 0
*.*.sample_concatenate_permutation = 0
"""
MAX_ACCURACY_LOG_SIZE = 10 * 1024  # submission checker constants.py
VIEWABLE_SIZE = 4096


@dataclass
class Test06Result:
    """The three TEST06 checks; None means skipped (first token in Offline)."""

    first_token: bool | None
    eos: bool
    sample_length: bool
    samples: int
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.eos and self.sample_length and self.first_token is not False

    def verify_accuracy_txt(self) -> str:
        """verify_accuracy.txt in run_verification.py's wording (what the checker reads)."""
        ft = "Skipped" if self.first_token is None else str(self.first_token)
        out = (f"First token check pass: {ft}\nEOS check pass: {self.eos}\n"
               f"Sample length check pass: {self.sample_length}\n")
        return out + ("TEST06 verification complete\n" if self.passed else "TEST06 verification failed\n")


def _ids(hex_data: str, dtype: Any) -> np.ndarray:
    return np.frombuffer(bytes.fromhex(hex_data), dtype=dtype)


def _trailing_eos_ok(data: np.ndarray, eos_ids: Sequence[int]) -> bool:
    n = 0
    for tok in data[::-1]:
        if int(tok) not in eos_ids:
            break
        n += 1
    return n <= 1 or (n == 2 and len(data) == 2)


def verify_test06(entries: Sequence[dict[str, Any]], scenario: str,
                  eos_ids: Sequence[int] = rules.LLAMA31_EOS_IDS, dtype: str = "int32") -> Test06Result:
    """Run the three TEST06 checks over a TEST06 accuracy log; problems name the first bad entries."""
    np_dtype = np.dtype(dtype)
    check_first = scenario != "Offline"
    result = Test06Result(True if check_first else None, True, True, len(entries))
    for i, e in enumerate(entries):
        data = _ids(e["data"], np_dtype)
        if check_first:
            first = _ids(e.get("token_data", ""), np_dtype)
            if len(first) == 0 or not np.array_equal(data[:len(first)], first):
                result.first_token = False
                result.problems.append(f"entry {i} (qsl_idx {e.get('qsl_idx')}): first token {first.tolist()} "
                                       f"is not the start of the output {data[:4].tolist()}...")
        if not _trailing_eos_ok(data, eos_ids):
            result.eos = False
            result.problems.append(f"entry {i} (qsl_idx {e.get('qsl_idx')}): more than one trailing EOS")
        if int(e.get("token_count", -1)) != len(data):
            result.sample_length = False
            result.problems.append(f"entry {i} (qsl_idx {e.get('qsl_idx')}): token_count {e.get('token_count')} "
                                   f"!= {len(data)} tokens of data")
    return result


def file_sha256(path: Path) -> str:
    """sha256 of a file, read in blocks."""
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def truncate_accuracy_log(log_path: Path, accuracy_txt: Path) -> tuple[bytes, str, str]:
    """The submission copies: the log cut to its first/last 4 KiB, accuracy.txt + `hash=` line, and the hash."""
    digest = file_sha256(log_path)
    text = accuracy_txt.read_text()
    data = log_path.read_bytes()
    if len(data) > MAX_ACCURACY_LOG_SIZE:
        data = data[:VIEWABLE_SIZE] + b"\n\n...\n\n" + data[-VIEWABLE_SIZE:]
    return data, text + ("" if text.endswith("\n") else "\n") + f"hash={digest}\n", digest
