"""What the strategy router takes and produces: preferences in, an ordered plan out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from router_service.catalog import ModelEntry
from router_service.domain import Capability, ChatMessage, ModelRef


@dataclass(frozen=True, slots=True)
class Weights:
    cost: float = 1.0
    latency: float = 1.0
    quality: float = 1.0


@dataclass(frozen=True, slots=True)
class Constraints:
    max_cost_nano_usd: int | None = None
    max_cost_per_1k_tokens_nano_usd: int | None = None
    max_latency_ms: int | None = None
    min_context_tokens: int | None = None
    required_capabilities: frozenset[Capability] = frozenset()


@dataclass(frozen=True, slots=True)
class RoutingPreferences:
    # Strategy name ("balanced", "cost_optimized", ...); None means the configured default.
    strategy: str | None = None
    weights: Weights | None = None
    constraints: Constraints = Constraints()
    allowed_providers: frozenset[str] = frozenset()
    denied_providers: frozenset[str] = frozenset()
    # A provider (model "") or a provider and model.
    force_model: ModelRef | None = None
    # "free", "pro", "enterprise"; None means the configured default tier.
    user_tier: str | None = None
    allow_context_trimming: bool = False
    use_agent: bool = False
    latency_sensitive: bool = False


# ScoreParts and ScoredCandidate are immutable named tuples rather than frozen dataclasses: a plan holds
# one per catalog model (50+), and a frozen dataclass costs about five times as much to build, which
# alone exceeded the planning budget. Same fields, same constructor, same attribute access.
class ScoreParts(NamedTuple):
    """Each part in [0, 1], higher is better; quality is absolute, cost and latency relative."""

    quality: float = 0.0
    cost: float = 0.0
    latency: float = 0.0
    tier_fit: float = 0.0


class ScoredCandidate(NamedTuple):
    entry: ModelEntry
    score: float
    parts: ScoreParts
    estimated_cost_nano_usd: int
    eligible: bool = True
    excluded_reason: str = ""


@dataclass(frozen=True, slots=True)
class AlternativeColumns:
    """Every model a plan considered, column-wise in plan order: the strategy's order (the first
    `eligible` of them plannable), then the ones a preference or limit excluded, with the reason."""

    entries: Sequence[ModelEntry]
    scores: Sequence[float]
    quality: Sequence[float]
    cost: Sequence[float]
    latency: Sequence[float]
    tier_fit: Sequence[float]
    estimated_cost_nano_usd: Sequence[int]
    eligible: int
    excluded_reasons: Sequence[str]

    def __len__(self) -> int:
        return len(self.entries)


class AlternativeSource(Protocol):
    """Builds a plan's alternatives when they are first read (the planner's implementation)."""

    def columns(self) -> AlternativeColumns: ...

    def planned(self) -> AlternativeColumns: ...

    def records(self) -> tuple[ScoredCandidate, ...]: ...


@dataclass(frozen=True, slots=True)
class RoutePlan:
    """The ordered candidates (selected first, then fallbacks) and everything needed to explain them.

    The scored alternatives (one per catalog model) are built when first read, as columns for the
    wire (`alternative_columns`) or as records (`alternatives`): a Complete whose caller never sees
    them, or a gateway that only needs the order, does not pay for 50+ records per request.
    """

    candidates: tuple[ModelEntry, ...]
    scored: AlternativeSource = field(repr=False)
    reason: str
    strategy: str
    estimated_cost_nano_usd: int
    baseline: ModelEntry | None
    baseline_cost_nano_usd: int
    # The messages to send (after trimming, when the caller allowed it).
    messages: tuple[ChatMessage, ...]
    trimmed_messages: int = 0
    experiment_arm: str = ""
    warnings: tuple[str, ...] = ()

    @property
    def selected(self) -> ModelEntry:
        return self.candidates[0]

    @property
    def alternatives(self) -> tuple[ScoredCandidate, ...]:
        return self.scored.records()

    def alternative_columns(self) -> AlternativeColumns:
        return self.scored.columns()

    def planned_columns(self) -> AlternativeColumns:
        """The scored records of the planned candidates only (selected, then fallbacks)."""
        return self.scored.planned()


class PlanningError(Exception):
    """No plan can be made for this request."""


class UnknownModel(PlanningError):
    """A forced provider or model is not in the catalog (NOT_FOUND)."""


class NoCandidate(PlanningError):
    """Every candidate was excluded (FAILED_PRECONDITION); `constraint` names what excluded the last ones."""

    def __init__(self, message: str, constraint: str) -> None:
        super().__init__(message)
        self.constraint = constraint


class ContextTooLarge(PlanningError):
    """The prompt fits no model's context window and trimming was not allowed (INVALID_ARGUMENT)."""

    def __init__(self, message: str, prompt_tokens: int, largest_window: int) -> None:
        super().__init__(message)
        self.prompt_tokens = prompt_tokens
        self.largest_window = largest_window


class InvalidPreference(PlanningError):
    """A routing preference names something that does not exist (INVALID_ARGUMENT); `field` names it."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


class UnknownStrategy(InvalidPreference):
    """The request names a strategy the router does not have (INVALID_ARGUMENT)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "preferences.strategy")


class UnknownUserTier(InvalidPreference):
    """The request names a user tier the configuration does not define (INVALID_ARGUMENT)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "preferences.user_tier")
