"""The routing section of the config: defaults, key-by-key merging, and errors that name the field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from router_service.catalog import load_catalog
from router_service.config import ConfigError, RoutingSettings, load_config
from router_service.strategy import Planner


def test_an_empty_config_validates_and_plans_with_the_builtin_catalog() -> None:
    settings = load_config(None, environ={}).routing
    assert settings.default_user_tier == "enterprise"
    assert set(settings.complexity) == {"TRIVIAL", "SIMPLE", "MEDIUM", "COMPLEX", "EXPERT"}
    planner = Planner(load_catalog(), settings)
    assert planner.warnings == ()


def test_partial_sections_merge_with_the_defaults() -> None:
    settings = RoutingSettings.model_validate({
        "complexity": {"expert": {"quality_floor": 0.8}},
        "rules": {"trivial": ["groq/llama-3.1-8b-instant"]},
        "user_tiers": {"free": {"model_tiers": ["fast", "balanced"]}, "pro": None, "team": {"model_tiers": ["fast"]}},
    })
    assert settings.complexity["EXPERT"].quality_floor == 0.8
    assert settings.complexity["EXPERT"].expected_output_tokens == 3000
    assert settings.complexity["TRIVIAL"].model_tier == "fast"
    assert settings.rules["TRIVIAL"] == ["groq/llama-3.1-8b-instant"]
    assert settings.rules["EXPERT"][0] == "anthropic/claude-opus-4-6"
    assert set(settings.user_tiers) == {"free", "enterprise", "team"}


def test_routing_strategy_environment_variable() -> None:
    config = load_config(None, environ={"ROUTING_STRATEGY": "COST_OPTIMIZED"})
    assert config.routing.default_strategy == "cost_optimized"


@pytest.mark.parametrize(("routing", "field"), [
    ({"default_user_tier": "gold"}, "default_user_tier"),
    ({"complexity": {"hard": {"quality_floor": 0.5}}}, "unknown complexity"),
    ({"complexity": {"SIMPLE": {"quality_floor": 1.5}}}, "routing.complexity.SIMPLE.quality_floor"),
    ({"rules": {"SIMPLE": ["no-slash"]}}, "not 'provider/model'"),
    ({"user_tiers": {"free": {"model_tiers": []}}}, "routing.user_tiers.free.model_tiers"),
    ({"balanced_weights": {"quality": 0, "cost": 0, "latency": 0}}, "routing.balanced_weights"),
    ({"learning": {"half_life_s": 0}}, "routing.learning.half_life_s"),
    ({"typo_field": 1}, "routing.typo_field"),
])
def test_invalid_settings_name_the_field(routing: dict[str, object], field: str, tmp_path: Path) -> None:
    path = tmp_path / "router.yaml"
    path.write_text(yaml.safe_dump({"routing": routing}))
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert field in str(caught.value)
