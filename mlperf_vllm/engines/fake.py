"""Engines without a model, for unit tests and for timing the harness itself.

- InstantEngine: answers inside submit(), as fast as Python can (harness overhead, QPS ceilings).
- TimedEngine: first token after a fixed TTFT, then one token per TPOT; optional TTFT growth with
  the number of requests in flight, or a fixed number of slots with a queue behind them (to test
  load searches against a known break point or capacity).
- OracleEngine: returns given token ids per prompt (e.g. the reference summary), to test scoring.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections import deque
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
    """Fixed TTFT and TPOT per request on a timer thread; unlimited concurrency unless told otherwise.

    `ttft_fn` maps the in-flight count at arrival to a TTFT (a known latency break point); `slots`
    serves at most that many requests at once and queues the rest first come, first served, so its
    capacity is slots / (ttft_s + (n_tokens - 1) * tpot_s) requests/s and a backlog grows beyond it.
    """

    name = "fake-timed"

    def __init__(self, ttft_s: float, tpot_s: float, n_tokens: int = 8,
                 ttft_fn: Callable[[int], float] | None = None, slots: int | None = None) -> None:
        self.ttft_s, self.tpot_s, self.n_tokens = ttft_s, tpot_s, n_tokens
        self.ttft_fn = ttft_fn  # in-flight count at arrival -> TTFT in seconds
        self.slots = slots
        self.submits: list[int] = []
        self.max_in_flight = 0
        self.cancelled = 0
        self._in_flight = 0  # submitted and not finished (queued included)
        self._serving = 0
        self._queue: deque[tuple[GenerationRequest, CompletionSink]] = deque()
        self._heap: list[tuple[float, int, str, GenerationRequest, CompletionSink, list[int]]] = []
        self._seq = itertools.count()
        self._cv = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="fake-timed", daemon=True)
        self._thread.start()

    def _start(self, r: GenerationRequest, sink: CompletionSink, now: float) -> None:
        self._serving += 1
        ttft = self.ttft_fn(self._in_flight) if self.ttft_fn else self.ttft_s
        ids = _ids(r.prompt_token_ids, min(self.n_tokens, r.max_new_tokens))
        if r.stream:
            heapq.heappush(self._heap, (now + ttft, next(self._seq), "first", r, sink, ids))
        done = now + ttft + (len(ids) - 1) * self.tpot_s
        heapq.heappush(self._heap, (done, next(self._seq), "done", r, sink, ids))

    def submit(self, requests: Sequence[GenerationRequest], sink: CompletionSink) -> None:
        """Schedule first-token and completion events for each request (queued while every slot is busy)."""
        now = time.perf_counter()
        with self._cv:
            self.submits.append(len(requests))
            for r in requests:
                self._in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self._in_flight)
                if self.slots is None or self._serving < self.slots:
                    self._start(r, sink, now)
                else:
                    self._queue.append((r, sink))
            self._cv.notify()

    def cancel_all(self) -> None:
        """Drop every queued and running request (each reports on_error "cancelled")."""
        with self._cv:
            dropped = [(r, sink) for _, _, kind, r, sink, _ in self._heap if kind == "done"] + list(self._queue)
            self._heap.clear()
            self._queue.clear()
            self._in_flight = self._serving = 0
            self.cancelled += len(dropped)
        for r, sink in dropped:
            sink.on_error(r.tag, "cancelled")

    def outstanding(self) -> int:
        """Requests queued or running."""
        with self._cv:
            return self._in_flight

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._stop and not self._heap:
                    self._cv.wait()
                if self._stop:
                    return
                due = self._heap[0][0]
                now = time.perf_counter()
                if due > now:
                    self._cv.wait(timeout=due - now)
                    continue
                _, _, kind, r, sink, ids = heapq.heappop(self._heap)
                if kind == "done":
                    self._in_flight -= 1
                    self._serving -= 1
                    if self._queue:
                        self._start(*self._queue.popleft(), now)
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
