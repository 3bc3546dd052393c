"""quality_optimized: the best quality for the analysed domain; cost breaks ties."""

from __future__ import annotations

from router_service.strategy.base import Ranking, StrategyInput, domain_label, relative_cheapness, stable_order
from router_service.strategy.candidates import CandidateSet

# Qualities equal to three decimals are a tie: the catalog's priors carry no finer information.
_TIE_SCALE = 1000.0


class QualityOptimized:
    name = "quality_optimized"

    def rank(self, request: StrategyInput, candidates: CandidateSet) -> Ranking:
        quality = candidates.quality
        rounded = [int(q * _TIE_SCALE + 0.5) for q in quality]
        order = stable_order(len(candidates), [(rounded, True), (candidates.costs, False),
                                               (candidates.latency_ms, False)])
        decided = "no candidate"
        if order:
            top = rounded[order[0]]
            tied = rounded.count(top)
            decided = f"highest {domain_label(request.domain)} quality ({quality[order[0]]:.2f})"
            if tied > 1:
                decided += f"; cost broke a tie among {tied}"
        return Ranking(order, len(order), quality, decided, cost_parts=relative_cheapness(candidates.costs),
                       learns=True)
