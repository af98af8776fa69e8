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
        """Nothing is held back, so there is nothing to flush."""

    # Engine callbacks (CompletionSink) -----------------------------------------------------
    def on_first_token(self, tag: int, token_ids: Sequence[int]) -> None:
        """Report the first token(s) to LoadGen (TTFT)."""
        timing = self.timings.get(tag)
        if timing is not None:
            timing.first_token_ns = time.perf_counter_ns()
        data = np.asarray(token_ids, dtype=np.int32)
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
        if not self._take(completion.tag):
            return
        data = np.asarray(completion.token_ids, dtype=np.int32)
        n_tokens = len(completion.token_ids)
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

    # Reporting -------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget the records of the previous LoadGen test."""
        with self._lock:
            self.timings = {}
            self.completed = 0
            self.completed_tokens = 0
            self.errors = []
            self._pending = set()

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
