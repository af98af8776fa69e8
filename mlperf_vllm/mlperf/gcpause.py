"""Python's garbage collector during a LoadGen test: how long it paused the process, and freezing it.

The SUT's callbacks, the engine's output handling and LoadGen's issue thread share one interpreter, so
a full collection over the millions of objects torch and vLLM keep alive stalls every request in
flight at once: a latency tail that no engine setting explains. `GcWatch` times each collection of the
test; with freeze=True the heap that exists when the test starts (the engine, the data set) is moved
out of the collector's sight first (gc.freeze, as vLLM's own server does after it starts), so a
collection scans only what the test itself allocates.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class GcStats:
    """Collections during one test, per generation, and the time the interpreter spent in them."""

    frozen: bool
    frozen_objects: int = 0
    collections: dict[int, int] = field(default_factory=lambda: {0: 0, 1: 0, 2: 0})
    total_ms: float = 0.0
    longest_ms: float = 0.0

    def line(self) -> str:
        per_gen = ", ".join(f"gen{g} {n}" for g, n in sorted(self.collections.items()))
        frozen = f"; {self.frozen_objects} objects frozen first" if self.frozen else ""
        return (f"garbage collection during the test: {per_gen}; {self.total_ms:.0f} ms in all, longest "
                f"{self.longest_ms:.1f} ms{frozen}")

    def to_dict(self) -> dict[str, Any]:
        return {"frozen": self.frozen, "frozen_objects": self.frozen_objects,
                "collections": {f"gen{g}": n for g, n in sorted(self.collections.items())},
                "total_ms": round(self.total_ms, 1), "longest_ms": round(self.longest_ms, 2)}


class GcWatch:
    """Context manager: times every collection while it is open; freeze=True freezes the heap first."""

    def __init__(self, freeze: bool) -> None:
        self.stats = GcStats(frozen=freeze)
        self._started: float | None = None

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        if self._started is None:
            return
        ms = (time.perf_counter() - self._started) * 1000
        self._started = None
        gen = int(info.get("generation", 0))
        self.stats.collections[gen] = self.stats.collections.get(gen, 0) + 1
        self.stats.total_ms += ms
        self.stats.longest_ms = max(self.stats.longest_ms, ms)

    def __enter__(self) -> GcStats:
        if self.stats.frozen:
            gc.collect()
            gc.freeze()
            self.stats.frozen_objects = gc.get_freeze_count()
        gc.callbacks.append(self._callback)
        return self.stats

    def __exit__(self, *exc: object) -> None:
        if self._callback in gc.callbacks:
            gc.callbacks.remove(self._callback)
        if self.stats.frozen:
            gc.unfreeze()
