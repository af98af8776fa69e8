"""Engines without a model, for unit tests and for timing the harness itself.

- InstantEngine: answers inside submit(), as fast as Python can (harness overhead, QPS ceilings).
- TimedEngine: first token after a fixed TTFT, then one token per TPOT; optional TTFT growth with
  the number of requests in flight (to test load searches against a known break point).
- OracleEngine: returns given token ids per prompt (e.g. the reference summary), to test scoring.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from typing import Callable, Sequence

from .base import Completion, CompletionSink, GenerationRequest


def _ids(prompt: Sequence[int], n: int) -> list[int]:
    """Deterministic output ids derived from the prompt (never 0, so they are not special in tests)."""
    seed = (sum(prompt[:16]) + len(prompt)) % 997
    return [1 + (seed + i * 7) % 500 for i in range(n)]


class InstantEngine:
    """Completes every request synchronously, with n_tokens deterministic ids."""

    name = "fake-instant"

    def __init__(self, n_tokens: int = 8) -> None:
        self.n_tokens = n_tokens
        self.submits: list[int] = []

    def submit(self, requests: Sequence[GenerationRequest], sink: CompletionSink) -> None:
        """Answer each request at once (first token first for streaming requests)."""
        self.submits.append(len(requests))
        for r in requests:
            ids = _ids(r.prompt_token_ids, min(self.n_tokens, r.max_new_tokens))
            if r.stream:
                sink.on_first_token(r.tag, ids[:1])
            sink.on_complete(Completion(r.tag, ids))

    def shutdown(self) -> None:
        """Nothing to release."""


class TimedEngine:
    """Fixed TTFT and TPOT per request on a timer thread; unlimited concurrency unless ttft_fn says otherwise."""

    name = "fake-timed"

    def __init__(self, ttft_s: float, tpot_s: float, n_tokens: int = 8,
                 ttft_fn: Callable[[int], float] | None = None) -> None:
        self.ttft_s, self.tpot_s, self.n_tokens = ttft_s, tpot_s, n_tokens
        self.ttft_fn = ttft_fn  # in-flight count at arrival -> TTFT in seconds
        self.submits: list[int] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._heap: list[tuple[float, int, str, GenerationRequest, CompletionSink, list[int]]] = []
        self._seq = itertools.count()
        self._cv = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="fake-timed", daemon=True)
        self._thread.start()

    def submit(self, requests: Sequence[GenerationRequest], sink: CompletionSink) -> None:
        """Schedule first-token and completion events for each request."""
        now = time.perf_counter()
        with self._cv:
            self.submits.append(len(requests))
            for r in requests:
                self._in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self._in_flight)
                ttft = self.ttft_fn(self._in_flight) if self.ttft_fn else self.ttft_s
                ids = _ids(r.prompt_token_ids, min(self.n_tokens, r.max_new_tokens))
                if r.stream:
                    heapq.heappush(self._heap, (now + ttft, next(self._seq), "first", r, sink, ids))
                done = now + ttft + (len(ids) - 1) * self.tpot_s
                heapq.heappush(self._heap, (done, next(self._seq), "done", r, sink, ids))
            self._cv.notify()

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._stop and not self._heap:
                    self._cv.wait()
                if self._stop:
                    return
                due = self._heap[0][0]
                wait = due - time.perf_counter()
                if wait > 0:
                    self._cv.wait(timeout=wait)
                    continue
                _, _, kind, r, sink, ids = heapq.heappop(self._heap)
                if kind == "done":
                    self._in_flight -= 1
            if kind == "first":
                sink.on_first_token(r.tag, ids[:1])
            else:
                sink.on_complete(Completion(r.tag, ids))

    def shutdown(self) -> None:
        """Stop the timer thread."""
        with self._cv:
            self._stop = True
            self._cv.notify()
        self._thread.join(timeout=5)


class OracleEngine:
    """Returns answers[prompt] for each prompt (keyed by the prompt's token ids)."""

    name = "fake-oracle"

    def __init__(self, answers: dict[tuple[int, ...], list[int]]) -> None:
        self.answers = answers

    def submit(self, requests: Sequence[GenerationRequest], sink: CompletionSink) -> None:
        """Answer each request with its known output."""
        for r in requests:
            ids = self.answers[tuple(r.prompt_token_ids)]
            if r.stream:
                sink.on_first_token(r.tag, ids[:1])
            sink.on_complete(Completion(r.tag, list(ids)))

    def shutdown(self) -> None:
        """Nothing to release."""
