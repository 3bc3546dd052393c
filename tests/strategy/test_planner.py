"""The planner end to end on a small hand-made catalog: candidates, constraints, tiers, plan contents."""

from __future__ import annotations

import pytest

from router_service.catalog import Catalog
from router_service.domain import Capability, Complexity, Domain, GenerationParams, ModelRef, ModelTier, Usage
from router_service.strategy import (
    Constraints,
    NoCandidate,
    UnknownModel,
    UnknownStrategy,
    UnknownUserTier,
    Weights,
)
from router_service.strategy.plan import InvalidPreference
from tests.strategy.factories import analysis, model, plan, planner, refs, small_catalog


def test_every_strategy_is_available_by_name() -> None:
    p = planner(rules={"simple": ["groq/small"]})
    for name in ("cost_optimized", "quality_optimized", "balanced", "weighted", "cheapest_first", "rules"):
        assert plan(p, strategy=name).strategy == name
    assert plan(p, strategy="cheapest-first").strategy == "cheapest_first"


def test_default_strategy_comes_from_settings() -> None:
    assert plan(planner()).strategy == "balanced"
    assert plan(planner(default_strategy="cost_optimized")).strategy == "cost_optimized"


def test_unknown_strategy_is_an_invalid_argument() -> None:
    with pytest.raises(UnknownStrategy) as caught:
        plan(planner(), strategy="fastest")
    assert caught.value.field == "preferences.strategy"
    assert "fastest" in str(caught.value)


def test_plan_has_selected_fallbacks_alternatives_and_costs() -> None:
    p = planner(max_fallbacks=2)
    result = plan(p, analysis(Complexity.EXPERT, Domain.CODING, tokens=1000))
    assert len(result.candidates) == 3
    assert {e.tier for e in result.candidates} == {ModelTier.PREMIUM}
    # Every catalog model appears once among the alternatives, planned ones first.
    assert sorted(str(a.entry.ref) for a in result.alternatives) == sorted(str(e.ref) for e in small_catalog().entries)
    assert [a.entry for a in result.alternatives[:3]] == list(result.candidates)
    assert all(a.eligible for a in result.alternatives)
    # Estimated cost: the prompt estimate plus the EXPERT output expectation (3000 tokens), exact integers.
    expected = result.selected.cost_nano_usd(Usage(1000, 3000))
    assert result.estimated_cost_nano_usd == expected
    assert result.baseline is not None and str(result.baseline.ref) == "anthropic/opus"
    assert result.baseline_cost_nano_usd == result.baseline.cost_nano_usd(Usage(1000, 3000))


def test_max_output_tokens_sets_the_expected_output() -> None:
    result = plan(planner(), analysis(tokens=100), params=GenerationParams(max_output_tokens=50))
    assert result.estimated_cost_nano_usd == result.selected.cost_nano_usd(Usage(100, 50))


def test_baseline_is_priced_even_when_unavailable() -> None:
    result = plan(planner(), available=lambda ref: ref.provider != "anthropic")
    assert "anthropic" not in {e.ref.provider for e in result.candidates}
    assert result.baseline_cost_nano_usd > 0


def test_reason_names_request_strategy_deciding_factor_and_saving() -> None:
    result = plan(planner(), analysis(Complexity.SIMPLE, Domain.CODING), strategy="cost_optimized")
    assert result.reason.startswith(
        "SIMPLE coding question, cost_optimized: cheapest model with coding quality ≥ 0.70 (0.72)")
    assert "% cheaper than the baseline (anthropic/opus)" in result.reason


def test_unavailable_models_are_never_planned_nor_listed_as_alternatives() -> None:
    result = plan(planner(), available=lambda ref: ref.provider != "groq")
    assert all(e.ref.provider != "groq" for e in result.candidates)
    # An unavailable provider's models are not this request's alternatives (ListModels shows why),
    # but the reason still counts them.
    assert all(a.entry.ref.provider != "groq" for a in result.alternatives)
    assert "excluded: availability 1" in result.reason


