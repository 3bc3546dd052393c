"""Each strategy alone, on hand-made candidate sets (the planner is not involved)."""

from __future__ import annotations

import pytest

from router_service.domain import Complexity, Domain, ModelRef, ModelTier
from router_service.strategy.balanced import Balanced, tier_fit
from router_service.strategy.base import StrategyInput, relative_cheapness, stable_order
from router_service.strategy.candidates import CandidateSet
from router_service.strategy.cheapest_first import CheapestFirst
from router_service.strategy.cost_optimized import CostOptimized
from router_service.strategy.plan import Weights
from router_service.strategy.quality_optimized import QualityOptimized
from router_service.strategy.rules import Rules
from router_service.strategy.weighted import Weighted
from tests.strategy.factories import model

FAST_A = model("a/fast", "fast", "0.1", "0.4", 0.70)
FAST_B = model("b/fast", "fast", "0.3", "1.2", 0.76)
MID = model("c/mid", "balanced", "1", "5", 0.85)
TOP = model("d/top", "premium", "5", "25", 0.95)
DEFAULT_WEIGHTS = Weights()
TOP_CHEAP = model("e/top", "premium", "2", "8", 0.95)


def cands(*rows: tuple[object, int, float, float]) -> CandidateSet:
    return CandidateSet.of(list(rows))  # type: ignore[arg-type]


def request(
    complexity: Complexity = Complexity.SIMPLE, *, floor: float = 0.7, tier: ModelTier = ModelTier.FAST,
    weights: Weights = DEFAULT_WEIGHTS, rules: dict[Complexity, tuple[ModelRef, ...]] | None = None,
) -> StrategyInput:
    return StrategyInput(complexity, Domain.CODING, weights, floor, tier, rules or {})


def standard() -> CandidateSet:
    # (entry, estimated cost nano-USD, quality, latency ms)
    return cands((FAST_A, 100, 0.70, 500.0), (FAST_B, 300, 0.76, 700.0), (MID, 2_000, 0.85, 2000.0),
                 (TOP, 12_000, 0.95, 4000.0), (TOP_CHEAP, 5_000, 0.95, 4500.0))


class TestCostOptimized:
    def test_cheapest_that_clears_the_floor(self) -> None:
        c = standard()
        ranking = CostOptimized().rank(request(floor=0.75), c)
        assert ranking.refs(c)[0] == FAST_B.ref
        assert "cheapest model with coding quality ≥ 0.75 (0.76)" in ranking.decided_by

    def test_below_floor_is_declined_with_reason(self) -> None:
        c = standard()
        ranking = CostOptimized().rank(request(floor=0.9), c)
        assert ranking.refs(c) == [TOP_CHEAP.ref, TOP.ref]
        assert "below the SIMPLE floor 0.90" in ranking.declined[0]

    def test_nothing_clears_the_floor_names_the_constraint(self) -> None:
        c = cands((FAST_A, 100, 0.70, 500.0))
        ranking = CostOptimized().rank(request(floor=0.9), c)
        assert ranking.plannable == 0
        assert ranking.empty_constraint == "quality_floor"

    def test_equal_price_prefers_quality(self) -> None:
        c = cands((FAST_A, 0, 0.62, 500.0), (FAST_B, 0, 0.70, 500.0))
        assert CostOptimized().rank(request(floor=0.6), c).refs(c)[0] == FAST_B.ref


class TestQualityOptimized:
    def test_best_quality_for_the_domain(self) -> None:
        c = cands((FAST_A, 100, 0.70, 500.0), (MID, 2_000, 0.88, 2000.0))
        assert QualityOptimized().rank(request(), c).refs(c) == [MID.ref, FAST_A.ref]

    def test_cost_breaks_ties(self) -> None:
        c = standard()
        ranking = QualityOptimized().rank(request(), c)
        assert ranking.refs(c)[:2] == [TOP_CHEAP.ref, TOP.ref]
        assert "cost broke a tie among 2" in ranking.decided_by


