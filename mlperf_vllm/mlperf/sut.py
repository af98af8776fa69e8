"""The LoadGen system-under-test: the only code that builds QuerySampleResponses.

One SUT serves every scenario. `issue_queries` hands every sample LoadGen sends to the engine at
once and returns (Offline: the whole query in one submit, so vLLM batches across all of it;
Server/Interactive/SingleStream: each arrival as it comes, so concurrency is whatever the load is).
Responses are int32 token ids with the final EOS included and n_tokens = len(ids) (SUT_VLLM.py);
outside Offline the first token is reported through FirstTokenComplete before completion
(loadgen/logging.cc: a sample latency needs its first-token latency first).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..engines.base import Completion, Engine, GenerationRequest
from .dataset import Samples

log = logging.getLogger(__name__)


@dataclass
class SampleTiming:
    """The SUT's own clock for one sample (perf_counter ns); LoadGen's figures are the official ones."""

    qsl_idx: int
    issued_ns: int
    first_token_ns: int = 0
    completed_ns: int = 0
    n_tokens: int = 0
    error: str | None = None


INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def int32_ids(token_ids: Sequence[Any]) -> np.ndarray:
    """Token ids as the int32 array LoadGen gets; ValueError naming the first id that is not a 32-bit int."""
    try:
        arr = np.asarray(token_ids)
    except (TypeError, ValueError, OverflowError):  # ragged nesting and the like
        arr = np.asarray([repr(token_ids)])
    if arr.size == 0 and arr.ndim == 1:
        return arr.astype(np.int32)
    # C speed on the hot path: a list of Python ints is an int64 array; None, str, float, bool, nested
    # lists or ints beyond 64 bits give another dtype or shape.
    if arr.ndim != 1 or arr.dtype.kind not in "iu" or arr.min() < INT32_MIN or arr.max() > INT32_MAX:
        flat = list(token_ids) if isinstance(token_ids, (list, tuple)) else [token_ids]
        bad = next((t for t in flat if isinstance(t, bool) or not isinstance(t, (int, np.integer))
                    or not INT32_MIN <= int(t) <= INT32_MAX), token_ids)
        raise ValueError(f"the engine returned a token id that is not a 32-bit integer: {str(bad)[:40]!r}")
    return arr.astype(np.int32, copy=False)


class SystemUnderTest:
    """Feeds LoadGen queries to an Engine and reports completions back to LoadGen."""

    def __init__(self, engine: Engine, samples: Samples, stream: bool, max_new_tokens: int,
                 lg: Any | None = None) -> None:
        if lg is None:
            import mlperf_loadgen as lg
        self._lg = lg
        self._engine = engine
        self._samples = samples
        self._stream = stream
        self._max_new_tokens = max_new_tokens
        self._lock = threading.Lock()
        self.timings: dict[int, SampleTiming] = {}
        self.completed = 0
        self.completed_tokens = 0
        self.errors: list[str] = []
        self._pending: set[int] = set()  # response ids LoadGen still waits for
        self.aborted: str | None = None
        self.cancelled = 0  # samples of the current test completed without output by cancel_pending
        self.schedule_ended = threading.Event()  # LoadGen has issued its last query (flush_queries)

    # LoadGen callbacks -------------------------------------------------------------------
    def issue_queries(self, query_samples: Sequence[Any]) -> None:
        """Hand every sample to the engine at once; never blocks on generation."""
        now = time.perf_counter_ns()
        prompts = self._samples.prompts
        requests = []
        for qs in query_samples:
            self.timings[qs.id] = SampleTiming(qs.index, now)
            requests.append(GenerationRequest(tag=qs.id, prompt_token_ids=prompts[qs.index],
                                              max_new_tokens=self._max_new_tokens, stream=self._stream))
        with self._lock:
            aborted = self.aborted
            if aborted is None:
                self._pending.update(r.tag for r in requests)
        if aborted is not None:  # interrupted: answer at once so LoadGen can wind down
            for r in requests:
                self._lg.QuerySamplesComplete([self._lg.QuerySampleResponse(r.tag, 0, 0, 0)])
            return
        self._engine.submit(requests, self)

    def flush_queries(self) -> None:
        """Nothing is held back; LoadGen calls this once it has issued its last query."""
        self.schedule_ended.set()

    # Engine callbacks (CompletionSink) -----------------------------------------------------
    def on_first_token(self, tag: int, token_ids: Sequence[int]) -> None:
        """Report the first token(s) to LoadGen (TTFT)."""
        timing = self.timings.get(tag)
        if timing is not None:
            timing.first_token_ns = time.perf_counter_ns()
        try:
            data = int32_ids(token_ids)
        except ValueError:
            return  # the completion carries the same ids and fails the sample with the reason
        with self._lock:  # never for a sample that abort() already completed (LoadGen freed it)
            if tag in self._pending:
                self._lg.FirstTokenComplete([self._lg.QuerySampleResponse(tag, data.ctypes.data, data.nbytes)])

    def _take(self, tag: int) -> bool:
        """Claim a pending sample; False if it was already completed (e.g. by abort)."""
        with self._lock:
            if tag in self._pending:
                self._pending.discard(tag)
                return True
            return False

    def on_complete(self, completion: Completion) -> None:
        """Report the whole output with n_tokens; LoadGen copies the bytes inside the call."""
        try:  # before the sample is claimed: a failure here must still complete it (on_error)
            data = int32_ids(completion.token_ids)
        except ValueError as exc:
            self.on_error(completion.tag, str(exc))
            return
        if not self._take(completion.tag):
            return
        n_tokens = len(data)
        timing = self.timings.get(completion.tag)
        if timing is not None:
            timing.completed_ns = time.perf_counter_ns()
            timing.n_tokens = n_tokens
        self._lg.QuerySamplesComplete(
            [self._lg.QuerySampleResponse(completion.tag, data.ctypes.data, data.nbytes, n_tokens)])
        with self._lock:
            self.completed += 1
            self.completed_tokens += n_tokens

    def on_error(self, tag: int, message: str) -> None:
        """Complete the sample with no data so LoadGen never waits forever; LoadGen logs it as an error."""
        if not self._take(tag):
            return
        timing = self.timings.get(tag)
        if timing is not None:
            timing.error = message
            timing.completed_ns = time.perf_counter_ns()
        self._lg.QuerySamplesComplete([self._lg.QuerySampleResponse(tag, 0, 0, 0)])
        with self._lock:
            self.completed += 1
            self.errors.append(message)

    def abort(self, reason: str) -> int:
        """Complete every pending sample now (no data) and every later one on arrival; returns how many."""
        with self._lock:
            self.aborted = reason
            tags = list(self._pending)
            self._pending.clear()
        for tag in tags:
            self._lg.QuerySamplesComplete([self._lg.QuerySampleResponse(tag, 0, 0, 0)])
        return len(tags)

    def cancel_pending(self) -> int:
        """Complete every pending sample now without output and cancel it in the engine (a QPS probe whose
        backlog outlived its bound); unlike abort, later samples are served as usual. Returns how many."""
        with self._lock:
            tags = list(self._pending)
            self._pending.clear()
            self.cancelled += len(tags)
        for tag in tags:
            self._lg.QuerySamplesComplete([self._lg.QuerySampleResponse(tag, 0, 0, 0)])
        cancel = getattr(self._engine, "cancel_all", None)
        if cancel is not None:
            cancel()
        return len(tags)

    def engine_idle(self, timeout_s: float) -> bool:
        """Wait until the engine holds no request (True), at most timeout_s; engines that cannot tell: True."""
        outstanding = getattr(self._engine, "outstanding", None)
        if outstanding is None:
            return True
        deadline = time.monotonic() + timeout_s
        while outstanding() > 0:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    # Reporting -------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget the records of the previous LoadGen test."""
        with self._lock:
            self.timings = {}
            self.completed = 0
            self.completed_tokens = 0
            self.errors = []
            self._pending = set()
            self.cancelled = 0
        self.schedule_ended.clear()

    def first_issue_ns(self) -> int | None:
        """When the current test's first sample was issued (perf_counter ns): the timings' zero."""
        return min((t.issued_ns for t in list(self.timings.values())), default=None)

    def timing_rows(self) -> list[dict[str, float | int | str | None]]:
        """Per-sample SUT timings in ms relative to the first issue (for plots and CSV)."""
        items = list(self.timings.values())
        if not items:
            return []
        t0 = min(t.issued_ns for t in items)
        rows = []
        for t in sorted(items, key=lambda t: t.issued_ns):
            ttft = (t.first_token_ns - t.issued_ns) / 1e6 if t.first_token_ns else None
            latency = (t.completed_ns - t.issued_ns) / 1e6 if t.completed_ns else None
            tpot = ((latency - ttft) / (t.n_tokens - 1)
                    if latency is not None and ttft is not None and t.n_tokens > 1 else None)
            rows.append({"qsl_idx": t.qsl_idx, "issued_ms": (t.issued_ns - t0) / 1e6, "ttft_ms": ttft,
                         "latency_ms": latency, "tpot_ms": tpot, "n_tokens": t.n_tokens, "error": t.error})
        return rows