def test_nothing_available_names_availability() -> None:
    with pytest.raises(NoCandidate) as caught:
        plan(planner(), available=lambda ref: False)
    assert caught.value.constraint == "availability"


class TestUserTiers:
    @pytest.mark.parametrize(("tier", "allowed"), [
        ("free", {ModelTier.FAST}),
        ("pro", {ModelTier.FAST, ModelTier.BALANCED}),
        ("enterprise", {ModelTier.FAST, ModelTier.BALANCED, ModelTier.PREMIUM}),
    ])
    def test_a_tier_reaches_only_its_models(self, tier: str, allowed: set[ModelTier]) -> None:
        p = planner()
        for strategy in ("quality_optimized", "cheapest_first", "balanced", "weighted"):
            result = plan(p, analysis(Complexity.EXPERT), strategy=strategy, user_tier=tier)
            assert {e.tier for e in result.candidates} <= allowed
            reached = {a.entry.tier for a in result.alternatives if a.eligible}
            assert reached == allowed

    def test_free_user_with_an_expert_prompt_gets_the_best_fast_model_and_a_warning(self) -> None:
        result = plan(planner(), analysis(Complexity.EXPERT), user_tier="free")
        assert result.selected.tier is ModelTier.FAST
        assert any("no premium-tier model" in w for w in result.warnings)
        assert "user_tier 5" in result.reason

    def test_default_user_tier_from_settings(self) -> None:
        result = plan(planner(default_user_tier="free"), analysis(Complexity.EXPERT), strategy="quality_optimized")
        assert result.selected.tier is ModelTier.FAST

    def test_configured_tier_with_provider_limit(self) -> None:
        p = planner(user_tiers={"partner": {"model_tiers": ["fast", "premium"], "providers": ["gemini"]}})
        result = plan(p, analysis(Complexity.EXPERT), user_tier="partner")
        assert refs(result) == ["gemini/pro", "gemini/flash"]

    def test_unknown_user_tier(self) -> None:
        with pytest.raises(UnknownUserTier) as caught:
            plan(planner(), user_tier="gold")
        assert caught.value.field == "preferences.user_tier"

    def test_forced_model_outside_the_tier_names_user_tier(self) -> None:
        with pytest.raises(NoCandidate) as caught:
            plan(planner(), force_model=ModelRef("openai", "top"), user_tier="free")
        assert caught.value.constraint == "user_tier"


class TestForceAndProviderLists:
    def test_force_model(self) -> None:
        result = plan(planner(), analysis(Complexity.TRIVIAL), force_model=ModelRef("openai", "top"))
        assert refs(result) == ["openai/top"]
        assert "forced model openai/top" in result.reason
        assert len(result.alternatives) == 1

    def test_force_provider_lets_the_strategy_choose_among_its_models(self) -> None:
        result = plan(planner(), analysis(Complexity.EXPERT), force_model=ModelRef("openai", ""))
        assert refs(result)[0] == "openai/top"
        assert {e.ref.provider for e in result.candidates} == {"openai"}
        assert "forced provider openai" in result.reason

    def test_unknown_forced_model_or_provider(self) -> None:
        with pytest.raises(UnknownModel):
            plan(planner(), force_model=ModelRef("openai", "gpt-99"))
        with pytest.raises(UnknownModel):
            plan(planner(), force_model=ModelRef("nobody", ""))

    def test_forced_model_unavailable(self) -> None:
        with pytest.raises(NoCandidate) as caught:
            plan(planner(), force_model=ModelRef("openai", "top"), available=lambda r: r.provider != "openai")
        assert caught.value.constraint == "availability"

    def test_allowed_providers(self) -> None:
        result = plan(planner(), analysis(Complexity.EXPERT), allowed_providers=frozenset({"xai", "groq"}))
        assert {e.ref.provider for e in result.candidates} <= {"xai", "groq"}
        assert result.selected.ref == ModelRef("xai", "mid")

    def test_denied_providers(self) -> None:
        result = plan(planner(), strategy="cheapest_first", denied_providers=frozenset({"local", "groq"}))
        assert {e.ref.provider for e in result.candidates}.isdisjoint({"local", "groq"})
        with pytest.raises(NoCandidate) as caught:
            plan(planner(), denied_providers=frozenset({m.ref.provider for m in small_catalog().entries}))
        assert caught.value.constraint == "denied_providers"


