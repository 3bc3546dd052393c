"""The exact cache in process: hits, misses, TTL, the byte bound, tenants, opt-outs and what is stored."""

from __future__ import annotations

from typing import Any

import pytest

from router_service.cache import CacheSettings, ResponseCache, build_cache
from router_service.cache.store import ENTRY_OVERHEAD_BYTES, InMemoryStore
from router_service.domain import FinishReason, GenerationParams, ModelRef
from router_service.strategy.plan import RoutingPreferences
from tests.cache.conftest import FakeClock, answer, ask


def make(clock: FakeClock | None = None, **settings: Any) -> ResponseCache:
    cache = build_cache(CacheSettings.model_validate({"enabled": True, **settings}), clock=clock or FakeClock())
    assert cache is not None
    return cache


def test_disabled_cache_is_none() -> None:
    assert build_cache(CacheSettings(enabled=False)) is None
    assert build_cache(CacheSettings()) is None  # off unless the operator turns it on
    assert build_cache(CacheSettings(enabled=True)) is not None


async def test_miss_then_store_then_exact_hit_keeps_model_usage_text_and_cost() -> None:
    cache = make()
    request = ask("What are your hours?")
    assert await cache.lookup(request) is None
    original = answer(cost=98_765)
    await cache.store(request, original)
    hit = await cache.lookup(ask("  What are your hours? "))
    assert hit is not None
    assert hit.kind == "exact" and hit.similarity == 1.0
    assert hit.answer == original
    assert hit.saved_cost_nano_usd == 98_765
    stats = cache.stats()
    assert (stats.hits_exact, stats.misses, stats.stores, stats.entries) == (1, 1, 1, 1)
    assert stats.backend == "memory"


async def test_different_parameters_miss() -> None:
    cache = make()
    await cache.store(ask("Hi"), answer())
    assert await cache.lookup(ask("Hi", params=GenerationParams(max_output_tokens=10))) is None
    assert await cache.lookup(ask("Hi", params=GenerationParams(temperature=1.0))) is not None


async def test_entries_expire_after_ttl() -> None:
    clock = FakeClock()
    cache = make(clock, ttl_s=60)
    await cache.store(ask("Hi"), answer())
    clock.advance(59.9)
    assert await cache.lookup(ask("Hi")) is not None
    clock.advance(0.2)
    assert await cache.lookup(ask("Hi")) is None
    stats = cache.stats()
    assert stats.expirations == 1 and stats.entries == 0 and stats.bytes == 0


async def test_byte_bound_evicts_least_recently_used() -> None:
    text = "x" * 10_000
    per_entry = len(text) + 32 + ENTRY_OVERHEAD_BYTES
    cache = make(max_bytes=max(64 * 1024, per_entry * 7 + 100), max_entry_bytes=per_entry)
    for i in range(7):
        await cache.store(ask(f"question {i}"), answer(text))
    assert cache.stats().entries == 7 and cache.stats().evictions == 0
    assert await cache.lookup(ask("question 0")) is not None  # now the most recently used
    await cache.store(ask("question 7"), answer(text))
    stats = cache.stats()
    assert stats.evictions == 1 and stats.entries == 7
    assert stats.bytes is not None and stats.bytes <= max(64 * 1024, per_entry * 7 + 100)
    assert await cache.lookup(ask("question 1")) is None  # the least recently used left
    assert await cache.lookup(ask("question 0")) is not None


async def test_store_bound_counts_text_key_and_overhead() -> None:
    store = InMemoryStore(max_bytes=3000, ttl_s=10)
    key = b"k" * 32
    assert await store.put(key, answer("é" * 100))
    assert store.counters().bytes == 200 + 32 + ENTRY_OVERHEAD_BYTES  # UTF-8 bytes, not characters
    assert not await store.put(b"big", answer("x" * 3000))  # larger than the whole bound


async def test_answers_larger_than_max_entry_bytes_are_refused() -> None:
    cache = make(max_entry_bytes=2048)
    await cache.store(ask("Hi"), answer("x" * 4096))
    assert await cache.lookup(ask("Hi")) is None
    assert cache.stats().stores_refused == 1


