"""The strategy router: candidates from the catalog, ranked by a strategy into an ordered plan."""

from router_service.strategy.plan import (
    Constraints,
    ContextTooLarge,
    InvalidPreference,
    NoCandidate,
    PlanningError,
    RoutePlan,
    RoutingPreferences,
    ScoredCandidate,
    ScoreParts,
    UnknownModel,
    UnknownStrategy,
    UnknownUserTier,
    Weights,
)
from router_service.strategy.planner import Planner
from router_service.strategy.settings import STRATEGY_NAMES

__all__ = [
    "STRATEGY_NAMES",
    "Constraints",
    "ContextTooLarge",
    "InvalidPreference",
    "NoCandidate",
    "Planner",
    "PlanningError",
    "RoutePlan",
    "RoutingPreferences",
    "ScoreParts",
    "ScoredCandidate",
    "UnknownModel",
    "UnknownStrategy",
    "UnknownUserTier",
    "Weights",
]
