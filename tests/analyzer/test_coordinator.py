"""Agent selection: built-in agents, fallback, configuration."""

from __future__ import annotations

import dataclasses

import pytest
from pydantic import ValidationError

from router_service.analyzer import Analyzer
from router_service.analyzer.coordinator import Agent, AgentCoordinator
from router_service.analyzer.settings import AgentSettings, AgentsSettings
from router_service.domain import Intent

from .conftest import user


def _with_intent(analyzer: Analyzer, intent: Intent, confidence: float = 0.9):  # type: ignore[no-untyped-def]
    return dataclasses.replace(analyzer.analyze(user("hello")), intent=intent, intent_confidence=confidence)


def test_default_agents(analyzer: Analyzer) -> None:
    coordinator = AgentCoordinator()
    assert [a.name for a in coordinator.agents] == ["sales", "support", "faq", "general"]
    for intent, name in [
        (Intent.SALES, "sales"),
        (Intent.SUPPORT, "support"),
        (Intent.FAQ, "faq"),
        (Intent.GENERAL, "general"),
        (Intent.SMALLTALK, "general"),
    ]:
        agent = coordinator.select(_with_intent(analyzer, intent))
        assert isinstance(agent, Agent)
        assert agent.name == name
        assert agent.system_prompt


def test_unsure_intent_goes_to_fallback(analyzer: Analyzer) -> None:
    coordinator = AgentCoordinator()
    assert coordinator.select(_with_intent(analyzer, Intent.SALES, 0.2)).name == "general"


def test_end_to_end_selection(analyzer: Analyzer) -> None:
    coordinator = AgentCoordinator()
    assert coordinator.select(analyzer.analyze(user("¿Cuánto cuesta el plan premium?"))).name == "sales"
    assert coordinator.select(analyzer.analyze(user("hola"))).name == "general"


def test_configured_agents(analyzer: Analyzer) -> None:
    settings = AgentsSettings.model_validate(
        {
            "agents": [
                {"name": "concierge", "intents": ["smalltalk", "general"], "system_prompt": "Be warm.",
                 "strategy": "cost_optimized", "user_tier": "free", "allowed_providers": ["groq"]},
                {"name": "billing", "intents": ["sales", "support"], "strategy": "quality_optimized"},
            ],
            "fallback": "concierge",
        }
    )  # fmt: skip
    coordinator = AgentCoordinator(settings)
    smalltalk = coordinator.select(_with_intent(analyzer, Intent.SMALLTALK))
    assert smalltalk == Agent(
        name="concierge",
        system_prompt="Be warm.",
        strategy="cost_optimized",
        user_tier="free",
        allowed_providers=("groq",),
        intents=(Intent.SMALLTALK, Intent.GENERAL),
    )
    assert coordinator.select(_with_intent(analyzer, Intent.SUPPORT)).strategy == "quality_optimized"
    assert coordinator.select(_with_intent(analyzer, Intent.FAQ)).name == "concierge"


@pytest.mark.parametrize(
    "data",
    [
        {"agents": [{"name": "a"}, {"name": "a"}], "fallback": "a"},
        {"agents": [{"name": "a"}], "fallback": "b"},
        {"agents": [{"name": "a", "intents": ["sales"]}, {"name": "b", "intents": ["sales"]}], "fallback": "a"},
        {"agents": [{"name": "a", "intents": ["shopping"]}], "fallback": "a"},
    ],
)
def test_invalid_agent_settings(data: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        AgentsSettings.model_validate(data)


def test_agent_settings_are_frozen() -> None:
    with pytest.raises(ValidationError):
        AgentSettings(name="x").name = "y"  # type: ignore[misc]
