"""The Engine protocol: what a system-under-test needs from an inference engine.

An engine takes generation requests without blocking and reports, per request, the first token(s)
(streaming requests only) and the final token ids, from whatever thread it runs on. SUTs turn those
callbacks into LoadGen responses; the baseline and MMLU use the blocking `generate` helper.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Protocol, Sequence

from .. import rules


@dataclass(frozen=True)
class GenerationRequest:
    """One prompt as token ids, with MLPerf's greedy decoding limits."""

    tag: int  # caller's handle, echoed in callbacks (e.g. a LoadGen response id)
    prompt_token_ids: Sequence[int]
    max_new_tokens: int = rules.MAX_NEW_TOKENS
    min_new_tokens: int = rules.MIN_NEW_TOKENS
    stream: bool = False  # report the first token as soon as it exists
    # Score these tokens at the first generated position (MMLU's answer letters): their
    # log-probabilities over the whole vocabulary come back in Completion.logprobs[0].
    choice_token_ids: tuple[int, ...] | None = None


@dataclass
class Completion:
    """The result of one request: generated ids (EOS included) and optional log-probabilities."""

    tag: int
    token_ids: list[int]
    logprobs: list[dict[int, float]] | None = field(default=None)


class CompletionSink(Protocol):
    """Receives engine events; called from the engine's thread, so it must be quick."""

    def on_first_token(self, tag: int, token_ids: Sequence[int]) -> None:
        """The first generated token(s) of a streaming request."""

    def on_complete(self, completion: Completion) -> None:
        """A request finished."""

    def on_error(self, tag: int, message: str) -> None:
        """A request failed; no on_complete follows."""


class Engine(Protocol):
    """An inference engine as the SUTs use it."""

    name: str

    def submit(self, requests: Sequence[GenerationRequest], sink: CompletionSink) -> None:
        """Queue requests and return at once; events arrive on sink."""

    def shutdown(self) -> None:
        """Stop the engine and release its resources (idempotent)."""


class CollectingSink:
    """Collects the completions of n requests, with the time each finished; wait() until all are in."""

    def __init__(self, n: int) -> None:
        self.results: dict[int, Completion] = {}
        self.done_at: dict[int, float] = {}
        self.errors: dict[int, str] = {}
        self._n = n
        self._done = threading.Event()
        self._lock = threading.Lock()
        if n == 0:
            self._done.set()

    def on_first_token(self, tag: int, token_ids: Sequence[int]) -> None:
        pass

    def _finish_one(self) -> None:
        if len(self.results) + len(self.errors) >= self._n:
            self._done.set()

    def on_complete(self, completion: Completion) -> None:
        with self._lock:
            self.results[completion.tag] = completion
            self.done_at[completion.tag] = time.perf_counter()
            self._finish_one()

    def on_error(self, tag: int, message: str) -> None:
        with self._lock:
            self.errors[tag] = message
            self._finish_one()

    @property
    def count(self) -> int:
        """Requests finished so far (completed or failed)."""
        return len(self.results) + len(self.errors)

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)


class EngineRequestError(RuntimeError):
    """One or more requests failed inside the engine."""


def generate(engine: Engine, requests: Sequence[GenerationRequest]) -> list[Completion]:
    """Submit all requests at once and block until every one has finished, in request order."""
    sink = CollectingSink(len(requests))
    engine.submit(requests, sink)
    sink.wait()
    if sink.errors:
        tag, message = next(iter(sink.errors.items()))
        raise EngineRequestError(f"{len(sink.errors)} request(s) failed; first (tag {tag}): {message}")
    return [sink.results[r.tag] for r in requests]
