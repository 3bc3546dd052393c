"""Cache keys: SHA-256 over a canonical form of everything that decides an answer.

Requests that mean the same must hash the same (other gateways' caches never hit because equal requests
hashed differently), and requests a model could answer differently must not. The canonical form:
- scope: the tenant, or "*" when the cache is shared across tenants;
- messages: role, name and content, content through `text.normalise_for_key` (whitespace and Unicode
  form only, never case);
- generation parameters with defaults filled: temperature and top_p unset mean 1.0 (the default of
  OpenAI, Anthropic and Gemini), stop sequences as a sorted set, floats rounded to 6 decimals;
  max_output_tokens and seed unset stay unset (provider defaults for them differ, so unset is not any
  particular value);
- routing preferences: sets sorted, floats rounded, and an unset strategy or user tier equal to the
  configured default when the defaults are given (`RoutingDefaults`).
Every variable-length field is length-prefixed, so no content can imitate a separator.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

from router_service.cache.answer import CacheRequest
from router_service.cache.text import normalise_for_key
from router_service.domain import GenerationParams, Role
from router_service.strategy.plan import RoutingPreferences

# Bump when the canonical form changes, so old entries (in Redis) can never be read with a new meaning.
KEY_VERSION = "llm-router-cache-v1"
_DEFAULT_TEMPERATURE = 1.0
_DEFAULT_TOP_P = 1.0


@dataclass(frozen=True, slots=True)
class RoutingDefaults:
    """The configured defaults that an unset strategy or user tier stands for."""

    strategy: str | None = None
    user_tier: str | None = None


@dataclass(frozen=True, slots=True)
class RequestKeys:
    # Over the whole canonical request.
    exact: bytes
    # Over everything but the last message: semantic matches must agree on it exactly.
    context: bytes
    # The last message's content when it is the user's (what semantic matching compares).
    last_user_text: str | None


def _lp(text: str) -> str:
    """Length-prefixed text."""
    return f"{len(text)}:{text}"


def _number(value: float) -> str:
    return repr(float(round(value, 6)))


def _optional(value: int | None) -> str:
    return "" if value is None else str(value)


@lru_cache(maxsize=512)
def canonical_params(params: GenerationParams) -> str:
    temperature = _DEFAULT_TEMPERATURE if params.temperature is None else params.temperature
    top_p = _DEFAULT_TOP_P if params.top_p is None else params.top_p
    stops = ",".join(_lp(s) for s in sorted(set(params.stop)))
    return (
        f"max={_optional(params.max_output_tokens)};temperature={_number(temperature)};"
        f"top_p={_number(top_p)};stop=[{stops}];seed={_optional(params.seed)}"
    )


def canonical_preferences(prefs: RoutingPreferences, defaults: RoutingDefaults) -> str:
    strategy = prefs.strategy if prefs.strategy is not None else defaults.strategy
    tier = prefs.user_tier if prefs.user_tier is not None else defaults.user_tier
    weights = (
        ""
        if prefs.weights is None
        else ",".join(_number(w) for w in (prefs.weights.cost, prefs.weights.latency, prefs.weights.quality))
    )
    c = prefs.constraints
    constraints = ",".join(
        (
            _optional(c.max_cost_nano_usd),
            _optional(c.max_cost_per_1k_tokens_nano_usd),
            _optional(c.max_latency_ms),
            _optional(c.min_context_tokens),
            "+".join(str(int(cap)) for cap in sorted(c.required_capabilities)),
        )
    )
    force = "" if prefs.force_model is None else _lp(prefs.force_model.provider) + _lp(prefs.force_model.model)
    return (
        f"strategy={_lp(strategy or '')};tier={_lp(tier or '')};weights={weights};constraints={constraints};"
        f"allowed=[{','.join(_lp(p) for p in sorted(prefs.allowed_providers))}];"
        f"denied=[{','.join(_lp(p) for p in sorted(prefs.denied_providers))}];force={force};"
        f"flags={int(prefs.allow_context_trimming)}{int(prefs.use_agent)}{int(prefs.latency_sensitive)}"
    )


class KeyBuilder:
    """Computes `RequestKeys`; one per cache, since the scope rule and routing defaults are configuration."""

    def __init__(self, *, shared_across_tenants: bool, routing_defaults: RoutingDefaults | None = None) -> None:
        self._shared = shared_across_tenants
        defaults = routing_defaults or RoutingDefaults()

        # Preferences are hashable frozen dataclasses and nearly always one of a few shapes per caller.
        @lru_cache(maxsize=512)
        def preferences(prefs: RoutingPreferences) -> str:
            return canonical_preferences(prefs, defaults)

        self._preferences = preferences

    def keys(self, request: CacheRequest) -> RequestKeys:
        scope = "*" if self._shared else request.tenant
        digest = hashlib.sha256(
            f"{KEY_VERSION}\x1e{_lp(scope)}\x1e{canonical_params(request.params)}\x1e"
            f"{self._preferences(request.preferences)}\x1e".encode()
        )
        messages = request.messages
        for message in messages[:-1]:
            digest.update(_canonical_message(message.role, message.name, message.content))
        context = digest.digest()
        last_user: str | None = None
        if messages:
            last = messages[-1]
            digest.update(_canonical_message(last.role, last.name, last.content))
            if last.role == Role.USER:
                last_user = last.content
        return RequestKeys(digest.digest(), context, last_user)


def _canonical_message(role: Role, name: str, content: str) -> bytes:
    return f"{int(role)}{_lp(name.strip())}{_lp(normalise_for_key(content))}\x1e".encode()
