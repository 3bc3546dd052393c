"""The response cache: exact and semantic, in process or in Redis. See README.md beside this file."""

from router_service.cache.answer import CachedAnswer, CacheHit, CacheRequest, CacheStats
from router_service.cache.embedding import Embedder, LexicalEmbedder
from router_service.cache.keys import RoutingDefaults
from router_service.cache.replay import replay_chunks
from router_service.cache.response_cache import ResponseCache, build_cache
from router_service.cache.settings import CacheSettings, RedisCacheSettings, SemanticCacheSettings

__all__ = [
    "CacheHit",
    "CacheRequest",
    "CacheSettings",
    "CacheStats",
    "CachedAnswer",
    "Embedder",
    "LexicalEmbedder",
    "RedisCacheSettings",
    "ResponseCache",
    "RoutingDefaults",
    "SemanticCacheSettings",
    "build_cache",
    "replay_chunks",
]
