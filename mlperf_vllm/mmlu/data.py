"""MMLU questions from a local copy (Hugging Face cais/mmlu parquet layout, or the original CSV
layout), from the Hub, or generated (the demo); and the stratified, seeded --total-limit.

CSV files are read as spreadsheets save them too: a UTF-8 byte-order mark, CRLF line ends, blank
lines and one header row (question,A,B,C,D,answer) are accepted. A subject whose test file holds no
question is refused, never dropped: a silently smaller benchmark is not the one asked for."""

from __future__ import annotations

import csv
import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from ..errors import DataError
from .subjects import LETTERS, SUBJECT_DOMAIN, SUBJECTS, subject_title


@dataclass(frozen=True)
class Question:
    """One MMLU item."""

    subject: str
    qid: str  # '<subject>/<split>/<row>'
    question: str
    choices: tuple[str, str, str, str]
    answer: int  # 0..3

    @property
    def domain(self) -> str:
        return SUBJECT_DOMAIN[self.subject]


@dataclass(frozen=True)
class MMLUData:
    """Test questions and dev (few-shot) questions per subject."""

    test: dict[str, list[Question]]
    dev: dict[str, list[Question]]
    source: str


def _answer(value: object) -> int | None:
    """The answer as 0..3 from a letter A-D or a number 0-3; None when it is neither."""
    text = str(value).strip().upper()
    if text in LETTERS:
        return LETTERS.index(text)
    return int(text) if text in ("0", "1", "2", "3") else None


def _from_rows(subject: str, split: str, rows: Iterable[Sequence], where: str,
               first_row: int = 1) -> list[Question]:
    out = []
    for i, (question, choices, answer) in enumerate(rows):
        try:
            choices = [str(c) for c in choices]
        except TypeError:  # a parquet cell that is not a list
            choices = []
        index = _answer(answer)
        if index is None or len(choices) != 4:
            problem = (f"answer {str(answer)!r} is not one of A-D or 0-3" if index is None
                       else f"{len(choices)} choices instead of 4")
            raise DataError(f"{where}, row {i + first_row}: {problem}; fix or remove the row.")
        out.append(Question(subject, f"{subject}/{split}/{i}", str(question), tuple(choices), index))
    return out


_HEADER_ANSWERS = {"answer", "answers", "target", "label", "correct", "correct_answer", "solution"}
_HEADER_QUESTIONS = {"question", "questions", "prompt", "input"}


def _is_header(row: Sequence[str]) -> bool:
    """A first row that names the columns (question,A,B,C,D,answer) rather than holding a question."""
    return (len(row) == 6 and _answer(row[5]) is None
            and (row[5].strip().lower() in _HEADER_ANSWERS or row[0].strip().lower() in _HEADER_QUESTIONS))


def _read_csv(path: Path, subject: str, split: str) -> list[Question]:
    try:
        # utf-8-sig: a byte-order mark (Excel's "CSV UTF-8") is not part of the first question
        with path.open(newline="", encoding="utf-8-sig") as fh:
            raw = [r for r in csv.reader(fh) if any(c.strip() for c in r)]  # blank lines are not rows
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{path} is not a readable UTF-8 CSV file ({exc}).") from None
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}.") from None
    first = 2 if raw and _is_header(raw[0]) else 1
    rows = raw[first - 1:]
    for n, r in enumerate(rows, start=first):
        if len(r) != 6:
            hint = (" (its fields are separated by ';' or tabs: MMLU CSV files use commas)"
                    if len(r) == 1 and (";" in r[0] or "\t" in r[0]) else "")
            raise DataError(f"{path}, row {n}: {len(r)} columns instead of 6 (question, 4 choices, answer){hint}; "
                            "fix or remove the row.")
    return _from_rows(subject, split, [(r[0], r[1:5], r[5]) for r in rows], str(path), first)


def _read_parquet(paths: list[Path], subject: str, split: str) -> list[Question]:
    import pandas as pd

    frames = []
    for p in sorted(paths):
        try:
            frames.append(pd.read_parquet(p))
        except Exception as exc:  # pyarrow raises many types for a damaged or foreign file
            raise DataError(f"{p} is not a readable parquet file ({type(exc).__name__}); download it again or use "
                            "the CSV layout.") from None
    frame = pd.concat(frames, ignore_index=True)
    missing = {"question", "choices", "answer"} - set(frame.columns)
    if missing:
        raise DataError(f"{paths[0]}: no column(s) {', '.join(sorted(missing))}; expected the cais/mmlu layout.")
    return _from_rows(subject, split, zip(frame["question"], frame["choices"], frame["answer"]),
                      ", ".join(str(p) for p in sorted(paths)))


def _no_questions(where: str, subject: str) -> DataError:
    return DataError(f"{where} holds no questions, so '{subject}' would be left out of the benchmark; restore the "
                     "file, or leave the subject out with --subjects.")


