"""weighted: the caller's weights over quality, cost and latency (the planner applies the constraints)."""

from __future__ import annotations

from router_service.strategy.base import (
    Ranking,
    StrategyInput,
    describe_win,
    quality_scores,
    relative_cheapness,
    stable_order,
    weighted_scores,
)
from router_service.strategy.candidates import CandidateSet


class Weighted:
    name = "weighted"

    def rank(self, request: StrategyInput, candidates: CandidateSet) -> Ranking:
        w = request.weights
        cheap = relative_cheapness(candidates.costs)
        memo = candidates.memo.get("weighted")
        if memo is None:
            # Cost-independent, so computed once per shared set of columns.
            memo = candidates.memo["weighted"] = (relative_cheapness(candidates.latency_ms),
                                                  quality_scores(candidates.quality))
        fast, good = memo
        scores = weighted_scores(w, good, cheap, fast)
        order = stable_order(len(candidates), [(scores, True), (candidates.costs, False)])
        ranking = Ranking(order, len(order), scores, "no candidate", cost_parts=cheap, latency_parts=fast,
                          learns=True)
        if order:
            ranking.decided_by = (f"weights quality {w.quality:g}, cost {w.cost:g}, latency {w.latency:g}: "
                                  f"{describe_win(w, ranking, candidates, order)}")
        return ranking
