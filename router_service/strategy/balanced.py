"""balanced (the default): the model tier matched to the complexity, then weighted quality, cost, latency.

Tier fit orders first, so a COMPLEX prompt stays on premium models as long as one is reachable; within
a tier the weighted score decides, with cost and latency relative to that tier's other models (a free
local model elsewhere in the catalog must not flatten the differences that matter here). Other tiers
follow as fallbacks, nearest first, higher before lower (a stronger model is the safer substitute).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from router_service import native
from router_service.domain import ModelTier
from router_service.strategy.base import (
    MIN_LOG_SPAN,
    Ranking,
    StrategyInput,
    describe_win,
    quality_scores,
    relative_cheapness,
)
from router_service.strategy.candidates import CandidateSet

if TYPE_CHECKING:
    from llm_router_native import TierRanker


def tier_fit(preferred: ModelTier, tier: ModelTier) -> float:
    """1.0 for the preferred tier; one tier up 0.7, one down 0.6, two up 0.4, two down 0.2."""
    steps = int(tier) - int(preferred)
    return 1.0 - 0.3 * steps if steps >= 0 else 1.0 + 0.4 * steps


@dataclass(frozen=True, slots=True)
class _Group:
    """One tier's candidates as a contiguous run [start, stop) of a tier-sorted order."""

    tier: ModelTier
    start: int
    stop: int
    latency: list[float]
    quality: list[float]


@dataclass(frozen=True, slots=True)
class _Layout:
    # Candidate indices sorted by tier; `in_order` when that is the identity (the planner's sets are).
    by_tier: list[int]
    in_order: bool
    groups: tuple[_Group, ...]
    # Latency scores in tier-sorted position (the groups' concatenated).
    latency: list[float]
    # Memoised per weights (quality, latency) and per preferred tier; see _fixed_parts and _fits.
    fixed: dict[tuple[float, float], list[list[float]]] = field(default_factory=dict)
    fits: dict[ModelTier, list[float]] = field(default_factory=dict)
    # The compiled ranking over these groups (router_service.native), or None for the Python reference.
    ranker: TierRanker | None = None
    # Latency scores and (per preferred tier) tier fits in candidate order, for the compiled ranking.
    latency_by_candidate: list[float] = field(default_factory=list)
    fits_by_candidate: dict[ModelTier, list[float]] = field(default_factory=dict)


def _layout(candidates: CandidateSet) -> _Layout:
    """Tier groups with their cost-independent scores; memoised on the candidate set's shared columns."""
    cached = candidates.memo.get("balanced")
    if isinstance(cached, _Layout):
        return cached
    entries = candidates.entries
    by_tier = sorted(range(len(entries)), key=lambda i: entries[i].tier)
    groups, start = [], 0
    while start < len(by_tier):
        tier = entries[by_tier[start]].tier
        stop = start
        while stop < len(by_tier) and entries[by_tier[stop]].tier is tier:
            stop += 1
        members = by_tier[start:stop]
        groups.append(_Group(tier, start, stop, relative_cheapness([candidates.latency_ms[i] for i in members]),
                             quality_scores([candidates.quality[i] for i in members])))
        start = stop
    latency = [x for g in groups for x in g.latency]
    ranker = None
    latency_c = latency
    if native.TierRanker is not None:
        ranker = native.TierRanker(by_tier, [(int(g.tier), g.start, g.stop) for g in groups],
                                   [x for g in groups for x in g.quality], latency)
        latency_c = _by_candidate(by_tier, latency)
    layout = _Layout(by_tier, by_tier == list(range(len(by_tier))), tuple(groups), latency, ranker=ranker,
                     latency_by_candidate=latency_c)
    candidates.memo["balanced"] = layout
    return layout


def _by_candidate(by_tier: list[int], column: list[float]) -> list[float]:
    """A column in tier-sorted position, rearranged into candidate order."""
    out = [0.0] * len(by_tier)
    for pos, i in enumerate(by_tier):
        out[i] = column[pos]
    return out


