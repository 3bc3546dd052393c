"""Relaying a stream to gRPC without one message per upstream chunk.

A pump task reads the executor's events into a buffer; the gRPC writer sends whatever text has
accumulated each time it is free. Nothing waits to be merged (the first delta goes out as soon as it
arrives), but when the upstream produces chunks faster than gRPC writes messages, several chunks ride in
one message, so the per-message cost of gRPC is paid per write rather than per chunk. The pump starts at
construction, so the upstream call overlaps whatever the handler writes first (the decision event).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator

from router_service.providers.base import TextChunk


class CoalescingRelay:
    def __init__(self, events: AsyncGenerator[TextChunk, None]) -> None:
        self._events = events
        self._pending: list[str] = []
        self._ready = asyncio.Event()
        self._finished = False
        self._failure: BaseException | None = None
        self._task = asyncio.get_running_loop().create_task(self._pump())

    async def _pump(self) -> None:
        try:
            async for event in self._events:
                self._pending.append(event.text)
                self._ready.set()
        except BaseException as exc:  # handed to the writer, which re-raises it in the handler's task
            self._failure = exc
        finally:
            self._finished = True
            self._ready.set()

    async def texts(self) -> AsyncIterator[str]:
        pending = self._pending
        while True:
            if pending:
                text = pending[0] if len(pending) == 1 else "".join(pending)
                pending.clear()
                yield text
                continue
            if self._finished:
                if self._failure is not None:
                    raise self._failure
                return
            # Nothing to send: sleep until the pump adds text or ends (checked above, with no await in
            # between, so a wake-up cannot be lost).
            self._ready.clear()
            await self._ready.wait()

    async def aclose(self) -> None:
        """Stop reading: cancels the upstream read (closing it, so the executor accounts for what was
        consumed) unless it already ended."""
        if not self._task.done():
            self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        await self._events.aclose()


async def coalesced(events: AsyncGenerator[TextChunk, None]) -> AsyncIterator[str]:
    relay = CoalescingRelay(events)
    try:
        async for text in relay.texts():
            yield text
    finally:
        await relay.aclose()
