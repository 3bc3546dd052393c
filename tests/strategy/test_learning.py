"""Observed failures, latency and ratings move plans, fade with time, and stay bounded."""

from __future__ import annotations

import pytest

from router_service.catalog import Catalog
from router_service.domain import Complexity, Domain, ModelRef
from router_service.strategy import Constraints
from router_service.strategy.learning import ModelStats
from router_service.strategy.settings import LearningSettings
from tests.strategy.factories import FakeClock, analysis, model, plan, planner

CHEAP = model("a/cheap", "fast", "0.1", "0.4", 0.74)
OTHER = model("b/other", "fast", "0.2", "0.8", 0.74)
A = analysis(Complexity.SIMPLE, Domain.CODING)
HOUR = 3600.0


def two_model_planner(clock: FakeClock, **learning: object) -> object:
    return planner(Catalog([CHEAP, OTHER]), clock=clock, baseline_model="b/other",
                   learning={"refresh_s": 0, **learning})


@pytest.mark.parametrize("strategy", ["balanced", "weighted", "cost_optimized", "quality_optimized"])
def test_failures_sink_a_model_and_time_restores_it(strategy: str) -> None:
    clock = FakeClock()
    p = two_model_planner(clock)
    chosen = plan(p, A, strategy=strategy).selected.ref  # type: ignore[arg-type]
    loser = OTHER.ref if chosen == CHEAP.ref else CHEAP.ref
    for _ in range(20):
        p.record_outcome(chosen, A, success=False, latency_s=0.5)  # type: ignore[attr-defined]
        p.record_outcome(loser, A, success=True, latency_s=0.5)  # type: ignore[attr-defined]
    assert plan(p, A, strategy=strategy).selected.ref == loser  # type: ignore[arg-type]
    clock.advance(24 * HOUR)  # a day of one-hour half-lives: the failures have faded
    assert plan(p, A, strategy=strategy).selected.ref == chosen  # type: ignore[arg-type]


def test_successes_bring_a_failed_model_back_without_waiting() -> None:
    clock = FakeClock()
    p = two_model_planner(clock)
    for _ in range(10):
        p.record_outcome(CHEAP.ref, A, success=False, latency_s=1.0)  # type: ignore[attr-defined]
    assert plan(p, A).selected.ref == OTHER.ref  # type: ignore[arg-type]
    for _ in range(200):
        p.record_outcome(CHEAP.ref, A, success=True, latency_s=1.0)  # type: ignore[attr-defined]
    assert plan(p, A).selected.ref == CHEAP.ref  # type: ignore[arg-type]


def test_poor_ratings_sink_a_model_for_that_domain_only_and_good_ones_restore_it() -> None:
    clock = FakeClock()
    p = two_model_planner(clock)
    for _ in range(15):
        p.record_feedback(CHEAP.ref, A, 1)  # type: ignore[attr-defined]
    assert plan(p, A).selected.ref == OTHER.ref  # type: ignore[arg-type]
    math_prompt = analysis(Complexity.SIMPLE, Domain.MATH)
    assert plan(p, math_prompt).selected.ref == CHEAP.ref  # type: ignore[arg-type]
    for _ in range(60):
        p.record_feedback(CHEAP.ref, A, 5)  # type: ignore[attr-defined]
    assert plan(p, A).selected.ref == CHEAP.ref  # type: ignore[arg-type]


def test_observed_latency_feeds_the_latency_constraint() -> None:
    clock = FakeClock()
    p = two_model_planner(clock)
    for _ in range(30):
        p.record_outcome(CHEAP.ref, A, success=True, latency_s=9.0)  # type: ignore[attr-defined]
    result = plan(p, A, constraints=Constraints(max_latency_ms=3000))  # type: ignore[arg-type]
    assert result.selected.ref == OTHER.ref
    reason = next(x.excluded_reason for x in result.alternatives if x.entry.ref == CHEAP.ref)
    assert reason.startswith("expected latency")


def test_adjustment_shrinks_toward_the_prior() -> None:
    clock = FakeClock()
    stats = ModelStats(LearningSettings(prior_weight=5), clock)
    ref = ModelRef("a", "m")
    assert stats.adjust(ref, Domain.CODING, Complexity.SIMPLE, prior_quality=0.8, prior_latency_ms=1000) == (0.8, 1000)
    stats.record_outcome(ref, Domain.CODING, Complexity.SIMPLE, success=False, latency_s=0)
    quality, _ = stats.adjust(ref, Domain.CODING, Complexity.SIMPLE, prior_quality=0.8, prior_latency_ms=1000)
    assert 0.5 < quality < 0.8  # one failure moves it, not all the way
    # Other complexities of the same domain see it more weakly (through the domain level).
    other, _ = stats.adjust(ref, Domain.CODING, Complexity.EXPERT, prior_quality=0.8, prior_latency_ms=1000)
    assert quality < other < 0.8
    untouched = stats.adjust(ref, Domain.MATH, Complexity.SIMPLE, prior_quality=0.8, prior_latency_ms=1000)
    assert untouched == (0.8, 1000)


def test_memory_is_bounded() -> None:
    clock = FakeClock()
    stats = ModelStats(LearningSettings(max_cells=16), clock)
    for i in range(500):
        stats.record_outcome(ModelRef("p", f"m{i}"), Domain.CODING, Complexity.SIMPLE, success=True, latency_s=1)
    assert len(stats) <= 16


def test_ratings_outside_one_to_five_are_refused() -> None:
    p = two_model_planner(FakeClock())
    with pytest.raises(ValueError, match="1-5"):
        p.record_feedback(CHEAP.ref, A, 6)  # type: ignore[attr-defined]


def test_disabled_learning_changes_nothing() -> None:
    clock = FakeClock()
    p = two_model_planner(clock, enabled=False)
    for _ in range(50):
        p.record_outcome(CHEAP.ref, A, success=False, latency_s=1.0)  # type: ignore[attr-defined]
    assert plan(p, A).selected.ref == CHEAP.ref  # type: ignore[arg-type]


def test_refresh_interval_limits_recomputation_but_not_correctness() -> None:
    clock = FakeClock()
    p = two_model_planner(clock, refresh_s=1.0)
    assert plan(p, A).selected.ref == CHEAP.ref  # type: ignore[arg-type]
    p.record_outcome(OTHER.ref, A, success=True, latency_s=1.0)  # type: ignore[attr-defined]
    assert plan(p, A).selected.ref == CHEAP.ref  # type: ignore[arg-type]
    for _ in range(20):
        p.record_outcome(CHEAP.ref, A, success=False, latency_s=1.0)  # type: ignore[attr-defined]
    clock.advance(1.5)
    assert plan(p, A).selected.ref == OTHER.ref  # type: ignore[arg-type]


def test_exploration_is_deterministic_under_a_fixed_seed() -> None:
    def run(seed: int) -> list[tuple[str, bool]]:
        p = planner(clock=FakeClock(), learning={"exploration_rate": 0.5, "seed": seed})
        return [(str(r.selected.ref), "exploring" in r.reason) for r in (plan(p, A) for _ in range(40))]

    first = run(7)
    assert first == run(7)
    assert len({ref for ref, _ in first}) > 1
    assert any(explored for _, explored in first) and not all(explored for _, explored in first)


def test_no_exploration_by_default() -> None:
    p = planner()
    assert len({str(plan(p, A).selected.ref) for _ in range(50)}) == 1