class Balanced:
    name = "balanced"

    def rank(self, request: StrategyInput, candidates: CandidateSet) -> Ranking:
        layout = _layout(candidates)
        if layout.ranker is None:
            return self.rank_reference(request, candidates)
        wq, wc, wl = _shares(request)
        preferred = request.preferred_tier
        order, scores, cheap, best_fit, best_len = layout.ranker.rank(candidates.costs, wq, wl, wc, preferred)
        fits = layout.fits_by_candidate.get(preferred)
        if fits is None:
            fits = layout.fits_by_candidate[preferred] = _by_candidate(layout.by_tier, _fits(layout, preferred))
        ranking = Ranking(order, len(order), scores, "no candidate", cost_parts=cheap,
                          latency_parts=layout.latency_by_candidate, tier_fit=fits, learns=True)
        return _explained(ranking, request, candidates, best_fit, order[:best_len])

    def rank_reference(self, request: StrategyInput, candidates: CandidateSet) -> Ranking:
        """`rank` in pure Python: the reference the compiled ranking is tested against."""
        wq, wc, wl = _shares(request)
        layout = _layout(candidates)
        by_tier, in_order = layout.by_tier, layout.in_order
        costs = candidates.costs if in_order else [candidates.costs[i] for i in by_tier]
        log_costs = list(map(math.log1p, costs))
        # The cost-independent part of each score (quality and latency), per weight set, memoised.
        fixed = _fixed_parts(layout, candidates, wq, wl)
        # Columns in tier-sorted position (whole groups concatenated), then back to candidate order.
        scores_s: list[float] = []
        cheap_s: list[float] = []
        runs: list[tuple[float, list[int]]] = []
        # This loop runs on every request over every model: relative_cheapness and weighted_scores are
        # inlined, and with cheapness = 1 - (log - low) * scale a score is fixed + wc - wc * scale * (log - low).
        preferred = request.preferred_tier
        for g, base in zip(layout.groups, fixed, strict=True):
            logs = log_costs[g.start:g.stop]
            low = min(logs)
            scale = 1.0 / max(max(logs) - low, MIN_LOG_SPAN)
            top = 1.0 + low * scale
            cheap = [top - x * scale for x in logs]
            scores = [b + wc * c for b, c in zip(base, cheap, strict=True)]
            # Equal scores keep catalog order (identical models tie exactly, price included).
            local = sorted(range(g.stop - g.start), key=scores.__getitem__, reverse=True)
            if in_order:
                start = g.start
                runs.append((tier_fit(preferred, g.tier), [start + k for k in local]))
            else:
                runs.append((tier_fit(preferred, g.tier), [by_tier[g.start + k] for k in local]))
            scores_s += scores
            cheap_s += cheap
        fast_s, fits_s = layout.latency, _fits(layout, preferred)
        if in_order:
            scores_c, cheap_c, fast_c, fits_c = scores_s, cheap_s, fast_s, fits_s
        else:
            scores_c, cheap_c, fast_c, fits_c = (_by_candidate(by_tier, c) for c in (scores_s, cheap_s, fast_s, fits_s))
        if len(runs) > 1:
            runs.sort(key=_negative_fit)
        order = [i for _, members in runs for i in members] if len(runs) > 1 else runs[0][1] if runs else []
        ranking = Ranking(order, len(order), scores_c, "no candidate", cost_parts=cheap_c, latency_parts=fast_c,
                          tier_fit=fits_c, learns=True)
        best_fit, best_run = runs[0] if runs else (0.0, [])
        return _explained(ranking, request, candidates, best_fit, best_run)


def _shares(request: StrategyInput) -> tuple[float, float, float]:
    """The weights as shares of their sum: (quality, cost, latency)."""
    w = request.weights
    total = w.quality + w.cost + w.latency
    return w.quality / total, w.cost / total, w.latency / total


def _explained(
    ranking: Ranking, request: StrategyInput, candidates: CandidateSet, best_fit: float, best_run: list[int]
) -> Ranking:
    """The ranking with its deciding factor (and a warning when the preferred tier was out of reach)."""
    if not best_run:
        return ranking
    wanted = request.preferred_tier.name.lower()
    level = request.complexity.name
    win = describe_win(request.weights, ranking, candidates, best_run)
    if best_fit == 1.0:
        ranking.decided_by = f"{wanted} tier for {level}, {win}"
    else:
        got = candidates.entries[best_run[0]].tier.name.lower()
        ranking.decided_by = f"no {wanted}-tier model reachable for {level}, nearest tier {got}, {win}"
        ranking.warnings = (f"no {wanted}-tier model was reachable for a {level} prompt; planned on the "
                            f"{got} tier",)
    return ranking


def _negative_fit(run: tuple[float, list[int]]) -> float:
    return -run[0]


def _fixed_parts(layout: _Layout, candidates: CandidateSet, wq: float, wl: float) -> list[list[float]]:
    """Per group, wq * quality score + wl * latency score of each member (shared while the weights are)."""
    key = (wq, wl)
    found = layout.fixed.get(key)
    if found is None:
        if len(layout.fixed) >= 64:
            layout.fixed.clear()
        found = layout.fixed[key] = [
            [wq * q + wl * lat for q, lat in zip(g.quality, g.latency, strict=True)] for g in layout.groups
        ]
    return found


def _fits(layout: _Layout, preferred: ModelTier) -> list[float]:
    """Each member's tier fit for the preferred tier, in tier-sorted position."""
    found = layout.fits.get(preferred)
    if found is None:
        found = layout.fits[preferred] = [
            fit for g in layout.groups for fit in [tier_fit(preferred, g.tier)] * (g.stop - g.start)
        ]
    return found
