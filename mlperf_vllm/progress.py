"""One progress line per long phase on stderr; silent when stderr is not a terminal."""

from __future__ import annotations

import sys
import threading
import time
from typing import Callable


class Progress:
    """Shows `label: N done, T tokens/s` while a phase runs (polling a counter) or as update() is called."""

    def __init__(self, label: str, counter: Callable[[], tuple[int, int]] | None, enabled: bool | None = None,
                 total: int | None = None, interval_s: float = 0.5) -> None:
        self.label = label
        self._counter = counter
        self._total = total
        self._interval = interval_s
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._t0 = time.perf_counter()
        self._done = (0, 0)

    def __enter__(self) -> "Progress":
        self._t0 = time.perf_counter()
        if self.enabled and self._counter is not None:
            self._thread = threading.Thread(target=self._poll, name="progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self.enabled:
            if self._counter is not None:
                self._done = self._counter()
            self._draw(final=True)

    def update(self, done: int, total: int | None = None) -> None:
        """Report progress from the caller (for phases without a counter)."""
        self._done = (done, 0)
        if total is not None:
            self._total = total
        if self.enabled:
            self._draw()

    def _poll(self) -> None:
        while not self._stop.wait(self._interval):
            self._done = self._counter() if self._counter else self._done
            self._draw()

    def _draw(self, final: bool = False) -> None:
        n, tokens = self._done
        secs = max(time.perf_counter() - self._t0, 1e-9)
        parts = [f"{n:,}" + (f"/{self._total:,}" if self._total else "") + " samples"]
        if tokens:
            parts.append(f"{tokens / secs:,.0f} tokens/s")
        parts.append(f"{secs:,.0f} s")
        sys.stderr.write(f"\r{self.label}: " + ", ".join(parts) + ("\n" if final else "\x1b[K"))
        sys.stderr.flush()