def load_local(root: Path, subjects: Sequence[str]) -> MMLUData:
    """Read a local copy: <root>/<subject>/{test,dev}-*.parquet (cais/mmlu) or [data/]{test,dev}/<subject>_<split>.csv."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"--data-path {root} is not a directory; pass a local copy of cais/mmlu or the original MMLU data.")
    csv_root = root / "data" if (root / "data" / "test").is_dir() else root
    test: dict[str, list[Question]] = {}
    dev: dict[str, list[Question]] = {}
    for s in subjects:
        pq_test, pq_dev = sorted((root / s).glob("test-*.parquet")), sorted((root / s).glob("dev-*.parquet"))
        csv_test, csv_dev = csv_root / "test" / f"{s}_test.csv", csv_root / "dev" / f"{s}_dev.csv"
        if pq_test:
            test[s], dev[s] = _read_parquet(pq_test, s, "test"), _read_parquet(pq_dev, s, "dev") if pq_dev else []
            where = ", ".join(str(p) for p in pq_test)
        elif csv_test.is_file():
            test[s], dev[s] = _read_csv(csv_test, s, "test"), _read_csv(csv_dev, s, "dev") if csv_dev.is_file() else []
            where = str(csv_test)
        else:
            raise DataError(f"--data-path {root} has no test questions for '{s}' (looked for {s}/test-*.parquet and "
                            f"test/{s}_test.csv); pass the cais/mmlu or original MMLU layout.")
        if not test[s]:
            raise _no_questions(where, s)
    return MMLUData(test, dev, str(root))


def load_hub(subjects: Sequence[str]) -> MMLUData:
    """cais/mmlu from the Hugging Face Hub (needs the network)."""
    try:
        import datasets
        test: dict[str, list[Question]] = {}
        dev: dict[str, list[Question]] = {}
        for s in subjects:
            ds = datasets.load_dataset("cais/mmlu", s)
            test[s] = _from_rows(s, "test", zip(ds["test"]["question"], ds["test"]["choices"], ds["test"]["answer"]),
                                 f"cais/mmlu {s} test")
            dev[s] = _from_rows(s, "dev", zip(ds["dev"]["question"], ds["dev"]["choices"], ds["dev"]["answer"]),
                                f"cais/mmlu {s} dev")
            if not test[s]:
                raise _no_questions(f"cais/mmlu {s} test", s)
    except DataError:
        raise
    except Exception as exc:  # datasets raises many types for offline/not found
        raise DataError(f"could not load cais/mmlu from the Hugging Face Hub ({type(exc).__name__}); "
                        "pass --data-path with a local copy.") from None
    return MMLUData(test, dev, "hf:cais/mmlu")


def demo_questions(per_subject: int = 6, dev_per_subject: int = 5, seed: int = 11) -> MMLUData:
    """MMLU-shaped generated questions for every subject (no real MMLU content)."""
    rng = random.Random(seed)
    words = ["energy", "market", "court", "cell", "theorem", "empire", "vote", "signal", "enzyme", "treaty",
             "budget", "planet", "virus", "poem", "circuit", "contract", "species", "tax", "river", "proof"]

    def make(subject: str, split: str, n: int) -> list[Question]:
        out = []
        for i in range(n):
            picks = rng.sample(words, 5)
            q = f"In {subject_title(subject)}, which term best completes: the {picks[0]} of the {picks[1]}?"
            out.append(Question(subject, f"{subject}/{split}/{i}", q, tuple(picks[1:5]), rng.randrange(4)))
        return out

    return MMLUData({s: make(s, "test", per_subject) for s in SUBJECTS},
                    {s: make(s, "dev", dev_per_subject) for s in SUBJECTS}, "demo (generated)")


def write_csv_layout(data: MMLUData, root: Path) -> Path:
    """Write data in the original MMLU CSV layout (data/{dev,test}/<subject>_<split>.csv)."""
    for split, groups in (("test", data.test), ("dev", data.dev)):
        d = root / "data" / split
        d.mkdir(parents=True, exist_ok=True)
        for s, qs in groups.items():
            with (d / f"{s}_{split}.csv").open("w", newline="", encoding="utf-8") as fh:
                w = csv.writer(fh)
                for q in qs:
                    w.writerow([q.question, *q.choices, LETTERS[q.answer]])
    return root


def stratified_limit(questions: dict[str, list[Question]], limit: int | None, seed: int = 1234) -> list[Question]:
    """All questions, or `limit` of them spread over subjects in proportion to their size (seeded)."""
    flat = [q for s in sorted(questions) for q in questions[s]]
    if limit is None or limit >= len(flat):
        return flat
    total = len(flat)
    quotas = {s: limit * len(qs) / total for s, qs in questions.items()}
    alloc = {s: int(v) for s, v in quotas.items()}
    for s in sorted(quotas, key=lambda s: (-(quotas[s] - alloc[s]), s))[: limit - sum(alloc.values())]:
        alloc[s] += 1
    rng = random.Random(seed)
    picked = []
    for s in sorted(questions):
        picked += sorted(rng.sample(questions[s], alloc[s]), key=lambda q: q.qid)
    return picked


def by_subject(questions: Iterable[Question]) -> dict[str, list[Question]]:
    """Group questions by subject."""
    out: dict[str, list[Question]] = defaultdict(list)
    for q in questions:
        out[q.subject].append(q)
    return dict(out)
