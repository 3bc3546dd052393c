"""cheapest_first: every candidate sorted by estimated cost, all of them as the failover chain."""

from __future__ import annotations

from router_service.strategy.base import Ranking, StrategyInput, relative_cheapness, stable_order
from router_service.strategy.candidates import CandidateSet


class CheapestFirst:
    name = "cheapest_first"

    def rank(self, request: StrategyInput, candidates: CandidateSet) -> Ranking:
        cheap = relative_cheapness(candidates.costs)
        # Equal prices (local models are all free): the better model first.
        order = stable_order(len(candidates), [(candidates.costs, False), (candidates.quality, True)])
        decided = f"cheapest of {len(order)} candidates; every other one follows by price"
        return Ranking(order, len(order), cheap, decided, cost_parts=cheap, keep_order=True, all_fallbacks=True)
