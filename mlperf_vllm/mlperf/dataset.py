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
from ..errors import DataError

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


def _check_record(i: int, rec: object, path: Path) -> tuple[list[int], str]:
    if not isinstance(rec, dict) or "tok_input" not in rec or "output" not in rec:
        raise DataError(
            f"{path}: record {i} lacks 'tok_input'/'output'; expected the official cnn_eval.json format "
            "(a JSON list of {instruction, input, tok_input, output}).")
    ids = rec["tok_input"]
    if not isinstance(ids, list) or not ids or not all(isinstance(t, int) for t in ids[:8]):
        raise DataError(f"{path}: record {i} has a 'tok_input' that is not a list of token ids.")
    return ids, str(rec["output"])


def load_official(path: Path) -> Samples:
    """Load cnn_eval.json / sample_cnn_eval_5000.json (or a demo file of the same format)."""
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
    if not isinstance(records, list) or not records:
        raise DataError(f"{path} is not a non-empty JSON list of records; expected the official cnn_eval.json format.")
    prompts, refs = [], []
    for i, rec in enumerate(records):
        ids, ref = _check_record(i, rec, path)
        prompts.append(ids)
        refs.append(ref)
    return Samples(prompts, refs, str(path))


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
