"""Agent coordinator: picks the agent (system prompt + routing preferences) for an analysis.

Zero tokens: a dictionary look-up on the analysed intent. Agents are declared in `AgentsSettings`;
an intent no agent claims (by default SMALLTALK) and an intent below an agent's confidence floor go
to the fallback agent (GENERAL by default).
"""

from __future__ import annotations

from dataclasses import dataclass

from router_service.analyzer.analysis import Analysis
from router_service.analyzer.settings import AgentSettings, AgentsSettings
from router_service.domain import Intent


@dataclass(frozen=True, slots=True)
class Agent:
    name: str
    system_prompt: str
    strategy: str | None = None
    user_tier: str | None = None
    allowed_providers: tuple[str, ...] = ()
    intents: tuple[Intent, ...] = ()
    min_intent_confidence: float = 0.0

    @classmethod
    def from_settings(cls, s: AgentSettings) -> Agent:
        return cls(
            name=s.name,
            system_prompt=s.system_prompt,
            strategy=s.strategy or None,
            user_tier=s.user_tier or None,
            allowed_providers=tuple(s.allowed_providers),
            intents=tuple(Intent[i.upper()] for i in s.intents),
            min_intent_confidence=s.min_intent_confidence,
        )


class AgentCoordinator:
    def __init__(self, settings: AgentsSettings | None = None) -> None:
        settings = settings or AgentsSettings()
        self.agents: tuple[Agent, ...] = tuple(Agent.from_settings(a) for a in settings.agents)
        self.fallback: Agent = next(a for a in self.agents if a.name == settings.fallback)
        self._by_intent: dict[Intent, Agent] = {i: a for a in self.agents for i in a.intents}

    def select(self, analysis: Analysis) -> Agent:
        """The agent serving the analysed intent, or the fallback."""
        agent = self._by_intent.get(analysis.intent)
        if agent is None or analysis.intent_confidence < agent.min_intent_confidence:
            return self.fallback
        return agent

    def by_name(self, name: str) -> Agent | None:
        return next((a for a in self.agents if a.name == name), None)
