"""The `cache` section of the configuration file."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SemanticCacheSettings(_Strict):
    """Answer a reworded question from the cache; see router_service/cache/README.md for the trade-offs."""

    enabled: bool = False
    # Cosine similarity of the last user turns, with the default lexical embedding. Chosen from
    # `python -m router_service.cache.evaluation`: on the labelled pairs it keeps precision at 1.0 and
    # recall at its best; a plugged-in embedder needs its own measurement.
    threshold: float = Field(default=0.55, gt=0, le=1)
    # Also require the same content words in the same order (up to typos and inflection). Turning it off
    # trades precision for recall; only sensible with a neural embedder and a higher threshold.
    same_content_words: bool = True
    # Entries in the similarity index of each replica (about 1.5 KB each at the default dimension).
    max_entries: int = Field(default=20_000, ge=1, le=1_000_000)
    # Longer last turns are not matched semantically: they are rarely repeated in other words, and
    # the longer the text, the less one changed word moves the similarity.
    max_query_chars: int = Field(default=500, ge=1)
    # Buckets of the default lexical embedding; more spreads hashing noise thinner, costs scan time.
    lexical_dim: int = Field(default=128, ge=16, le=4096)


class RedisCacheSettings(_Strict):
    """Where the shared cache lives. Bound its memory in Redis itself: maxmemory + volatile-lru."""

    url: str = "redis://127.0.0.1:6379/0"
    # Environment variable holding the password, so the secret stays out of the file.
    password_env: str | None = None
    key_prefix: str = "llm-router:cache:"
    # Per command; a slower Redis counts as down (the request goes on without the cache).
    timeout_s: float = Field(default=0.2, gt=0, le=10)
    # After a failure, skip Redis for this long before trying again, so an outage costs one timeout
    # per interval rather than one per request.
    retry_after_s: float = Field(default=2.0, ge=0, le=600)

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value


class CacheSettings(_Strict):
    """The response cache: exact always (when enabled), semantic by choice; in process or in Redis.

    Off by default: a gateway that silently answers repeated prompts from cache surprises callers who
    expect a fresh answer (sampling at temperature > 0); operators turn it on knowingly."""

    enabled: bool = False
    backend: Literal["memory", "redis"] = "memory"
    ttl_s: float = Field(default=3600.0, gt=0, le=30 * 86400)
    # In-process bound: answer text + key + a fixed per-entry overhead, least recently used out first.
    max_bytes: int = Field(default=64 * 1024 * 1024, ge=64 * 1024)
    # Larger answers are not stored: one of them would push out hundreds of FAQ answers.
    max_entry_bytes: int = Field(default=256 * 1024, ge=1024)
    # False: each tenant has its own entries. True: identical requests of different tenants share one.
    shared_across_tenants: bool = False
    # "provider/model" patterns with shell wildcards ("ollama/*", "*/gpt-5*") whose answers are never
    # stored or served.
    exclude_models: tuple[str, ...] = ()
    # Store answers that stopped at max_output_tokens (finish reason LENGTH): the key holds
    # max_output_tokens, so the same request would be cut at the same place again.
    store_truncated: bool = True
    redis: RedisCacheSettings = RedisCacheSettings()
    semantic: SemanticCacheSettings = SemanticCacheSettings()

    @field_validator("exclude_models")
    @classmethod
    def _check_patterns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            if "/" not in pattern:
                raise ValueError(f"{pattern!r} must be a provider/model pattern, e.g. 'ollama/*'")
        return value

    @model_validator(mode="after")
    def _check_sizes(self) -> CacheSettings:
        if self.max_entry_bytes > self.max_bytes:
            raise ValueError("max_entry_bytes must not exceed max_bytes")
        return self