class TestConstraints:
    def test_max_cost(self) -> None:
        a = analysis(Complexity.EXPERT, tokens=1000)
        limit = 50_000_000  # $0.05: rules out openai/top ($0.095) and anthropic/opus ($0.08) for 1000 + 3000 tokens
        result = plan(planner(), a, strategy="weighted", weights=Weights(cost=0, latency=0, quality=1),
                      constraints=Constraints(max_cost_nano_usd=limit))
        assert all(c.cost_nano_usd(Usage(1000, 3000)) <= limit for c in result.candidates)
        assert result.selected.ref == ModelRef("gemini", "pro")
        reasons = {str(x.entry.ref): x.excluded_reason for x in result.alternatives if not x.eligible}
        assert set(reasons) == {"openai/top", "anthropic/opus"}
        assert "estimated cost $0.095 > $0.05" in reasons["openai/top"]

    def test_max_cost_per_1k_tokens(self) -> None:
        # $0.001 per 1k tokens = $1 per 1M blended: only the fast models stay.
        result = plan(planner(), analysis(Complexity.EXPERT), strategy="cheapest_first",
                      constraints=Constraints(max_cost_per_1k_tokens_nano_usd=1_000_000))
        assert {e.tier for e in result.candidates} == {ModelTier.FAST}

    def test_max_latency(self) -> None:
        result = plan(planner(), analysis(Complexity.EXPERT), constraints=Constraints(max_latency_ms=2000))
        assert all(e.latency_prior_ms <= 2000 for e in result.candidates)
        assert result.selected.ref == ModelRef("xai", "mid")

    def test_min_context_window(self) -> None:
        result = plan(planner(), strategy="cheapest_first", constraints=Constraints(min_context_tokens=500_000))
        assert refs(result) == ["gemini/flash", "gemini/pro"]

    def test_required_capabilities(self) -> None:
        result = plan(planner(), strategy="cheapest_first",
                      constraints=Constraints(required_capabilities=frozenset({Capability.VISION})))
        assert refs(result) == ["anthropic/opus", "openai/top"]
        reasons = [x.excluded_reason for x in result.alternatives if not x.eligible]
        assert reasons and all(r == "lacks vision" for r in reasons)

    def test_max_output_tokens_beyond_a_model_excludes_it(self) -> None:
        catalog = Catalog([*small_catalog().entries, model("big/out", "fast", "1", "2", 0.7, max_output=64_000)])
        result = plan(planner(catalog), strategy="cheapest_first", params=GenerationParams(max_output_tokens=20_000))
        assert refs(result) == ["big/out"]
        with pytest.raises(NoCandidate) as caught:
            plan(planner(), params=GenerationParams(max_output_tokens=20_000))
        assert caught.value.constraint == "params.max_output_tokens"

    @pytest.mark.parametrize(("constraints", "name"), [
        (Constraints(max_cost_nano_usd=0), "constraints.max_cost_nano_usd"),
        (Constraints(max_latency_ms=10), "constraints.max_latency_ms"),
        (Constraints(min_context_tokens=10_000_000), "constraints.min_context_tokens"),
        (Constraints(required_capabilities=frozenset({Capability.JSON_MODE})), "constraints.required_capabilities"),
        (Constraints(max_cost_per_1k_tokens_nano_usd=0), "constraints.max_cost_per_1k_tokens_nano_usd"),
    ])
    def test_no_candidate_names_the_constraint(self, constraints: Constraints, name: str) -> None:
        p = planner()
        with pytest.raises(NoCandidate) as caught:
            plan(p, analysis(Complexity.EXPERT), constraints=constraints,
                 available=lambda r: r.provider != "local")
        assert caught.value.constraint == name
        assert name.rsplit(".", 1)[-1] in str(caught.value)

    def test_latest_constraint_is_named_when_several_exclude(self) -> None:
        # Latency removes the slow models, then the cost limit removes the rest: cost is named.
        with pytest.raises(NoCandidate) as caught:
            plan(planner(), constraints=Constraints(max_latency_ms=1000, max_cost_nano_usd=0),
                 available=lambda r: r.provider != "local")
        assert caught.value.constraint == "constraints.max_cost_nano_usd"

    def test_quality_floor_is_named(self) -> None:
        with pytest.raises(NoCandidate) as caught:
            plan(planner(), analysis(Complexity.EXPERT), strategy="cost_optimized", user_tier="free")
        assert caught.value.constraint == "quality_floor"


