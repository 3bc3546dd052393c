"""Per-deployment concurrency limit with a bounded wait queue: a full queue refuses at once."""

from __future__ import annotations

import asyncio
from collections import deque


class QueueFull(Exception):
    """The deployment is at its concurrency limit and its wait queue is full."""


class ConcurrencyLimit:
    def __init__(self, max_concurrency: int, max_queue: int) -> None:
        self.max_concurrency = max_concurrency
        self.max_queue = max_queue
        self.in_flight = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    async def acquire(self) -> None:
        if self.in_flight < self.max_concurrency and not self._waiters:
            self.in_flight += 1
            return
        if len(self._waiters) >= self.max_queue:
            raise QueueFull(f"{self.in_flight} calls in flight and {len(self._waiters)} waiting")
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except BaseException:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
            elif waiter.done() and not waiter.cancelled():
                # We were handed a slot but are leaving: pass it on.
                self.release()
            raise

    def release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot moves to the waiter: in_flight unchanged
                return
        self.in_flight -= 1
