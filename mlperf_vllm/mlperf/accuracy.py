"""Score a LoadGen accuracy log exactly as language/llama3.1-8b/evaluation.py does, and gate it
exactly as the submission checker does (checks/accuracy_check.py, constants.py).

evaluation.py: dedupe by qsl_idx (first wins), decode hex as int32, batch_decode with
skip_special_tokens, strip, "\\n".join(nltk.sent_tokenize(.)) for predictions and references, ROUGE
F-measure per sample (rouge_score, Porter stemmer), mean x100 rounded to 4 decimals; gen_len =
characters of the post-processed predictions, gen_num = number of predictions.
Checker: value >= ref * 0.99 (Python float product) on the 4-decimal values of accuracy.txt;
GEN_LEN >= ref * 0.9 and not > ref * 1.1.
"""

from __future__ import annotations

import json
import logging
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from .. import rules
from ..config import Category
from ..errors import DataError
from .logs import ACCURACY_FILE

log = logging.getLogger(__name__)

NLTK_DATA_DIR = Path(__file__).resolve().parents[2] / "third_party" / "nltk_data"
PARALLEL_THRESHOLD = 1500  # below this, process start-up costs more than it saves


def use_vendored_nltk_data() -> None:
    """Point NLTK at the vendored punkt_tab data so sent_tokenize never downloads."""
    import nltk

    if str(NLTK_DATA_DIR) not in nltk.data.path:
        nltk.data.path.insert(0, str(NLTK_DATA_DIR))


def sentence_split(text: str) -> str:
    """evaluation.py's postprocess_text for one string: strip, then one sentence per line."""
    import nltk

    use_vendored_nltk_data()
    return "\n".join(nltk.sent_tokenize(text.strip()))


# ---------------------------------------------------------------------------------------------
# Reading the accuracy log


def check_accuracy_log_path(path: Path) -> None:
    """--accuracy-log names a file that exists: DataError (exit 2) naming what it is instead."""
    path = Path(path)
    if path.is_dir():
        inside = [p for p in (path / ACCURACY_FILE, path / "Accuracy" / ACCURACY_FILE) if p.is_file()]
        hint = f"pass {inside[0]}" if inside else f"pass the file ({ACCURACY_FILE} of an accuracy run), not a folder"
        raise DataError(f"accuracy log {path} is a folder; {hint}.")
    if not path.exists():
        raise DataError(f"accuracy log {path} does not exist; pass the {ACCURACY_FILE} of an accuracy run.")
    if not path.is_file():
        raise DataError(f"accuracy log {path} is not a regular file; pass the {ACCURACY_FILE} of an accuracy run.")


def load_accuracy_log(path: Path) -> list[dict[str, Any]]:
    """Read mlperf_log_accuracy.json; a corrupt or truncated file names its first bad entry."""
    path = Path(path)
    check_accuracy_log_path(path)
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        raise DataError(f"cannot read accuracy log {path} ({exc.strerror or exc}); make it readable.") from None
    if not text.strip():
        raise DataError(f"accuracy log {path} is empty (not valid JSON): the run may have been cut short — "
                        "re-run the accuracy test.")
    try:
        entries = json.loads(text)
    except json.JSONDecodeError as exc:
        near = _entry_number_at(text, exc.pos)
        raise DataError(f"accuracy log {path} is not valid JSON at line {exc.lineno} (entry {near}): {exc.msg}; "
                        "the run may have been cut short — re-run the accuracy test.") from None
    except RecursionError:  # lists nested thousands deep: not something LoadGen writes
        raise DataError(f"accuracy log {path} is not a JSON list of LoadGen records (nested too deeply).") from None
    if not isinstance(entries, list):
        raise DataError(f"accuracy log {path} is not a JSON list of LoadGen records.")
    for i, e in enumerate(entries):
        if not isinstance(e, dict) or type(e.get("qsl_idx")) is not int or not isinstance(e.get("data"), str):
            raise DataError(f"accuracy log {path}: entry {i} is not a LoadGen record with 'qsl_idx' and hex 'data'.")
    return entries


