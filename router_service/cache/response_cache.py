"""The response cache the server wires in: look a request up before routing, store its answer after.

Exact first (a dictionary lookup on the canonical key), then, when enabled, semantic (the same context
and a last user turn similar enough to a cached one). Every failure inside degrades to a miss.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping

from router_service.cache.answer import CachedAnswer, CacheHit, CacheRequest, CacheStats
from router_service.cache.embedding import Embedder, LexicalEmbedder
from router_service.cache.exclusion import ModelExclusion
from router_service.cache.guard import shape_of
from router_service.cache.keys import KeyBuilder, RequestKeys, RoutingDefaults
from router_service.cache.log_throttle import ThrottledWarning
from router_service.cache.semantic import SemanticIndex
from router_service.cache.settings import CacheSettings, SemanticCacheSettings
from router_service.cache.store import AnswerStore, InMemoryStore, entry_size
from router_service.domain import FinishReason

log = logging.getLogger(__name__)


class ResponseCache:
    def __init__(
        self,
        settings: CacheSettings,
        store: AnswerStore,
        *,
        keys: KeyBuilder,
        semantic: SemanticIndex | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        if (semantic is None) != (embedder is None):
            raise ValueError("semantic index and embedder go together")
        self._settings = settings
        self._store = store
        self._keys = keys
        self._semantic = semantic
        self._embedder = embedder
        self._excluded = ModelExclusion(settings.exclude_models)
        storable = {FinishReason.STOP}
        if settings.store_truncated:
            storable.add(FinishReason.LENGTH)
        # CONTENT_FILTER, TOOL_CALLS and UNKNOWN answers are not complete text answers worth replaying.
        self._storable = frozenset(storable)
        self._hits_exact = 0
        self._hits_semantic = 0
        self._misses = 0
        self._bypasses = 0
        self._stores = 0
        self._refused = 0
        self._failures = 0
        self._warning = ThrottledWarning(log)

    def bypassed(self, request: CacheRequest) -> bool:
        """Whether `lookup` will skip this request (so the caller can report a bypass, not a miss)."""
        return request.no_lookup or self._excluded.excludes_forced(request.preferences.force_model)

    async def lookup(self, request: CacheRequest) -> CacheHit | None:
        """The cached answer for this request, or None (a miss, a bypass, or a failure inside the cache)."""
        if self.bypassed(request):
            self._bypasses += 1
            return None
        try:
            hit = await self._lookup(request)
        except Exception:
            # A cache must never fail the request it was meant to make cheaper (a plugged-in embedder
            # that raises, a bug): log it, loudly but not per request, and answer without the cache.
            self._failures += 1
            self._warning.warn("response cache: lookup failed; answering without the cache", exc_info=True)
            hit = None
        if hit is None:
            self._misses += 1
        elif hit.kind == "exact":
            self._hits_exact += 1
        else:
            self._hits_semantic += 1
        return hit

    async def _lookup(self, request: CacheRequest) -> CacheHit | None:
        keys = self._keys.keys(request)
        answer = await self._store.get(keys.exact)
        if answer is not None and not self._excluded.excludes(answer.model):
            if self._semantic is not None and keys.exact not in self._semantic:
                # Served from a shared store: index it here too, so its rewordings hit on this replica.
                self._index(keys)
            return CacheHit(answer, "exact", 1.0)
        if self._semantic is not None:
            return await self._semantic_lookup(keys)
        return None

    async def _semantic_lookup(self, keys: RequestKeys) -> CacheHit | None:
        assert self._semantic is not None and self._embedder is not None
        text = keys.last_user_text
        if text is None or len(text) > self._semantic_settings.max_query_chars:
            return None
        vector = self._embedder.embed(text)
        for match in self._semantic.matches(keys.context, vector, shape_of(text)):
            answer = await self._store.get(match.key)
            if answer is None:
                self._semantic.remove(match.key)  # expired or evicted from the store
                continue
            if self._excluded.excludes(answer.model):
                continue
            self._semantic.touch(match.key)
            return CacheHit(answer, "semantic", match.similarity)
        return None

    async def store(self, request: CacheRequest, answer: CachedAnswer) -> None:
        """Keep a complete answer; refuses (silently, counted) what must not be replayed. Never raises."""
        try:
            stored = await self._store_answer(request, answer)
        except Exception:
            self._failures += 1
            self._warning.warn("response cache: store failed; the answer is not cached", exc_info=True)
            stored = False
        if stored:
            self._stores += 1
        else:
            self._refused += 1

    async def _store_answer(self, request: CacheRequest, answer: CachedAnswer) -> bool:
        if (
            request.no_store
            or answer.finish_reason not in self._storable
            or not answer.text
            or self._excluded.excludes(answer.model)
        ):
            return False
        keys = self._keys.keys(request)
        if entry_size(keys.exact, answer) > self._settings.max_entry_bytes:
            return False
        if not await self._store.put(keys.exact, answer):
            return False
        if self._semantic is not None:
            self._index(keys)
        return True

    def _index(self, keys: RequestKeys) -> None:
        assert self._semantic is not None and self._embedder is not None
        text = keys.last_user_text
        if text is None or len(text) > self._semantic_settings.max_query_chars:
            return
        try:
            vector = self._embedder.embed(text)
        except Exception:
            # The exact entry stands; only its rewordings will not hit.
            self._failures += 1
            self._warning.warn("response cache: embedding failed; entry not indexed for similarity", exc_info=True)
            return
        self._semantic.add(keys.context, keys.exact, vector, shape_of(text))

    @property
    def _semantic_settings(self) -> SemanticCacheSettings:
        return self._settings.semantic

    def stats(self) -> CacheStats:
        store = self._store.counters()
        semantic = self._semantic
        return CacheStats(
            backend=self._store.name,
            hits_exact=self._hits_exact,
            hits_semantic=self._hits_semantic,
            misses=self._misses,
            bypasses=self._bypasses,
            stores=self._stores,
            stores_refused=self._refused,
            evictions=store.evictions,
            expirations=store.expirations,
            errors=store.errors + self._failures,
            entries=store.entries,
            bytes=store.bytes,
            semantic_entries=len(semantic) if semantic is not None else 0,
            semantic_bytes=semantic.nbytes if semantic is not None else 0,
            semantic_evictions=semantic.evictions if semantic is not None else 0,
        )

    async def aclose(self) -> None:
        await self._store.aclose()


def build_cache(
    settings: CacheSettings,
    *,
    routing_defaults: RoutingDefaults | None = None,
    embedder: Embedder | None = None,
    clock: Callable[[], float] = time.monotonic,
    environ: Mapping[str, str] | None = None,
) -> ResponseCache | None:
    """The configured cache, or None when disabled. Connects to nothing yet: Redis is dialled on first use."""
    if not settings.enabled:
        return None
    keys = KeyBuilder(shared_across_tenants=settings.shared_across_tenants, routing_defaults=routing_defaults)
    semantic: SemanticIndex | None = None
    if settings.semantic.enabled:
        embedder = embedder or LexicalEmbedder(settings.semantic.lexical_dim)
        semantic = SemanticIndex(
            dim=embedder.dim,
            max_entries=settings.semantic.max_entries,
            threshold=settings.semantic.threshold,
            same_content_words=settings.semantic.same_content_words,
        )
    else:
        embedder = None
    store: AnswerStore
    if settings.backend == "redis":
        from router_service.cache.redis_store import RedisStore, connect

        store = RedisStore(
            connect(settings.redis, environ),
            ttl_s=settings.ttl_s,
            key_prefix=settings.redis.key_prefix,
            retry_after_s=settings.redis.retry_after_s,
            clock=clock,
        )
    else:
        store = InMemoryStore(
            max_bytes=settings.max_bytes,
            ttl_s=settings.ttl_s,
            clock=clock,
            # Evicted and expired entries take their semantic rows with them.
            on_remove=semantic.remove if semantic is not None else None,
        )
    return ResponseCache(settings, store, keys=keys, semantic=semantic, embedder=embedder)
