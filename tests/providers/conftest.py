from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from router_service.providers.base import ProviderAdapter
from tests.providers.adapter_harness import make_adapter
from tests.providers.wire_server import WireServer


@pytest.fixture
async def wire() -> AsyncIterator[WireServer]:
    async with WireServer() as server:
        yield server


@pytest.fixture
async def adapters() -> AsyncIterator[Callable[..., ProviderAdapter]]:
    """`adapters(kind, base_url, **options)`: a real adapter, closed after the test."""
    made: list[ProviderAdapter] = []

    def build(*args: Any, **kwargs: Any) -> ProviderAdapter:
        adapter = make_adapter(*args, **kwargs)
        made.append(adapter)
        return adapter

    yield build
    for adapter in made:
        await adapter.aclose()
