"""Samples for the QSL: the official CNN/DailyMail JSON, the HF data set, synthetic ids, or demo data.

Prompts are token ids and are handed to the engine unchanged (rules: "Token IDs ... or just the
Token IDs"); references are the `output` highlights used by the ROUGE evaluator.
"""

from __future__ import annotations

import json
import logging
import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from .. import rules
from ..errors import DataError, SetupError

log = logging.getLogger(__name__)

# CNN/DailyMail validation prompts under the Llama-3.1 tokenizer: lognormal around 800 tokens
# (mean ~870), at most ~2540 tokens.
SYNTHETIC_MEDIAN_TOKENS = 800
SYNTHETIC_SIGMA = 0.415
SYNTHETIC_MIN_TOKENS = 64
SYNTHETIC_MAX_TOKENS = 2540


@dataclass(frozen=True)
class Samples:
    """Prompts as token ids, with references when the source has them."""

    prompts: list[list[int]]
    references: list[str] | None
    source: str

    def __len__(self) -> int:
        return len(self.prompts)

    @property
    def max_prompt_tokens(self) -> int:
        """Length of the longest prompt."""
        return max((len(p) for p in self.prompts), default=0)

    @property
    def mean_prompt_tokens(self) -> float:
        """Mean prompt length."""
        return sum(len(p) for p in self.prompts) / max(len(self.prompts), 1)

    def head(self, n: int) -> "Samples":
        """The first n samples (the official evaluator and the QSL both count from index 0)."""
        refs = None if self.references is None else self.references[:n]
        return Samples(self.prompts[:n], refs, self.source)


LISTED = 3  # records named in a refusal; the rest are counted


def _json_type(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "text", bool: "a boolean", int: "a number", float: "a number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _record_problem(i: int, rec: object) -> str | None:
    """What makes record i unusable (its shape, its token ids, its reference), or None."""
    if not isinstance(rec, dict) or "tok_input" not in rec or "output" not in rec:
        return f"record {i} lacks 'tok_input'/'output'"
    ids = rec["tok_input"]
    if not isinstance(ids, list) or not ids:
        return f"record {i} has a 'tok_input' that is {'empty' if ids == [] else _json_type(ids)}, not token ids"
    if set(map(type, ids)) != {int}:  # bool is not int here: True is no token id
        bad = next(t for t in ids if type(t) is not int)
        return f"record {i} has a token id that is {_json_type(bad)} ({json.dumps(bad)[:20]}), not a whole number"
    if min(ids) < 0:
        return f"record {i} has a negative token id ({min(ids)})"
    if not isinstance(rec["output"], str):
        return f"record {i} has an 'output' that is {_json_type(rec['output'])}, not text (the reference summary)"
    return None


def _refusal(path: Path, problems: list[str], total: int, fix: str) -> DataError:
    """One line naming the first few unusable records, with how many there are."""
    more = f"; and {len(problems) - LISTED} more" if len(problems) > LISTED else ""
    return DataError(f"{path}: {len(problems)} of {total} records cannot be used: {'; '.join(problems[:LISTED])}"
                     f"{more}. {fix}")


def load_official(path: Path) -> Samples:
    """Load cnn_eval.json / sample_cnn_eval_5000.json (or a demo file of the same format); every record
    is checked (shape, whole non-negative token ids, a text reference), and the unusable ones named."""
    path = Path(path)
    if path.is_dir():
        raise DataError(f"--dataset-path {path} is a directory; pass the JSON file itself (e.g. cnn_eval.json).")
    if not path.is_file():
        raise DataError(f"--dataset-path {path} does not exist; download cnn_eval.json (see README) or use --dataset demo.")
    try:
        with path.open("rb") as fh:
            records = json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path} is not valid JSON ({exc.msg if hasattr(exc, 'msg') else exc}); "
                        "expected the official cnn_eval.json format.") from None
    except RecursionError:
        raise DataError(f"{path} is nested too deeply to be a data set; expected the official cnn_eval.json "
                        "format.") from None
    except OSError as exc:  # unreadable: permissions, an I/O error
        raise SetupError(f"--dataset-path {path} cannot be read ({exc.strerror or exc}); make it readable.") from None
    if not isinstance(records, list) or not records:
        raise DataError(f"{path} is not a non-empty JSON list of records; expected the official cnn_eval.json format.")
    problems = [p for i, rec in enumerate(records) if (p := _record_problem(i, rec)) is not None]
    if problems:
        raise _refusal(path, problems, len(records), "Expected the official cnn_eval.json format (a JSON list of "
                       "{instruction, input, tok_input, output}, output the reference text).")
    return Samples([r["tok_input"] for r in records], [r["output"] for r in records], str(path))


