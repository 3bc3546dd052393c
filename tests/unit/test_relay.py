"""The stream relay: coalesces only what is already waiting, loses no wake-up, keeps order, re-raises
after relaying the text that came first, and closes the source when the consumer leaves."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import pytest

from router_service.providers.base import TextChunk
from router_service.server.relay import coalesced


async def source(parts: list[str], pause: float = 0.0, fail: Exception | None = None,
                 closed: list[bool] | None = None) -> AsyncGenerator[TextChunk, None]:
    try:
        for part in parts:
            if pause:
                await asyncio.sleep(pause)
            yield TextChunk(part)
        if fail is not None:
            raise fail
    finally:
        if closed is not None:
            closed.append(True)


async def test_a_burst_is_merged_and_nothing_is_lost() -> None:
    # The source never awaits: everything is ready before the first write, and it ends meanwhile.
    out = [text async for text in coalesced(source(["a", "b", "c"]))]
    assert "".join(out) == "abc"


async def test_paced_chunks_go_out_one_by_one() -> None:
    out = [text async for text in coalesced(source(["a", "b", "c"], pause=0.01))]
    assert out == ["a", "b", "c"]


async def test_failure_after_text_relays_the_text_then_raises() -> None:
    seen = []
    with pytest.raises(RuntimeError, match="cut"):
        async for text in coalesced(source(["a", "b"], pause=0.01, fail=RuntimeError("cut"))):
            seen.append(text)
    assert "".join(seen) == "ab"


async def test_leaving_early_closes_the_source() -> None:
    closed: list[bool] = []
    relay = coalesced(source(["a", "b", "c", "d"], pause=0.05, closed=closed))
    assert await anext(relay) == "a"
    await relay.aclose()
    assert closed == [True]
