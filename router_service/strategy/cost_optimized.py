"""cost_optimized: the cheapest candidate whose quality clears the floor for the analysed complexity."""

from __future__ import annotations

from router_service.strategy.base import Ranking, StrategyInput, domain_label, relative_cheapness, stable_order
from router_service.strategy.candidates import CandidateSet

# Floors and qualities are decimals like 0.7; compare with a little slack so 0.7 clears 0.70.
_EPSILON = 1e-9


class CostOptimized:
    name = "cost_optimized"

    def rank(self, request: StrategyInput, candidates: CandidateSet) -> Ranking:
        floor = request.quality_floor
        quality, costs = candidates.quality, candidates.costs
        cheap = relative_cheapness(costs)
        # Cheapest first; among equal prices the better model, then the faster one.
        order = stable_order(len(candidates), [(costs, False), (quality, True), (candidates.latency_ms, False)])
        clearing = [i for i in order if quality[i] + _EPSILON >= floor]
        below = [i for i in order if quality[i] + _EPSILON < floor]
        domain = domain_label(request.domain)
        level = request.complexity.name
        # One shared reason (the model's own quality is in its score parts): formatting one per model
        # would cost more than the ranking itself.
        declined = dict.fromkeys(below, f"{domain} quality below the {level} floor {floor:.2f}")
        if clearing:
            first = clearing[0]
            decided = f"cheapest model with {domain} quality ≥ {floor:.2f} ({quality[first]:.2f})"
            empty = ""
        else:
            best = max(range(len(candidates)), key=quality.__getitem__)
            decided = (f"no candidate reaches {domain} quality {floor:.2f} for {level} "
                       f"(best {quality[best]:.2f}, {candidates.entries[best].ref})")
            empty = "quality_floor"
        return Ranking(clearing + below, len(clearing), cheap, decided, cost_parts=cheap, declined=declined,
                       empty_constraint=empty, learns=True)