def check_vocabulary(samples: Samples, vocab_size: int, model: str) -> None:
    """Every token id must index the model's embedding (0 <= id < vocab_size): an id beyond it fails every
    sample in the engine (vLLM: "index out of range in self"). Refused in one line naming the records."""
    problems = [f"record {i} (id {top})" for i, prompt in enumerate(samples.prompts)
                if (top := max(prompt, default=0)) >= vocab_size]
    if problems:
        raise _refusal(Path(samples.source), problems, len(samples),
                       f"Those token ids are not in the vocabulary of {model} (vocab_size {vocab_size}, its "
                       "config.json): use the data set made with this model's tokenizer, or the model it was made "
                       "for.")


def load_hf_cnn_dailymail(tokenizer_dir: str) -> Samples:
    """The HF cnn_dailymail 3.0.0 validation split, formatted and tokenized as download_cnndm.py does."""
    try:
        import datasets
        from transformers import AutoTokenizer
        ds = datasets.load_dataset("cnn_dailymail", "3.0.0", split="validation")
        tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    except Exception as exc:  # datasets raises many types for "offline" / "not found"
        raise DataError(f"could not load cnn_dailymail 3.0.0 from the Hugging Face Hub ({type(exc).__name__}); "
                        "pass --dataset-path cnn_eval.json, or use --dataset synthetic for performance only.") from None
    prompts = [tok.encode(rules.PROMPT_TEMPLATE.format(input=a)) for a in ds["article"]]
    return Samples(prompts, list(ds["highlights"]), "hf:cnn_dailymail/3.0.0/validation")


def synthetic(n: int, vocab_size: int, bos_token_id: int | None, seed: int = 42) -> Samples:
    """Random token ids with the CNN/DailyMail prompt-length profile (performance runs only)."""
    rng = random.Random(seed)
    lo = 1000 if vocab_size > 20000 else 16  # keep clear of special tokens at the low end
    hi = min(vocab_size, 128000) - 1  # Llama-3's special tokens start at 128000
    mu = math.log(SYNTHETIC_MEDIAN_TOKENS)
    prompts = []
    for _ in range(n):
        length = int(min(max(rng.lognormvariate(mu, SYNTHETIC_SIGMA), SYNTHETIC_MIN_TOKENS), SYNTHETIC_MAX_TOKENS))
        ids = [rng.randint(lo, hi) for _ in range(length)]
        if bos_token_id is not None:
            ids[0] = bos_token_id
        prompts.append(ids)
    return Samples(prompts, None, f"synthetic(seed={seed})")


def describe(samples: Samples) -> dict[str, object]:
    """Numbers about the data set for the report."""
    lengths: Sequence[int] = sorted(len(p) for p in samples.prompts)
    return {
        "source": samples.source,
        "samples": len(samples),
        "prompt_tokens_mean": round(samples.mean_prompt_tokens, 1),
        "prompt_tokens_max": samples.max_prompt_tokens,
        "prompt_tokens_min": lengths[0] if lengths else 0,
        "has_references": samples.references is not None,
    }
