"""Configuration of the analyzer and of the agents (validated at the edge, frozen inside)."""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from router_service.analyzer.rulebook import IntentName, RuleTable
from router_service.analyzer.text import HEAD_CHARS, TAIL_CHARS


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LLMClassifierSettings(_Strict):
    """The optional last stage: ask an LLM when the local answer stays unsure. Off by default."""

    enabled: bool = False
    # Labels whose confidence is below this are sent to the classifier.
    threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    timeout_s: float = Field(default=2.0, gt=0.0)
    # Confidence recorded for a label the classifier supplied.
    confidence: float = Field(default=0.9, ge=0.0, le=1.0)


class AnalyzerSettings(_Strict):
    # Use the learned model (rules alone when False or when no model file exists).
    use_model: bool = True
    # A model trained by `llm-router train-analyzer --out`; None means the one shipped in the package.
    model_path: Path | None = None
    # Extra keyword tables, merged with the shipped `rules/*.yaml` (same schema).
    rules: tuple[RuleTable, ...] = ()
    # The classified part of a long last user turn: its first and last characters. The upper bounds
    # keep a window's distinct tokens far below what a packed score field can sum exactly.
    window_head_chars: int = Field(default=HEAD_CHARS, ge=64, le=32_768)
    window_tail_chars: int = Field(default=TAIL_CHARS, ge=0, le=32_768)
    # Earlier user turns and the system prompt: how many of their most recent characters are read, and
    # how much their evidence counts relative to the last user turn.
    context_chars: int = Field(default=2048, ge=0, le=32_768)
    context_weight: float = Field(default=0.35, ge=0.0, le=1.0)
    llm: LLMClassifierSettings = LLMClassifierSettings()


class AgentSettings(_Strict):
    """One agent: the intents it serves, its system prompt and its routing preferences."""

    name: str = Field(min_length=1)
    intents: tuple[IntentName, ...] = ()
    system_prompt: str = ""
    # Routing preference overrides; None or empty means "the caller's or the default".
    strategy: str | None = None
    user_tier: str | None = None
    allowed_providers: tuple[str, ...] = ()
    # Below this intent confidence the fallback agent answers instead.
    min_intent_confidence: float = Field(default=0.0, ge=0.0, le=1.0)


def default_agents() -> tuple[AgentSettings, ...]:
    reply = " Reply in the language the user writes in."
    return (
        AgentSettings(
            name="sales",
            intents=("sales",),
            system_prompt="You are a sales assistant: answer questions about products, prices, plans and "
            "availability accurately and help the customer choose; never invent prices or stock." + reply,
            min_intent_confidence=0.4,
        ),
        AgentSettings(
            name="support",
            intents=("support",),
            system_prompt="You are a customer support agent: diagnose the problem, give clear numbered "
            "steps, and ask for an order or account reference only when needed." + reply,
            min_intent_confidence=0.4,
        ),
        AgentSettings(
            name="faq",
            intents=("faq",),
            system_prompt="You answer frequently asked questions about policies, hours, shipping, "
            "payments and warranties briefly and precisely." + reply,
            strategy="cost_optimized",
            min_intent_confidence=0.4,
        ),
        AgentSettings(
            name="general",
            intents=("general",),
            system_prompt="You are a helpful assistant." + reply,
        ),
    )


class AgentsSettings(_Strict):
    agents: tuple[AgentSettings, ...] = Field(default_factory=default_agents)
    # The agent for intents no agent claims (by default SMALLTALK) and for unsure intents.
    fallback: str = "general"

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        names = [a.name for a in self.agents]
        if len(set(names)) != len(names):
            raise ValueError(f"agent names must be unique: {names}")
        if self.fallback not in names:
            raise ValueError(f"fallback agent {self.fallback!r} is not among the agents {names}")
        claimed = [i for a in self.agents for i in a.intents]
        if len(set(claimed)) != len(claimed):
            raise ValueError("an intent is served by more than one agent")
        return self
