"""The shared store: exact entries in Redis, so every replica answers from one cache.

Redis being down or slow never fails a request: a failed command counts as a miss (or a skipped store),
logs a warning at most once per interval, and makes the store skip Redis for `retry_after_s` so an
outage costs one timeout per interval instead of one per request. After that the next command tries
again on fresh connections, so the cache comes back by itself with Redis.

Entries expire through Redis (SET ... PX). The byte bound is Redis's own: run it with `maxmemory` and
`maxmemory-policy volatile-lru` (every cache key has a TTL, so this evicts only cache keys when the
instance is shared) or `allkeys-lru` on an instance of its own.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Mapping

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from router_service.cache.answer import CachedAnswer
from router_service.cache.codec import UndecodableAnswer, decode_answer, encode_answer
from router_service.cache.log_throttle import ThrottledWarning
from router_service.cache.settings import RedisCacheSettings
from router_service.cache.store import StoreCounters

log = logging.getLogger(__name__)


def connect(settings: RedisCacheSettings, environ: Mapping[str, str] | None = None) -> Redis:
    """A client that fails fast: short socket timeouts, no retries (the store has its own back-off)."""
    environ = os.environ if environ is None else environ
    password = environ.get(settings.password_env) if settings.password_env else None
    return Redis.from_url(
        settings.url,
        password=password or None,
        socket_timeout=settings.timeout_s,
        socket_connect_timeout=settings.timeout_s,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=0,
    )


class RedisStore:
    name = "redis"

    def __init__(
        self,
        client: Redis,
        *,
        ttl_s: float,
        key_prefix: str,
        retry_after_s: float,
        clock: Callable[[], float] = time.monotonic,
        warning_interval_s: float = 30.0,
    ) -> None:
        self._client = client
        self._ttl_ms = max(1, round(ttl_s * 1000))
        self._prefix = key_prefix.encode("utf-8")
        self._retry_after_s = retry_after_s
        self._clock = clock
        self._down_until = float("-inf")
        self._down = False
        self._errors = 0
        self._warning = ThrottledWarning(log, warning_interval_s, clock)

    def _name(self, key: bytes) -> bytes:
        return self._prefix + key.hex().encode("ascii")

    async def get(self, key: bytes) -> CachedAnswer | None:
        if self._clock() < self._down_until:
            return None
        try:
            raw = await self._client.get(self._name(key))
        except (RedisError, OSError) as exc:
            await self._failed("lookup", exc)
            return None
        self._recovered()
        if raw is None:
            return None
        try:
            return decode_answer(raw if isinstance(raw, bytes) else raw.encode("utf-8"))
        except UndecodableAnswer as exc:
            self._warning.warn("response cache: unreadable entry in Redis treated as a miss: %s", exc)
            return None

    async def put(self, key: bytes, answer: CachedAnswer) -> bool:
        if self._clock() < self._down_until:
            return False
        try:
            await self._client.set(self._name(key), encode_answer(answer), px=self._ttl_ms)
        except (RedisError, OSError) as exc:
            await self._failed("store", exc)
            return False
        self._recovered()
        return True

    async def _failed(self, what: str, exc: Exception) -> None:
        self._errors += 1
        self._down = True
        self._down_until = self._clock() + self._retry_after_s
        self._warning.warn(
            "response cache: Redis %s failed (%s: %s); serving without the cache, next try in %.1fs",
            what,
            type(exc).__name__,
            exc,
            self._retry_after_s,
        )
        # Pooled connections to a restarted server are all stale; drop them so the next try connects anew.
        with contextlib.suppress(RedisError, OSError):
            await self._client.connection_pool.disconnect()

    def _recovered(self) -> None:
        if self._down:
            self._down = False
            log.info("response cache: Redis reachable again")

    def counters(self) -> StoreCounters:
        return StoreCounters(errors=self._errors)

    async def aclose(self) -> None:
        await self._client.aclose()