def _entry_number_at(text: str, pos: int) -> int:
    return max(text.count('"qsl_idx"', 0, pos) - 1, 0)  # 0-based, as in the other messages


def decode_entries(entries: Iterable[dict[str, Any]], n_samples: int | None, dtype: str = "int32",
                   source: str = "accuracy log") -> dict[int, list[int]]:
    """qsl_idx -> token ids, first occurrence of each qsl_idx wins (as evaluation.py dedupes)."""
    out: dict[int, list[int]] = {}
    np_dtype = np.dtype(dtype)
    for i, e in enumerate(entries):
        idx = e["qsl_idx"]
        if n_samples is not None and not 0 <= idx < n_samples:
            raise DataError(f"{source}: entry {i} has qsl_idx {idx}, outside the data set's 0..{n_samples - 1}; "
                            "score with the data set the run used (--dataset-path, --total-sample-count).")
        if idx in out:
            continue
        try:
            raw = bytes.fromhex(e["data"])
        except ValueError:
            raise DataError(f"{source}: entry {i} (qsl_idx {idx}) has data that is not hex.") from None
        if len(raw) % np_dtype.itemsize:
            raise DataError(f"{source}: entry {i} (qsl_idx {idx}) holds {len(raw)} bytes, not a whole number "
                            f"of {dtype} values; pass the dtype the SUT wrote.")
        out[idx] = np.frombuffer(raw, dtype=np_dtype).tolist()
    return out


# ---------------------------------------------------------------------------------------------
# Scoring


def _score_chunk(pairs: Sequence[tuple[str, str]]) -> tuple[list[list[float]], list[int]]:
    """Per-sample F-measures (rouge1, rouge2, rougeL, rougeLsum) and post-processed prediction lengths."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(list(rules.ROUGE_KEYS), use_stemmer=True)
    scores, lengths = [], []
    for pred, ref in pairs:
        p, r = sentence_split(pred), sentence_split(ref)
        s = scorer.score(r, p)  # rouge_score takes (target, prediction)
        scores.append([s[k].fmeasure for k in rules.ROUGE_KEYS])
        lengths.append(len(p))
    return scores, lengths


def score_texts(predictions: Sequence[str], references: Sequence[str], workers: int | None = None,
                progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """ROUGE as evaluation.py reports it: means x100 rounded to 4 places, gen_len, gen_num."""
    pairs = list(zip(predictions, references))
    n = len(pairs)
    workers = workers if workers is not None else (os.cpu_count() or 1)
    all_scores: list[list[float]] = []
    all_lengths: list[int] = []
    if n >= PARALLEL_THRESHOLD and workers > 1:
        chunk = max(200, n // (workers * 8))
        chunks = [pairs[i:i + chunk] for i in range(0, n, chunk)]
        import multiprocessing as mp
        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
            for scores, lengths in pool.map(_score_chunk, chunks):
                all_scores.extend(scores)
                all_lengths.extend(lengths)
                if progress:
                    progress(len(all_scores), n)
    else:
        step = 500
        for i in range(0, n, step):
            scores, lengths = _score_chunk(pairs[i:i + step])
            all_scores.extend(scores)
            all_lengths.extend(lengths)
            if progress:
                progress(len(all_scores), n)
    arr = np.asarray(all_scores, dtype=np.float64).reshape(-1, len(rules.ROUGE_KEYS))
    result: dict[str, Any] = {}
    for j, key in enumerate(rules.ROUGE_KEYS):
        result[key] = round(float(np.mean(arr[:, j])) * 100, 4) if n else 0.0
    result["gen_len"] = int(sum(all_lengths))  # a plain int: numpy-2 reprs break the checker's regex
    result["gen_num"] = n
    return result


def detokenize(token_ids: Sequence[Sequence[int]], tokenizer: Any) -> list[str]:
    """evaluation.py's batch_decode(..., skip_special_tokens=True)."""
    return tokenizer.batch_decode(list(token_ids), skip_special_tokens=True)


