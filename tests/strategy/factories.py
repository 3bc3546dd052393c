"""Hand-made catalogs, analyses and planners for the strategy tests (no analyzer, no built-in catalog)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from router_service.analyzer.analysis import Analysis, PromptFeatures
from router_service.catalog import Catalog, ModelEntry, PriceTier
from router_service.config import RoutingSettings
from router_service.domain import (
    Capability,
    ChatMessage,
    Complexity,
    Domain,
    GenerationParams,
    Intent,
    Language,
    ModelRef,
    ModelTier,
    Role,
)
from router_service.strategy import Planner, RoutePlan, RoutingPreferences

ALL_CAPS = frozenset({Capability.STREAMING, Capability.TOOLS})


def usd(text: str) -> int:
    """USD per 1M tokens -> nano-USD per 1M tokens."""
    return int(Decimal(text) * 1_000_000_000)


def model(
    ref: str, tier: str, input_usd: str, output_usd: str, quality: float, *,
    domains: dict[Domain, float] | None = None, window: int = 128_000, max_output: int = 16_000,
    latency_ms: int = 1000, capabilities: Iterable[Capability] = ALL_CAPS,
    long_context: tuple[int, str, str] | None = None,
) -> ModelEntry:
    prices = [PriceTier(usd(input_usd), usd(output_usd), usd(input_usd), usd(input_usd))]
    if long_context:
        above, inp, out = long_context
        prices.append(PriceTier(usd(inp), usd(out), usd(inp), usd(inp), above))
    return ModelEntry(
        ref=ModelRef.parse(ref), tier=ModelTier[tier.upper()], prices=tuple(prices), context_window=window,
        max_output_tokens=max_output, capabilities=frozenset(capabilities), quality=quality,
        domain_quality=domains or {}, latency_prior_ms=latency_ms,
    )


def small_catalog() -> Catalog:
    """Three tiers, several providers; the baseline (anthropic/opus) is the dearest premium model."""
    return Catalog([
        model("local/tiny", "fast", "0", "0", 0.60, window=8_000, latency_ms=1500),
        model("groq/small", "fast", "0.05", "0.08", 0.70, domains={Domain.CODING: 0.72}, latency_ms=300),
        model("openai/mini", "fast", "0.15", "0.60", 0.74, domains={Domain.CODING: 0.76}, latency_ms=800),
        model("gemini/flash", "fast", "0.30", "2.50", 0.75, window=1_000_000, latency_ms=900),
        model("openai/mid", "balanced", "1.25", "10", 0.84, domains={Domain.CODING: 0.87}, latency_ms=2500),
        model("xai/mid", "balanced", "2", "6", 0.83, latency_ms=2000),
        model("gemini/pro", "premium", "2", "12", 0.90, domains={Domain.CODING: 0.93}, window=1_000_000,
              latency_ms=4000),
        model("openai/top", "premium", "5", "30", 0.93, domains={Domain.CODING: 0.96}, latency_ms=4500,
              capabilities=ALL_CAPS | {Capability.VISION}),
        model("anthropic/opus", "premium", "5", "25", 0.92, domains={Domain.CODING: 0.95}, window=200_000,
              latency_ms=4500, capabilities=ALL_CAPS | {Capability.VISION}),
    ])


def analysis(
    complexity: Complexity = Complexity.SIMPLE, domain: Domain = Domain.CODING, tokens: int = 200
) -> Analysis:
    return Analysis(
        features=PromptFeatures(token_estimate=tokens), language=Language.ENGLISH, language_confidence=1.0,
        complexity=complexity, complexity_score=0.5, complexity_confidence=0.9, domain=domain,
        domain_confidence=0.9, intent=Intent.GENERAL, intent_confidence=0.9,
    )


def settings(**fields: Any) -> RoutingSettings:
    return RoutingSettings.model_validate({"baseline_model": "anthropic/opus", **fields})


def everyone(ref: ModelRef) -> bool:
    return True


def planner(catalog: Catalog | None = None, clock: Callable[[], float] | None = None, **fields: Any) -> Planner:
    cat = catalog or small_catalog()
    if clock is None:
        return Planner(cat, settings(**fields))
    return Planner(cat, settings(**fields), clock=clock)


USER = (ChatMessage(Role.USER, "hello"),)


def plan(
    p: Planner, a: Analysis | None = None, *, params: GenerationParams | None = None,
    available: Callable[[ModelRef], bool] | frozenset[ModelRef] = everyone, routing_key: str = "",
    messages: tuple[ChatMessage, ...] = USER,
    **prefs: Any,
) -> RoutePlan:
    return p.plan(a or analysis(), messages, params or GenerationParams(), RoutingPreferences(**prefs), available,
                  routing_key=routing_key)


def refs(plan_: RoutePlan) -> list[str]:
    return [str(e.ref) for e in plan_.candidates]


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
