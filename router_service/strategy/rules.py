"""rules: the configured ordered list for the analysed complexity (e.g. TRIVIAL → local llama first)."""

from __future__ import annotations

from router_service.strategy.base import Ranking, StrategyInput
from router_service.strategy.candidates import CandidateSet


class Rules:
    name = "rules"

    def rank(self, request: StrategyInput, candidates: CandidateSet) -> Ranking:
        listed = request.rules.get(request.complexity, ())
        position = {ref: i for i, ref in enumerate(listed)}
        level = request.complexity.name
        where = [position.get(e.ref) for e in candidates.entries]
        planned = sorted((i for i, pos in enumerate(where) if pos is not None), key=lambda i: where[i] or 0)
        others = [i for i, pos in enumerate(where) if pos is None]
        # Score 1.0 for the first listed model, falling with its position; 0 for the unlisted.
        scores = [1.0 - pos / len(listed) if pos is not None else 0.0 for pos in where]
        declined = dict.fromkeys(others, f"not in the {level} rule")
        if not planned:
            return Ranking(others, 0, scores, f"no model of the {level} rule passed the constraints",
                           declined=declined, empty_constraint="rules", keep_order=True)
        first = where[planned[0]] or 0
        decided = f"{level} rule, model {first + 1} of {len(listed)}"
        if first > 0:
            decided += f" (earlier ones unavailable or excluded: {', '.join(str(r) for r in listed[:first])})"
        return Ranking(planned + others, len(planned), scores, decided, declined=declined, keep_order=True)
