"""MMLU k-shot prompts and scoring on an Engine, as lm-evaluation-harness does it.

Prompt (lm-eval `mmlu` default): "The following are multiple choice questions (with answers) about
<subject>.\\n\\n", then k dev examples of the same subject (first k, lm-eval's first_n sampler), each
"<question>\\nA. ..\\nB. ..\\nC. ..\\nD. ..\\nAnswer: <letter>" and separated by a blank line, then the
test question ending in "Answer:". The prediction is the letter whose continuation token (" A".." D")
has the highest log-probability: lm-eval's loglikelihood choice for one-token answers. All questions
go to the engine at once; nothing is generated beyond that one position.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Sequence

from ..engines.base import CollectingSink, Engine, GenerationRequest
from ..errors import DataError, UsageError
from .data import Question
from .subjects import DOMAIN_NAMES, LETTERS, SUBJECT_DOMAIN, subject_title


def format_question(q: Question, with_answer: bool) -> str:
    """One question block; with the answer letter for few-shot examples."""
    lines = [q.question.strip(), *(f"{letter}. {choice}" for letter, choice in zip(LETTERS, q.choices))]
    text = "\n".join(lines) + "\nAnswer:"
    return text + f" {LETTERS[q.answer]}" if with_answer else text


def build_prompt(q: Question, shots: Sequence[Question]) -> str:
    """The lm-eval MMLU prompt for q with the given few-shot examples."""
    head = f"The following are multiple choice questions (with answers) about {subject_title(q.subject)}.\n\n"
    return head + "".join(format_question(s, True) + "\n\n" for s in shots) + format_question(q, False)


@dataclass(frozen=True)
class PromptStyle:
    """How prompts become token ids: plain text (lm-eval default) or the model's chat template."""

    chat: bool

    def encode(self, tokenizer: Any, text: str) -> list[int]:
        if self.chat:
            ids = tokenizer.apply_chat_template([{"role": "user", "content": text}], add_generation_prompt=True,
                                                tokenize=True)
            return list(ids["input_ids"] if isinstance(ids, dict) else ids)
        return tokenizer.encode(text)  # BOS included, as the HF tokenizer adds it

    def choice_token_ids(self, tokenizer: Any) -> tuple[int, ...]:
        """One token per letter: ' A' after 'Answer:' (plain) or 'A' as the assistant's first token (chat)."""
        out = []
        for letter in LETTERS:
            piece = letter if self.chat else f" {letter}"
            ids = tokenizer.encode(piece, add_special_tokens=False)
            if len(ids) != 1:
                raise DataError(f"the tokenizer splits {piece!r} into {len(ids)} tokens; MMLU scoring needs "
                                "one token per answer letter.")
            out.append(ids[0])
        return tuple(out)


@dataclass
class Scored:
    """One question's outcome."""

    question: Question
    prediction: int
    logprobs: tuple[float, float, float, float]
    latency_ms: float

    @property
    def correct(self) -> bool:
        return self.prediction == self.question.answer


def prepare(questions: Sequence[Question], dev: dict[str, list[Question]], k: int, tokenizer: Any,
            style: PromptStyle) -> list[list[int]]:
    """Token ids of every question's k-shot prompt (dev examples of the same subject only)."""
    prompts = []
    for q in questions:
        shots = dev.get(q.subject, [])
        if len(shots) < k:
            raise UsageError(f"--num-fewshot {k} but '{q.subject}' has only {len(shots)} dev examples; "
                             f"use --num-fewshot {len(shots)} or less.")
        prompts.append(style.encode(tokenizer, build_prompt(q, shots[:k])))
    return prompts


def choose(logprobs: dict[int, float], choice_ids: Sequence[int]) -> tuple[int, tuple[float, ...]]:
    """Index of the letter with the highest log-probability (ties: the earlier letter), and all four."""
    values = tuple(float(logprobs.get(t, -math.inf)) for t in choice_ids)
    return max(range(len(values)), key=lambda i: (values[i], -i)), values


def evaluate(engine: Engine, questions: Sequence[Question], prompts: Sequence[Sequence[int]],
             choice_ids: Sequence[int], progress: Any = None) -> list[Scored]:
    """Send every question at once; score each by the letters' log-probabilities at the answer position."""
    collector = CollectingSink(len(questions))
    requests = [GenerationRequest(tag=i, prompt_token_ids=p, max_new_tokens=1, min_new_tokens=1,
                                  choice_token_ids=tuple(choice_ids)) for i, p in enumerate(prompts)]
    t0 = time.perf_counter()
    engine.submit(requests, collector)
    while not collector.wait(0.25):
        if progress is not None:
            progress.update(collector.count, len(questions))
    if collector.errors:
        tag, message = next(iter(collector.errors.items()))
        raise RuntimeError(f"{len(collector.errors)} MMLU requests failed in the engine; first: {message}")
    scored = []
    for i, q in enumerate(questions):
        c = collector.results[i]
        first = (c.logprobs or [{}])[0]
        pred, values = choose(first, choice_ids)
        scored.append(Scored(q, pred, values, (collector.done_at[i] - t0) * 1000))
    return scored


def _acc(items: Sequence[Scored]) -> dict[str, Any]:
    n = len(items)
    correct = sum(s.correct for s in items)
    return {"accuracy": round(100 * correct / n, 4) if n else None, "correct": correct, "questions": n}


def aggregate(scored: Sequence[Scored]) -> dict[str, Any]:
    """Micro averages: overall, per domain (lm-eval's groups), per subject."""
    by_domain: dict[str, list[Scored]] = {d: [] for d in DOMAIN_NAMES}
    by_subject: dict[str, list[Scored]] = {}
    for s in scored:
        by_domain[SUBJECT_DOMAIN[s.question.subject]].append(s)
        by_subject.setdefault(s.question.subject, []).append(s)
    return {
        "overall": _acc(scored),
        "by_domain": {DOMAIN_NAMES[d]: _acc(items) for d, items in by_domain.items() if items},
        "by_subject": {subj: {"domain": DOMAIN_NAMES[SUBJECT_DOMAIN[subj]], **_acc(items)}
                       for subj, items in sorted(by_subject.items())},
    }
