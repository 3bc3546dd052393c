"""The one interface every strategy implements, and the scoring arithmetic they share.

A strategy sees only candidates that already satisfy every constraint and returns an order over them:
the ones it would plan (best first), then the ones it declines with the reason, plus the score parts.
The planner does everything else (constraints, context fit, learning, fallbacks, the plan itself).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from router_service.domain import Complexity, Domain, ModelRef, ModelTier
from router_service.strategy.candidates import CandidateSet
from router_service.strategy.plan import Weights


@dataclass(frozen=True, slots=True)
class StrategyInput:
    """What a strategy may take into account besides the candidates."""

    complexity: Complexity
    domain: Domain
    weights: Weights
    # Minimum quality for the analysed domain that cost_optimized accepts.
    quality_floor: float
    # The model tier balanced matches to the complexity.
    preferred_tier: ModelTier
    # The rules strategy's ordered list for each complexity.
    rules: Mapping[Complexity, tuple[ModelRef, ...]] = field(default_factory=dict)


@dataclass(slots=True)
class Ranking:
    """A strategy's verdict, by candidate index. Score parts not given are 0."""

    # Candidate indices: the `plannable` first (best first), then the declined ones.
    order: list[int]
    plannable: int
    scores: Sequence[float]
    # The deciding factor, for the reason ("cheapest model with coding quality ≥ 0.70 (0.75)").
    decided_by: str
    cost_parts: Sequence[float] = ()
    latency_parts: Sequence[float] = ()
    tier_fit: Sequence[float] = ()
    # Why each declined index was declined.
    declined: Mapping[int, str] = field(default_factory=dict)
    # When nothing is plannable: the strategy's own rule that declined the last candidates.
    empty_constraint: str = ""
    # Fallbacks follow `order` exactly (no provider interleaving).
    keep_order: bool = False
    # Every plannable candidate becomes a fallback, whatever max_fallbacks says.
    all_fallbacks: bool = False
    # The score reflects observed results, so exploring a runner-up can teach something.
    learns: bool = False
    warnings: tuple[str, ...] = ()

    def refs(self, candidates: CandidateSet) -> list[ModelRef]:
        """The plannable candidates' references, best first (for tests and tools)."""
        return [candidates.entries[i].ref for i in self.order[: self.plannable]]


class Strategy(Protocol):
    name: str

    def rank(self, request: StrategyInput, candidates: CandidateSet) -> Ranking:
        """Order candidates (all of which satisfy the constraints) for this request."""
        ...


# Quality enters scores as the shortfall from the best candidate over this span (about the gap between
# the fast and premium tiers), so small editorial differences do not swing a plan while a model whose
# observed quality collapsed does sink. Cost and latency are already relative (0 to 1 across candidates).
QUALITY_SPAN = 0.25


# Relative scores stretch the candidates' range to [0, 1], but never a range narrower than 2x: two
# models 0.2% apart in latency must not look a whole score point apart.
MIN_LOG_SPAN = math.log(2.0)


def relative_cheapness(values: Sequence[float]) -> list[float]:
    """1.0 for the smallest value, falling on a log scale (prices span 1000x) to 0.0 for the largest."""
    if not values:
        return []
    logs = list(map(math.log1p, values))
    low = min(logs)
    scale = 1.0 / max(max(logs) - low, MIN_LOG_SPAN)
    return [1.0 - (x - low) * scale for x in logs]


def quality_scores(qualities: Sequence[float]) -> list[float]:
    best = max(qualities, default=0.0)
    return [1.0 - (best - q) / QUALITY_SPAN if best - q < QUALITY_SPAN else 0.0 for q in qualities]


def weighted_scores(
    weights: Weights, quality: Sequence[float], cost: Sequence[float], latency: Sequence[float]
) -> list[float]:
    total = weights.quality + weights.cost + weights.latency
    wq, wc, wl = weights.quality / total, weights.cost / total, weights.latency / total
    return [wq * q + wc * c + wl * lat for q, c, lat in zip(quality, cost, latency, strict=True)]


def describe_win(weights: Weights, ranking: Ranking, candidates: CandidateSet, among: Sequence[int]) -> str:
    """"score 0.91 (...), won on cost over groq/x (0.84)" for the first of `among` (plannable indices)."""
    first = among[0]
    quality, cost, latency = candidates.quality, ranking.cost_parts, ranking.latency_parts
    text = (f"score {ranking.scores[first]:.2f} (quality {quality[first]:.2f}, cost {cost[first]:.2f}, "
            f"latency {latency[first]:.2f})")
    if len(among) > 1:
        second = among[1]
        leads = {
            "quality": weights.quality * (quality[first] - quality[second]) / QUALITY_SPAN,
            "cost": weights.cost * (cost[first] - cost[second]),
            "latency": weights.latency * (latency[first] - latency[second]),
        }
        part = max(leads, key=lambda k: leads[k])
        text += f", won on {part} over {candidates.entries[second].ref} ({ranking.scores[second]:.2f})"
    return text


def domain_label(domain: Domain) -> str:
    return "general" if domain is Domain.UNKNOWN else domain.name.lower().replace("_", " ")


def stable_order(size: int, keys: Sequence[tuple[Sequence[float], bool]]) -> list[int]:
    """Indices sorted by keys[0], then keys[1], ...; each key is (column, descending).

    Successive stable sorts on C-level key functions: several times faster than tuple keys, and
    equal rows keep the candidates' own (catalog) order, so plans are deterministic.
    """
    order = list(range(size))
    for column, descending in reversed(keys):
        order.sort(key=column.__getitem__, reverse=descending)
    return order
