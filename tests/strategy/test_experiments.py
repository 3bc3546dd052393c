"""Traffic splits by a stable hash of the routing key, in the configured shares; each plan names its arm."""

from __future__ import annotations

from collections import Counter

import pytest
from pydantic import ValidationError

from router_service.strategy.experiments import Experiment
from router_service.strategy.settings import ExperimentSettings
from tests.strategy.factories import plan, planner, settings

SPLIT = {"name": "cheap-vs-balanced", "arms": [
    {"name": "control", "share": 0.8},
    {"name": "cheap", "share": 0.15, "strategy": "cost_optimized"},
    {"name": "quality", "share": 0.05, "strategy": "balanced", "weights": {"quality": 5, "cost": 1, "latency": 0}},
]}


def test_shares_hold_over_ten_thousand_keys() -> None:
    experiment = Experiment(ExperimentSettings.model_validate(SPLIT))
    counts = Counter(experiment.assign(f"tenant-{i}").label for i in range(10_000))
    assert abs(counts["cheap-vs-balanced:control"] / 10_000 - 0.80) < 0.02
    assert abs(counts["cheap-vs-balanced:cheap"] / 10_000 - 0.15) < 0.015
    assert abs(counts["cheap-vs-balanced:quality"] / 10_000 - 0.05) < 0.01


def test_relative_shares_are_normalised() -> None:
    experiment = Experiment(ExperimentSettings.model_validate(
        {"name": "x", "arms": [{"name": "a", "share": 1}, {"name": "b", "share": 3}]}))
    counts = Counter(experiment.assign(str(i)).label for i in range(10_000))
    assert abs(counts["x:b"] / 10_000 - 0.75) < 0.02


def test_assignment_is_stable_and_depends_on_the_experiment_name() -> None:
    one = Experiment(ExperimentSettings.model_validate(SPLIT))
    again = Experiment(ExperimentSettings.model_validate(SPLIT))
    keys = [f"k{i}" for i in range(500)]
    assert [one.assign(k) for k in keys] == [again.assign(k) for k in keys]
    renamed = Experiment(ExperimentSettings.model_validate({**SPLIT, "name": "other"}))
    assert [one.assign(k).label.split(":")[1] for k in keys] != [renamed.assign(k).label.split(":")[1] for k in keys]


def test_plans_record_their_arm_and_use_its_strategy() -> None:
    p = planner(experiment=SPLIT)
    seen: Counter[tuple[str, str]] = Counter()
    for i in range(400):
        result = plan(p, routing_key=f"tenant-{i}")
        seen[(result.experiment_arm, result.strategy)] += 1
        assert f"experiment arm {result.experiment_arm}" in result.reason
    assert set(seen) == {("cheap-vs-balanced:control", "balanced"), ("cheap-vs-balanced:cheap", "cost_optimized"),
                         ("cheap-vs-balanced:quality", "balanced")}


def test_a_request_naming_a_strategy_is_outside_the_experiment() -> None:
    result = plan(planner(experiment=SPLIT), strategy="cheapest_first", routing_key="tenant-1")
    assert result.experiment_arm == "" and result.strategy == "cheapest_first"


def test_no_routing_key_goes_to_the_first_arm() -> None:
    assert plan(planner(experiment=SPLIT)).experiment_arm == "cheap-vs-balanced:control"


def test_no_experiment_no_arm() -> None:
    assert plan(planner(), routing_key="tenant-1").experiment_arm == ""


@pytest.mark.parametrize("bad", [
    {"name": "x", "arms": []},
    {"name": "x", "arms": [{"name": "a", "share": 0}]},
    {"name": "x", "arms": [{"name": "a", "share": 1}, {"name": "a", "share": 1}]},
    {"name": "x", "arms": [{"name": "a", "share": 1, "strategy": "fastest"}]},
])
def test_invalid_experiments_are_refused_at_start(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        settings(experiment=bad)
