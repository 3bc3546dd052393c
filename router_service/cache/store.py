"""Where exact entries live: the `AnswerStore` seam and the in-process LRU with TTL and a byte bound."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from router_service.cache.answer import CachedAnswer

# Python objects around each entry beyond the answer text and the key: the LRU node, the entry and
# answer records, usage, model reference and boxed numbers. Measured with tracemalloc by
# bench/bench_cache.py (about 0.5 KB); rounded up so the byte bound is an upper bound.
ENTRY_OVERHEAD_BYTES = 600


class AnswerStore(Protocol):
    """Exact entries by key. Failures degrade to a miss or a skipped store; they never raise."""

    name: str

    async def get(self, key: bytes) -> CachedAnswer | None: ...

    async def put(self, key: bytes, answer: CachedAnswer) -> bool: ...

    def counters(self) -> StoreCounters: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class StoreCounters:
    evictions: int = 0
    expirations: int = 0
    errors: int = 0
    # None when the store cannot tell without a round trip (Redis).
    entries: int | None = None
    bytes: int | None = None


def entry_size(key: bytes, answer: CachedAnswer) -> int:
    """Bytes an entry counts against the bound."""
    return len(answer.text.encode("utf-8")) + len(key) + ENTRY_OVERHEAD_BYTES


@dataclass(slots=True)
class _Entry:
    answer: CachedAnswer
    expires_at: float
    size: int


class InMemoryStore:
    """Least recently used entries leave first once the byte bound is passed; each lives `ttl_s` at most.

    Expired entries are dropped when looked up or when they reach the cold end of the LRU; until then
    they still count against the bound, which keeps the bound honest without a sweeper task.
    """

    name = "memory"

    def __init__(
        self,
        *,
        max_bytes: int,
        ttl_s: float,
        clock: Callable[[], float] = time.monotonic,
        on_remove: Callable[[bytes], None] | None = None,
    ) -> None:
        self._max_bytes = max_bytes
        self._ttl_s = ttl_s
        self._clock = clock
        # Told about every entry that leaves, so the semantic index can drop its row.
        self._on_remove = on_remove
        self._entries: OrderedDict[bytes, _Entry] = OrderedDict()
        self._bytes = 0
        self._evictions = 0
        self._expirations = 0

    async def get(self, key: bytes) -> CachedAnswer | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires_at <= self._clock():
            self._drop(key)
            self._expirations += 1
            return None
        self._entries.move_to_end(key)
        return entry.answer

    async def put(self, key: bytes, answer: CachedAnswer) -> bool:
        size = entry_size(key, answer)
        if size > self._max_bytes:
            return False
        if key in self._entries:
            self._bytes -= self._entries.pop(key).size
        self._entries[key] = _Entry(answer, self._clock() + self._ttl_s, size)
        self._bytes += size
        now = self._clock()
        while self._bytes > self._max_bytes:
            old_key, old = next(iter(self._entries.items()))
            self._drop(old_key)
            if old.expires_at <= now:
                self._expirations += 1
            else:
                self._evictions += 1
        return True

    def _drop(self, key: bytes) -> None:
        self._bytes -= self._entries.pop(key).size
        if self._on_remove is not None:
            self._on_remove(key)

    def counters(self) -> StoreCounters:
        return StoreCounters(
            evictions=self._evictions,
            expirations=self._expirations,
            entries=len(self._entries),
            bytes=self._bytes,
        )

    async def aclose(self) -> None:
        self._entries.clear()
        self._bytes = 0
