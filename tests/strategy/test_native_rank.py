"""The compiled cost column and balanced ranking (native/src/rank.rs) equal the Python reference, bit
for bit: same order, same floats, same reason, on generated candidate sets (tiers out of catalog order,
equal prices and qualities, free models, huge prices)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from router_service import native
from router_service.catalog.pricing import TOKENS_PER_PRICE_UNIT
from router_service.domain import Complexity, Domain, ModelTier
from router_service.strategy.balanced import Balanced
from router_service.strategy.base import StrategyInput
from router_service.strategy.candidates import CandidateSet
from router_service.strategy.plan import Weights
from tests.native_support import require_native
from tests.strategy.factories import model

_TIERS = ["fast", "balanced", "premium"]


@pytest.fixture(autouse=True)
def _native() -> None:
    require_native()


@st.composite
def candidate_sets(draw: st.DrawFn) -> CandidateSet:
    n = draw(st.integers(0, 24))
    costs = st.one_of(st.integers(0, 10**6), st.sampled_from([0, 1, 1000, 10**15]))
    quality = st.one_of(st.floats(0.0, 1.0), st.sampled_from([0.7, 0.8]))
    latency = st.one_of(st.floats(1.0, 20_000.0), st.sampled_from([500.0, 1000.0]))
    rows = [
        (model(f"p{i % 4}/m{i}", draw(st.sampled_from(_TIERS)), "1", "2", 0.8), draw(costs), draw(quality),
         draw(latency))
        for i in range(n)
    ]
    return CandidateSet.of(rows)


weights = st.builds(
    Weights, cost=st.floats(0.0, 5.0), latency=st.floats(0.0, 5.0), quality=st.floats(0.01, 5.0)
)


@settings(max_examples=300, deadline=None)
@given(candidate_sets(), weights, st.sampled_from(list(ModelTier)), st.sampled_from(list(Complexity)))
def test_balanced_rank_equals_the_reference(
    candidates: CandidateSet, w: Weights, preferred: ModelTier, complexity: Complexity
) -> None:
    request = StrategyInput(complexity, Domain.CODING, w, 0.7, preferred)
    strategy = Balanced()
    compiled = strategy.rank(request, candidates)
    reference = strategy.rank_reference(request, candidates)
    assert compiled.order == reference.order
    assert compiled.plannable == reference.plannable
    assert list(compiled.scores) == list(reference.scores)
    assert list(compiled.cost_parts) == list(reference.cost_parts)
    assert list(compiled.latency_parts) == list(reference.latency_parts)
    assert list(compiled.tier_fit) == list(reference.tier_fit)
    assert compiled.decided_by == reference.decided_by
    assert compiled.warnings == reference.warnings


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 2**63 - 1), st.integers(0, 2**63 - 1)), max_size=60),
    st.integers(0, 2**32), st.integers(0, 2**32),
)
def test_costs_equal_the_reference(prices: list[tuple[int, int]], prompt: int, output: int) -> None:
    assert native.PriceTable is not None
    table = native.PriceTable(prices, TOKENS_PER_PRICE_UNIT)
    half = TOKENS_PER_PRICE_UNIT // 2
    assert table.costs(prompt, output) == [(prompt * i + output * o + half) // TOKENS_PER_PRICE_UNIT for i, o in prices]


def test_costs_beyond_128_bits_raise_instead_of_wrapping() -> None:
    assert native.PriceTable is not None
    table = native.PriceTable([(2**64 - 1, 2**64 - 1)], TOKENS_PER_PRICE_UNIT)
    with pytest.raises(OverflowError):
        table.costs(2**64 - 1, 2**64 - 1)
    with pytest.raises(OverflowError):  # not representable as a token count at all
        table.costs(-1, 0)


def test_malformed_tier_groups_are_refused() -> None:
    assert native.TierRanker is not None
    with pytest.raises(ValueError, match="groups"):
        native.TierRanker([0, 1], [(1, 0, 1)], [1.0, 1.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="same candidates"):
        native.TierRanker([0, 1], [(1, 0, 2)], [1.0], [1.0, 1.0])
    ranker = native.TierRanker([0, 1], [(1, 0, 2)], [1.0, 1.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="costs"):
        ranker.rank([1], 0.5, 0.25, 0.25, 1)


def _plan_fields(plan: object) -> tuple[object, ...]:
    from router_service.strategy import RoutePlan

    assert isinstance(plan, RoutePlan)
    return (plan.candidates, plan.reason, plan.strategy, plan.estimated_cost_nano_usd, plan.baseline_cost_nano_usd,
            plan.warnings, plan.alternatives)


def test_whole_plans_equal_the_pure_python_planner(monkeypatch: pytest.MonkeyPatch) -> None:
    """The built-in catalog, every complexity and a spread of domains, prompt sizes and strategies:
    planned once with the compiled loops, then again by a planner built without them."""
    from router_service.catalog import load_catalog
    from router_service.config import RoutingSettings
    from router_service.domain import ChatMessage, GenerationParams, Role
    from router_service.strategy import Planner, RoutingPreferences
    from tests.strategy.factories import analysis

    catalog = load_catalog()
    up = frozenset(e.ref for e in catalog.entries if e.ref.provider != "demo")
    messages = (ChatMessage(Role.USER, "x"),)
    cases = [
        (RoutingPreferences(strategy=strategy), analysis(complexity, domain, tokens))
        for strategy in ("balanced", "weighted", "cost_optimized")
        for complexity in Complexity
        for domain in (Domain.CODING, Domain.MATH, Domain.CHIT_CHAT, Domain.UNKNOWN)
        for tokens in (1, 250, 9_000, 180_000)
    ]

    def plans(planner: Planner) -> list[tuple[object, ...]]:
        return [_plan_fields(planner.plan(a, messages, GenerationParams(), prefs, up, "t")) for prefs, a in cases]

    compiled = Planner(catalog, RoutingSettings())
    with_native = plans(compiled)
    monkeypatch.setattr(native, "TierRanker", None)
    monkeypatch.setattr(native, "PriceTable", None)
    reference = Planner(catalog, RoutingSettings())
    assert plans(reference) == with_native
    # Each planner really took its own path.
    assert all(r.price_table is not None for r in compiled._reaches_by_set.values())
    assert all(r.price_table is None for r in reference._reaches_by_set.values())

    def rankers(planner: Planner) -> list[object]:
        layouts = [c.memo["balanced"] for c in planner._column_cache.values() if "balanced" in c.memo]
        assert layouts
        return [layout.ranker for layout in layouts]

    assert all(r is not None for r in rankers(compiled))
    assert all(r is None for r in rankers(reference))
