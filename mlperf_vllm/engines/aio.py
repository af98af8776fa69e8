"""An asyncio event loop on its own thread, for engines whose clients are async (AsyncLLM, HTTP).

LoadGen calls the SUT from its own threads; such engines hand each request to this loop as a task
and report through the sink from the loop thread. The loop keeps a reference to every task (asyncio
holds only weak ones) and refuses new work once stopped, so a late submit fails instead of hanging.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Awaitable, Callable, Coroutine, Sequence, TypeVar

T = TypeVar("T")


class LoopThread:
    """A daemon thread running an asyncio loop; run() blocks on a coroutine, spawn() fires tasks."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._lock = threading.Lock()
        self._stopped = False
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    @property
    def stopped(self) -> bool:
        """True once stop() was called."""
        return self._stopped

    @property
    def running(self) -> int:
        """Tasks started by spawn that have not finished (scheduled ones included)."""
        return len(self._tasks)

    def run(self, coro: Awaitable[T], timeout: float | None = None) -> T:
        """Run coro on the loop and wait for its result (from any thread but the loop's)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)  # type: ignore[arg-type]

    def spawn(self, make: Callable[[T], Coroutine[Any, Any, None]], items: Sequence[T]) -> bool:
        """Start make(item) as a task for every item; False (nothing started) once the loop is stopped."""
        def start() -> None:
            for item in items:
                task = self.loop.create_task(make(item))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

        with self._lock:
            if self._stopped:
                return False
            self.loop.call_soon_threadsafe(start)
        return True

    def cancel_running(self) -> int:
        """Cancel every task started by spawn (call on the loop); returns how many."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        return len(tasks)

    async def cancel_all(self) -> None:
        """Cancel every task still running and wait until they have unwound (call on the loop)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the loop and its thread (idempotent); later spawns return False."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            self.loop.call_soon_threadsafe(self.loop.stop)
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)
        if not self._thread.is_alive():
            self.loop.close()
