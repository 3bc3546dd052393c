"""The Redis backend against a real redis-server: sharing, expiry, and an outage in the middle of a run."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

import pytest
from redis.asyncio import Redis

from router_service.cache import CacheSettings, ResponseCache, build_cache
from router_service.cache.codec import encode_answer
from router_service.cache.log_throttle import ThrottledWarning
from tests.cache.conftest import FakeClock, RedisServer, answer, ask


def make(server: RedisServer, **settings: Any) -> ResponseCache:
    redis = {"url": server.url, "retry_after_s": 0.05, "timeout_s": 0.5, **settings.pop("redis", {})}
    cache = build_cache(CacheSettings.model_validate({"enabled": True, "backend": "redis", "redis": redis, **settings}))
    assert cache is not None
    return cache


async def test_replicas_share_entries(redis_server: RedisServer) -> None:
    one, two = make(redis_server), make(redis_server)
    try:
        assert await one.lookup(ask("What are your hours?")) is None
        await one.store(ask("What are your hours?"), answer(cost=777))
        hit = await two.lookup(ask("What are your hours?"))
        assert hit is not None and hit.kind == "exact"
        assert hit.answer == answer(cost=777)
        stats = two.stats()
        assert stats.backend == "redis" and stats.hits_exact == 1 and stats.entries is None
    finally:
        await one.aclose()
        await two.aclose()


async def test_entries_expire_in_redis(redis_server: RedisServer) -> None:
    cache = make(redis_server, ttl_s=0.2)
    try:
        await cache.store(ask("Hi"), answer())
        assert await cache.lookup(ask("Hi")) is not None
        await asyncio.sleep(0.35)
        assert await cache.lookup(ask("Hi")) is None
    finally:
        await cache.aclose()


async def test_keys_carry_the_prefix_and_a_ttl(redis_server: RedisServer) -> None:
    cache = make(redis_server, ttl_s=120, redis={"key_prefix": "test:"})
    client = Redis.from_url(redis_server.url)
    try:
        await cache.store(ask("Hi"), answer())
        keys = await client.keys("test:*")
        assert len(keys) == 1
        assert 0 < await client.pttl(keys[0]) <= 120_000
    finally:
        await client.aclose()
        await cache.aclose()


async def test_unreadable_entries_are_misses(redis_server: RedisServer, caplog: pytest.LogCaptureFixture) -> None:
    cache = make(redis_server, redis={"key_prefix": "p:"})
    client = Redis.from_url(redis_server.url)
    try:
        await cache.store(ask("Hi"), answer())
        (name,) = await client.keys("p:*")
        await client.set(name, b"not json")
        with caplog.at_level(logging.WARNING):
            assert await cache.lookup(ask("Hi")) is None
        assert "unreadable entry" in caplog.text
        await client.set(name, encode_answer(answer()).replace(b'"v":1', b'"v":99'))
        assert await cache.lookup(ask("Hi")) is None
    finally:
        await client.aclose()
        await cache.aclose()


async def test_semantic_hits_through_redis_and_replicas_learn_from_exact_hits(redis_server: RedisServer) -> None:
    one = make(redis_server, semantic={"enabled": True})
    two = make(redis_server, semantic={"enabled": True})
    try:
        await one.store(ask("What are your hours?"), answer())
        hit = await one.lookup(ask("hi, what are your hours please"))
        assert hit is not None and hit.kind == "semantic"
        # Replica two has no row yet; an exact hit there indexes the question, then rewordings hit too.
        assert await two.lookup(ask("hi, what are your hours please")) is None
        assert await two.lookup(ask("What are your hours?")) is not None
        hit = await two.lookup(ask("hi, what are your hours please"))
        assert hit is not None and hit.kind == "semantic"
    finally:
        await one.aclose()
        await two.aclose()


async def test_outage_mid_run_degrades_to_no_cache_then_recovers(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    cache = make(redis_server)
    try:
        await cache.store(ask("Hi"), answer())
        assert await cache.lookup(ask("Hi")) is not None

        redis_server.stop()
        with caplog.at_level(logging.WARNING, logger="router_service.cache.redis_store"):
            for _ in range(20):
                assert await cache.lookup(ask("Hi")) is None  # a miss, never an exception
                await cache.store(ask("Hi"), answer())  # skipped, never an exception
                await asyncio.sleep(0.01)
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert 1 <= len(warnings) <= 2, "warnings are rate-limited, not one per request"
        assert "serving without the cache" in warnings[0].getMessage()
        stats = cache.stats()
        assert stats.errors >= 1 and stats.hits_exact == 1

        redis_server.start()  # same port, empty (no persistence)
        await asyncio.sleep(0.1)  # past retry_after_s
        recovered = False
        for _ in range(50):
            await cache.store(ask("Hi"), answer("after"))
            hit = await cache.lookup(ask("Hi"))
            if hit is not None:
                assert hit.answer.text == "after"
                recovered = True
                break
            await asyncio.sleep(0.05)
        assert recovered, "the cache did not come back with Redis"
    finally:
        await cache.aclose()


async def test_unreachable_redis_at_start_is_a_miss(caplog: pytest.LogCaptureFixture) -> None:
    from tests.cache.conftest import free_port

    settings = {"url": f"redis://127.0.0.1:{free_port()}/0", "timeout_s": 0.2, "retry_after_s": 30}
    cache = build_cache(CacheSettings.model_validate({"enabled": True, "backend": "redis", "redis": settings}))
    assert cache is not None
    try:
        with caplog.at_level(logging.WARNING):
            assert await cache.lookup(ask("Hi")) is None
            await cache.store(ask("Hi"), answer())
            assert await cache.lookup(ask("Hi")) is None
        # One failure opens a 30 s window in which Redis is not tried at all.
        assert cache.stats().errors == 1
    finally:
        await cache.aclose()


def test_throttled_warning_counts_what_it_held_back(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    warning = ThrottledWarning(logging.getLogger("t"), interval_s=10, clock=clock)
    with caplog.at_level(logging.WARNING):
        assert warning.warn("down")
        assert not warning.warn("down")
        assert not warning.warn("down")
        clock.advance(10)
        assert warning.warn("down")
    assert [r.getMessage() for r in caplog.records] == ["down", "down (2 similar warnings held back)"]


async def test_a_hung_redis_costs_one_timeout_then_is_skipped(redis_server: RedisServer) -> None:
    assert redis_server.process is not None
    cache = make(redis_server, redis={"timeout_s": 0.2, "retry_after_s": 0.5})
    try:
        await cache.store(ask("Hi"), answer())
        redis_server.process.send_signal(signal.SIGSTOP)  # accepts connections, never answers
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert await cache.lookup(ask("Hi")) is None
        assert loop.time() - started < 1.0
        started = loop.time()
        for _ in range(10):
            assert await cache.lookup(ask("Hi")) is None
        assert loop.time() - started < 0.1, "inside retry_after_s Redis is not waited on"
        redis_server.process.send_signal(signal.SIGCONT)
        await asyncio.sleep(0.6)
        assert await cache.lookup(ask("Hi")) is not None
    finally:
        if redis_server.process is not None:
            redis_server.process.send_signal(signal.SIGCONT)
        await cache.aclose()