class TestWeights:
    def test_caller_weights_steer_balanced_within_the_tier(self) -> None:
        a = analysis(Complexity.EXPERT)
        assert plan(planner(), a).selected.ref == ModelRef("gemini", "pro")
        heavy = plan(planner(), a, weights=Weights(cost=0.1, latency=0, quality=5))
        assert heavy.selected.ref == ModelRef("openai", "top")

    def test_all_zero_weights_mean_unset_and_negative_ones_are_refused(self) -> None:
        a = analysis(Complexity.EXPERT)
        assert plan(planner(), a, weights=Weights(0, 0, 0)).selected.ref == ModelRef("gemini", "pro")
        with pytest.raises(InvalidPreference):
            plan(planner(), a, weights=Weights(cost=-1))


class TestFallbacks:
    def test_at_most_max_fallbacks(self) -> None:
        assert len(plan(planner(max_fallbacks=0)).candidates) == 1
        assert len(plan(planner(max_fallbacks=2)).candidates) == 3

    def test_cheapest_first_keeps_every_candidate(self) -> None:
        result = plan(planner(max_fallbacks=1), strategy="cheapest_first")
        assert len(result.candidates) == len(small_catalog())

    def test_fallbacks_interleave_providers(self) -> None:
        result = plan(planner(max_fallbacks=2), analysis(Complexity.SIMPLE), strategy="cost_optimized",
                      available=lambda r: r.provider != "local")
        providers = [e.ref.provider for e in result.candidates]
        assert len(set(providers)) == len(providers)

    def test_fallbacks_can_keep_plain_rank_order(self) -> None:
        p = planner(max_fallbacks=3, diverse_fallbacks=False)
        result = plan(p, analysis(Complexity.SIMPLE), strategy="cheapest_first")
        assert refs(result)[:4] == ["local/tiny", "groq/small", "openai/mini", "gemini/flash"]


class TestRulesStrategy:
    def test_configured_lists_with_unavailable_ones_skipped(self) -> None:
        p = planner(rules={"trivial": ["local/tiny", "groq/small", "gemini/flash"],
                           "expert": ["anthropic/opus", "openai/top"]})
        assert refs(plan(p, analysis(Complexity.TRIVIAL), strategy="rules")) == [
            "local/tiny", "groq/small", "gemini/flash"]
        result = plan(p, analysis(Complexity.EXPERT), strategy="rules", available=lambda r: r.provider != "anthropic")
        assert refs(result) == ["openai/top"]
        assert "earlier ones unavailable or excluded: anthropic/opus" in result.reason

    def test_listed_models_missing_from_the_catalog_are_reported_at_start(self) -> None:
        p = planner(rules={"simple": ["groq/small", "nobody/nothing"]})
        assert any("rules.SIMPLE[1]: nobody/nothing is not in the catalog" in w for w in p.warnings)

    def test_no_listed_model_reachable(self) -> None:
        p = planner(rules={"simple": ["groq/small"]})
        with pytest.raises(NoCandidate) as caught:
            plan(p, strategy="rules", available=lambda r: r.provider != "groq")
        assert caught.value.constraint == "rules"