def load_tokenizer(name_or_path: str, purpose: str = "") -> Any:
    """The run's tokenizer, with evaluation.py's model_max_length; `purpose` says in an error why it is needed."""
    try:
        from transformers import AutoTokenizer
        return AutoTokenizer.from_pretrained(name_or_path, model_max_length=128000, padding_side="left")
    except (OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"cannot load the tokenizer of {name_or_path!r} ({first[:160]}){purpose}; pass --model with "
                        "a local model directory that holds the tokenizer files (or --tokenizer).") from None


def score_accuracy_log(entries: list[dict[str, Any]], references: Sequence[str], tokenizer: Any,
                       dtype: str = "int32", source: str = "accuracy log",
                       progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Decode, detokenize and score an accuracy log against the data set's references."""
    decoded = decode_entries(entries, len(references), dtype, source)
    idxs = list(decoded)
    preds = detokenize([decoded[i] for i in idxs], tokenizer)
    return score_texts(preds, [references[i] for i in idxs], progress=progress)


# ---------------------------------------------------------------------------------------------
# The gate


@dataclass(frozen=True)
class MetricGate:
    """One checked metric."""

    name: str
    value: float
    reference: float
    lower: float
    upper: float | None
    passed: bool


@dataclass(frozen=True)
class AccuracyGate:
    """The accuracy verdict, as the submission checker would give it."""

    category: str
    metrics: tuple[MetricGate, ...]
    passed: bool
    rouge_fraction: float
    samples_scored: int
    official_samples: int
    indicative_only: bool  # partial data set: gen_len bounds scaled, verdict indicative
    stricter_than_mlperf: bool

    def to_dict(self) -> dict[str, Any]:
        """Plain data for rouge.json and summary.json."""
        d = asdict(self)
        d["verdict"] = "PASS" if self.passed else "FAIL"
        return d


def gate(scores: dict[str, Any], category: Category, high_accuracy: bool = False) -> AccuracyGate:
    """Apply the checker's targets: ROUGE >= ref * fraction, gen_len within [90%, 110%] of ref."""
    ref = rules.ACCURACY_REFERENCE[category]
    fraction = rules.HIGH_ACCURACY_ROUGE_FRACTION if high_accuracy else rules.ROUGE_FRACTION
    metrics = []
    for key in rules.ROUGE_KEYS:
        target = getattr(ref, key)
        lower = target * fraction
        value = float(scores[key])
        metrics.append(MetricGate(key, value, target, lower, None, value >= lower))
    n = int(scores["gen_num"])
    partial = n != ref.gen_num
    # For a partial run the character budget scales with the number of samples scored.
    ref_len = ref.gen_len * n / ref.gen_num if partial else ref.gen_len
    lo, hi = ref_len * rules.GEN_LEN_LOW_FRACTION, ref_len * rules.GEN_LEN_HIGH_FRACTION
    gen_len = int(scores["gen_len"])
    metrics.append(MetricGate("gen_len", gen_len, ref_len, lo, hi, lo <= gen_len and not gen_len > hi))
    return AccuracyGate(category.value, tuple(metrics), all(m.passed for m in metrics), fraction, n,
                        ref.gen_num, partial, high_accuracy)


def accuracy_txt(scores: dict[str, Any]) -> str:
    """accuracy.txt as evaluation.py prints it, which the checker's ACC_PATTERN regexes parse."""
    fields = ", ".join(f"'{k}': '{scores[k]}'" for k in rules.ROUGE_KEYS)
    return f"\nResults\n\n{{{fields}, 'gen_len': {int(scores['gen_len'])}, 'gen_num': {int(scores['gen_num'])}}}\n"