class TestBalanced:
    @pytest.mark.parametrize(("complexity", "tier", "expected"), [
        (Complexity.SIMPLE, ModelTier.FAST, FAST_A.ref),
        (Complexity.MEDIUM, ModelTier.BALANCED, MID.ref),
        (Complexity.EXPERT, ModelTier.PREMIUM, TOP_CHEAP.ref),
    ])
    def test_tier_matched_to_complexity(self, complexity: Complexity, tier: ModelTier, expected: ModelRef) -> None:
        c = standard()
        ranking = Balanced().rank(request(complexity, tier=tier), c)
        assert ranking.refs(c)[0] == expected
        assert f"{tier.name.lower()} tier for {complexity.name}" in ranking.decided_by

    def test_within_tier_weights_decide(self) -> None:
        c = standard()
        quality_first = Balanced().rank(request(weights=Weights(cost=0.1, latency=0.0, quality=5.0)), c)
        assert quality_first.refs(c)[0] == FAST_B.ref
        assert "won on quality over a/fast" in quality_first.decided_by
        cost_first = Balanced().rank(request(weights=Weights(cost=5.0, latency=0.0, quality=1.0)), c)
        assert cost_first.refs(c)[0] == FAST_A.ref
        assert "won on cost over b/fast" in cost_first.decided_by

    def test_nearest_tier_when_the_matched_one_is_missing(self) -> None:
        c = cands((FAST_A, 100, 0.70, 500.0), (MID, 2_000, 0.85, 2000.0))
        ranking = Balanced().rank(request(Complexity.EXPERT, tier=ModelTier.PREMIUM), c)
        assert ranking.refs(c) == [MID.ref, FAST_A.ref]
        assert ranking.warnings and "no premium-tier model" in ranking.warnings[0]

    def test_tier_fit_prefers_higher_before_lower(self) -> None:
        assert tier_fit(ModelTier.BALANCED, ModelTier.BALANCED) == 1.0
        assert tier_fit(ModelTier.BALANCED, ModelTier.PREMIUM) > tier_fit(ModelTier.BALANCED, ModelTier.FAST)
        assert tier_fit(ModelTier.FAST, ModelTier.PREMIUM) > tier_fit(ModelTier.PREMIUM, ModelTier.FAST) >= 0


class TestWeighted:
    def test_quality_weight_reaches_premium(self) -> None:
        c = standard()
        ranking = Weighted().rank(request(weights=Weights(cost=1, latency=0, quality=10)), c)
        assert c.entries[ranking.order[0]].tier is ModelTier.PREMIUM

    def test_cost_weight_reaches_cheapest(self) -> None:
        c = standard()
        ranking = Weighted().rank(request(weights=Weights(cost=10, latency=0, quality=1)), c)
        assert ranking.refs(c)[0] == FAST_A.ref
        assert "weights quality 1, cost 10, latency 0" in ranking.decided_by

    def test_latency_weight_reaches_fastest(self) -> None:
        c = cands((FAST_A, 100, 0.70, 900.0), (FAST_B, 300, 0.70, 200.0))
        ranking = Weighted().rank(request(weights=Weights(cost=0, latency=1, quality=0)), c)
        assert ranking.refs(c)[0] == FAST_B.ref
        assert "won on latency" in ranking.decided_by


class TestCheapestFirst:
    def test_every_candidate_by_price_all_as_fallbacks(self) -> None:
        c = standard()
        ranking = CheapestFirst().rank(request(), c)
        assert ranking.refs(c) == [FAST_A.ref, FAST_B.ref, MID.ref, TOP_CHEAP.ref, TOP.ref]
        assert ranking.all_fallbacks and ranking.keep_order


class TestRules:
    def test_follows_the_configured_order(self) -> None:
        c = standard()
        rules = {Complexity.SIMPLE: (MID.ref, FAST_B.ref)}
        ranking = Rules().rank(request(rules=rules), c)
        assert ranking.refs(c) == [MID.ref, FAST_B.ref]
        assert ranking.declined[0] == "not in the SIMPLE rule"
        assert ranking.decided_by == "SIMPLE rule, model 1 of 2"

    def test_skips_listed_models_that_are_not_candidates(self) -> None:
        c = standard()
        gone = ModelRef("x", "gone")
        ranking = Rules().rank(request(rules={Complexity.SIMPLE: (gone, FAST_B.ref)}), c)
        assert ranking.refs(c) == [FAST_B.ref]
        assert "model 2 of 2 (earlier ones unavailable or excluded: x/gone)" in ranking.decided_by

    def test_no_listed_candidate(self) -> None:
        ranking = Rules().rank(request(rules={}), standard())
        assert ranking.plannable == 0 and ranking.empty_constraint == "rules"


def test_relative_cheapness_is_log_scaled_and_bounded() -> None:
    values = relative_cheapness([0, 10, 1000, 100_000])
    assert values[0] == 1.0 and values[-1] == 0.0
    assert values == sorted(values, reverse=True)
    assert relative_cheapness([5, 5]) == [1.0, 1.0]
    close = relative_cheapness([1000, 1002])
    assert close[0] == 1.0 and close[1] > 0.99


def test_stable_order_uses_keys_in_turn_and_keeps_ties_in_input_order() -> None:
    assert stable_order(4, [([2, 1, 2, 1], False), ([0.1, 0.5, 0.9, 0.5], True)]) == [1, 3, 2, 0]
