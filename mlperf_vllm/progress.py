"""One progress line per long phase on stderr; silent when stderr is not a terminal.

A phase may also log its progress every `log_every_s` seconds (to run.log, not the console), so that
a run in the background can be followed by its log."""

from __future__ import annotations

import logging
import sys
import threading
import time
from typing import Callable

log = logging.getLogger(__name__)

LOG_EVERY_S = 60.0  # how often a LoadGen test logs its progress


class Progress:
    """Shows `label: N done, T tokens/s` while a phase runs (polling a counter) or as update() is called."""

    def __init__(self, label: str, counter: Callable[[], tuple[int, int]] | None, enabled: bool | None = None,
                 total: int | None = None, interval_s: float = 0.5, log_every_s: float | None = None) -> None:
        self.label = label
        self._counter = counter
        self._total = total
        self._interval = interval_s
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._t0 = time.perf_counter()
        self._done = (0, 0)
        self._log_every = log_every_s
        self._logged = 0.0

    def __enter__(self) -> "Progress":
        self._t0 = time.perf_counter()
        self._logged = self._t0
        if (self.enabled or self._log_every) and self._counter is not None:
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
            if self.enabled:
                self._draw()
            now = time.perf_counter()
            if self._log_every and now - self._logged >= self._log_every:
                self._logged = now
                log.info("%s: %s", self.label, self._text())

    def _text(self) -> str:
        n, tokens = self._done
        secs = max(time.perf_counter() - self._t0, 1e-9)
        parts = [f"{n:,}" + (f"/{self._total:,}" if self._total else "") + " samples"]
        if tokens:
            parts.append(f"{tokens / secs:,.0f} tokens/s")
        parts.append(f"{secs:,.0f} s")
        return ", ".join(parts)

    def _draw(self, final: bool = False) -> None:
        sys.stderr.write(f"\r{self.label}: " + self._text() + ("\n" if final else "\x1b[K"))
        sys.stderr.flush()
