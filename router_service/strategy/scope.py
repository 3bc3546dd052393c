"""Which catalog models a request may reach at all: force, provider lists, user tier, static constraints.

These depend only on the preferences, never on the prompt or on provider health, so the planner caches
the result per distinct combination; a request pays for them once per combination, not per model.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from router_service import native
from router_service.catalog import ModelEntry
from router_service.catalog.pricing import TOKENS_PER_PRICE_UNIT
from router_service.domain import Capability, Domain, ModelRef, ModelTier
from router_service.strategy.candidates import IndexedModel
from router_service.strategy.plan import RoutingPreferences, UnknownModel
from router_service.strategy.settings import UserTierPolicy

if TYPE_CHECKING:
    from llm_router_native import PriceTable


@dataclass(frozen=True, slots=True)
class Exclusion:
    model: IndexedModel
    reason: str
    # The preference or limit that excluded it ("user_tier", "constraints.max_latency_ms", ...).
    constraint: str
    # Position of that check in the planning pipeline; the latest one to empty the set is named.
    stage: int


@dataclass(frozen=True, slots=True)
class Scope:
    members: tuple[IndexedModel, ...]
    excluded: tuple[Exclusion, ...]
    # When members is empty: the check that excluded the last ones.
    empty_constraint: str
    # "forced provider groq" / "forced model openai/gpt-5.5" / "".
    forced: str


@dataclass(frozen=True, slots=True)
class Reach:
    """The scope's members whose provider is available now, with their columns precomputed.

    Availability changes rarely (a key added, a breaker opening), so the planner caches one per
    availability pattern; the columns are shared, read-only, by the candidate sets built from them.
    """

    members: list[IndexedModel]
    # The scope's exclusions plus the unavailable members, and their summary for the reason.
    excluded: tuple[Exclusion, ...]
    excluded_note: str
    entries: list[ModelEntry]
    quality_by_domain: tuple[list[float], ...]
    latency_ms: list[float]
    index: dict[ModelRef, int]
    smallest_window: int
    largest: IndexedModel | None
    # (input, output) base prices per member, valid while the prompt stays at or under `base_prices_up_to`
    # tokens (no long-context tier applies): the common case prices every model in one comprehension.
    base_prices: list[tuple[int, int]]
    base_prices_up_to: int
    # The same prices in the compiled extension (router_service.native), or None.
    price_table: PriceTable | None = None


def exclusion_note(excluded: Sequence[Exclusion]) -> str:
    """"excluded: user_tier 20, availability 3" (most frequent first), or "" when nothing was excluded."""
    if not excluded:
        return ""
    counts = Counter(e.constraint for e in excluded)
    return "excluded: " + ", ".join(f"{name} {n}" for name, n in counts.most_common())


def build_reach(scope: Scope, flags: Sequence[bool], unavailable: Mapping[ModelRef, Exclusion]) -> Reach:
    members = scope.members
    # Grouped by tier (catalog order within a tier), so per-tier work runs on contiguous slices.
    reachable = sorted((m for m, ok in zip(members, flags, strict=True) if ok), key=lambda m: m.tier)
    excluded = scope.excluded + tuple(unavailable[m.ref] for m, ok in zip(members, flags, strict=True) if not ok)
    base_prices = [(m.input_price, m.output_price) for m in reachable]
    return Reach(
        members=reachable,
        excluded=excluded,
        excluded_note=exclusion_note(excluded),
        entries=[m.entry for m in reachable],
        quality_by_domain=tuple([m.quality[d] for m in reachable] for d in Domain),
        latency_ms=[m.latency_ms for m in reachable],
        index={m.ref: i for i, m in enumerate(reachable)},
        smallest_window=min((m.usable_window for m in reachable), default=0),
        largest=max(reachable, key=lambda m: m.usable_window, default=None),
        base_prices=base_prices,
        base_prices_up_to=min((m.long_context_above for m in reachable if m.long_context_above is not None),
                              default=1 << 62),
        price_table=_price_table(base_prices),
    )


def _price_table(prices: list[tuple[int, int]]) -> PriceTable | None:
    if native.PriceTable is None:
        return None
    try:
        return native.PriceTable(prices, TOKENS_PER_PRICE_UNIT)
    except OverflowError:  # a price beyond 64 bits: the Python arithmetic (unbounded integers) serves
        return None


ScopeKey = tuple[str, frozenset[str], frozenset[str], object, frozenset[Capability], int | None]


def scope_key(prefs: RoutingPreferences, user_tier: str) -> ScopeKey:
    c = prefs.constraints
    return (user_tier, prefs.allowed_providers, prefs.denied_providers, prefs.force_model,
            c.required_capabilities, c.min_context_tokens)


def build_scope(
    models: Sequence[IndexedModel], prefs: RoutingPreferences, user_tier: str, policy: UserTierPolicy
) -> Scope:
    force = prefs.force_model
    forced = ""
    if force is not None:
        if force.model:
            models = [m for m in models if m.ref == force]
            if not models:
                raise UnknownModel(f"model {force} is not in the catalog")
            forced = f"forced model {force}"
        else:
            models = [m for m in models if m.provider == force.provider]
            if not models:
                raise UnknownModel(f"provider {force.provider!r} has no model in the catalog")
            forced = f"forced provider {force.provider}"
    tiers = frozenset(ModelTier[name.upper()] for name in policy.model_tiers)
    tier_names = "/".join(sorted(policy.model_tiers))
    c = prefs.constraints
    members: list[IndexedModel] = []
    excluded: list[Exclusion] = []
    for m in models:
        found = _exclusion(m, prefs, user_tier, policy, tiers=tiers, tier_names=tier_names)
        if found is None and c.required_capabilities and not c.required_capabilities <= m.entry.capabilities:
            missing = ", ".join(sorted(x.name.lower() for x in c.required_capabilities - m.entry.capabilities))
            found = Exclusion(m, f"lacks {missing}", "constraints.required_capabilities", 4)
        if found is None and c.min_context_tokens is not None and m.window < c.min_context_tokens:
            found = Exclusion(m, f"context window {m.window:,} < required {c.min_context_tokens:,}",
                              "constraints.min_context_tokens", 5)
        if found is None:
            members.append(m)
        else:
            excluded.append(found)
    empty = max(excluded, key=lambda e: e.stage).constraint if not members and excluded else ""
    return Scope(tuple(members), tuple(excluded), empty, forced)


def _exclusion(
    m: IndexedModel, prefs: RoutingPreferences, user_tier: str, policy: UserTierPolicy, *,
    tiers: frozenset[ModelTier], tier_names: str,
) -> Exclusion | None:
    if prefs.allowed_providers and m.provider not in prefs.allowed_providers:
        return Exclusion(m, f"provider {m.provider} not in allowed_providers", "allowed_providers", 1)
    if m.provider in prefs.denied_providers:
        return Exclusion(m, f"provider {m.provider} denied", "denied_providers", 2)
    if m.tier not in tiers:
        return Exclusion(m, f"user tier {user_tier} reaches {tier_names} models only", "user_tier", 3)
    if policy.providers and m.provider not in policy.providers:
        return Exclusion(m, f"user tier {user_tier} may not use provider {m.provider}", "user_tier", 3)
    return None