async def test_tenants_are_isolated_unless_shared() -> None:
    isolated = make()
    await isolated.store(ask("Hi", tenant="a"), answer())
    assert await isolated.lookup(ask("Hi", tenant="b")) is None
    assert await isolated.lookup(ask("Hi", tenant="a")) is not None

    shared = make(shared_across_tenants=True)
    await shared.store(ask("Hi", tenant="a"), answer())
    assert await shared.lookup(ask("Hi", tenant="b")) is not None


async def test_request_opt_outs() -> None:
    cache = make()
    await cache.store(ask("Hi", no_store=True), answer())
    assert await cache.lookup(ask("Hi")) is None
    await cache.store(ask("Hi"), answer())
    request = ask("Hi", no_lookup=True)
    assert cache.bypassed(request)
    assert await cache.lookup(request) is None
    stats = cache.stats()
    assert stats.bypasses == 1 and stats.stores_refused == 1 and stats.misses == 1


async def test_excluded_models_are_never_stored_or_served() -> None:
    cache = make(exclude_models=("ollama/*", "*/gpt-5-pro"))
    await cache.store(ask("a"), answer(model="ollama/llama3.3"))
    await cache.store(ask("b"), answer(model="openai/gpt-5-pro"))
    await cache.store(ask("c"), answer(model="OpenAI/gpt-5-mini"))
    assert await cache.lookup(ask("a")) is None
    assert await cache.lookup(ask("b")) is None
    assert await cache.lookup(ask("c")) is not None


def test_requests_forcing_an_excluded_model_bypass_the_cache() -> None:
    cache = make(exclude_models=("ollama/*", "openai/gpt-5-pro"))

    def forcing(provider: str, model: str = "") -> bool:
        return cache.bypassed(ask("c", preferences=RoutingPreferences(force_model=ModelRef(provider, model))))

    assert forcing("ollama")
    assert forcing("openai", "gpt-5-pro")
    assert not forcing("openai", "gpt-5-mini")
    assert forcing("openai")  # a provider-only force may land on the excluded model
    assert not forcing("anthropic")


async def test_entries_stored_before_a_model_was_excluded_are_not_served() -> None:
    store = InMemoryStore(max_bytes=1 << 20, ttl_s=60)
    before = make()
    settings = CacheSettings(enabled=True, exclude_models=("openai/*",))
    after = ResponseCache(settings, store, keys=before._keys)
    await store.put(before._keys.keys(ask("Hi")).exact, answer(model="openai/gpt-5-mini"))
    assert await after.lookup(ask("Hi")) is None


@pytest.mark.parametrize(
    ("finish", "store_truncated", "stored"),
    [
        (FinishReason.STOP, True, True),
        (FinishReason.LENGTH, True, True),
        (FinishReason.LENGTH, False, False),
        (FinishReason.CONTENT_FILTER, True, False),
        (FinishReason.TOOL_CALLS, True, False),
        (FinishReason.UNKNOWN, True, False),
    ],
)
async def test_only_complete_answers_are_stored(finish: FinishReason, store_truncated: bool, stored: bool) -> None:
    cache = make(store_truncated=store_truncated)
    await cache.store(ask("Hi"), answer(finish=finish))
    assert (await cache.lookup(ask("Hi")) is not None) is stored


async def test_empty_answers_are_not_stored() -> None:
    cache = make()
    await cache.store(ask("Hi"), answer(""))
    assert await cache.lookup(ask("Hi")) is None


async def test_storing_again_replaces_the_entry() -> None:
    cache = make()
    await cache.store(ask("Hi"), answer("first"))
    await cache.store(ask("Hi"), answer("second"))
    hit = await cache.lookup(ask("Hi"))
    assert hit is not None and hit.answer.text == "second"
    assert cache.stats().entries == 1


async def test_aclose_empties_the_in_process_store() -> None:
    cache = make()
    await cache.store(ask("Hi"), answer())
    await cache.aclose()
    assert cache.stats().entries == 0
