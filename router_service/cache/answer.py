"""What the cache is asked, what it keeps, and what it answers."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

from router_service.domain import ChatMessage, FinishReason, GenerationParams, ModelRef, Usage
from router_service.strategy.plan import RoutingPreferences


@dataclass(frozen=True, slots=True)
class CacheRequest:
    """The parts of a request that decide its answer, plus the caller's cache control."""

    tenant: str
    messages: tuple[ChatMessage, ...]
    params: GenerationParams = GenerationParams()
    preferences: RoutingPreferences = field(default_factory=RoutingPreferences)
    # From the request's CacheControl.
    no_lookup: bool = False
    no_store: bool = False


@dataclass(frozen=True, slots=True)
class CachedAnswer:
    """A complete answer as the model gave it, with what it cost then."""

    text: str
    model: ModelRef
    usage: Usage
    finish_reason: FinishReason
    cost_nano_usd: int
    # Unix time the answer was produced.
    created_at: float = field(default_factory=time.time)


@dataclass(frozen=True, slots=True)
class CacheHit:
    answer: CachedAnswer
    kind: Literal["exact", "semantic"]
    # 1.0 for an exact hit; the cosine similarity of the last user turns for a semantic one.
    similarity: float = 1.0

    @property
    def saved_cost_nano_usd(self) -> int:
        """What answering from the cache avoided: the original answer's cost."""
        return self.answer.cost_nano_usd


@dataclass(frozen=True, slots=True)
class CacheStats:
    """Counters since start, and the current size (None where the backend cannot tell without I/O)."""

    backend: str
    hits_exact: int
    hits_semantic: int
    misses: int
    # Lookups skipped: no_lookup, or a forced model the configuration never caches.
    bypasses: int
    stores: int
    # Answers not stored: no_store, excluded model, finish reason, too large, or the backend was down.
    stores_refused: int
    # Entries pushed out of the in-process store by its byte bound.
    evictions: int
    expirations: int
    # Failures (Redis down or slow, an embedder that raised); each one degraded to a miss or a skipped store.
    errors: int
    entries: int | None
    bytes: int | None
    semantic_entries: int
    # Estimated memory of the similarity index.
    semantic_bytes: int
    # Rows pushed out of the similarity index by semantic.max_entries.
    semantic_evictions: int
