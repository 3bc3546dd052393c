"""Complexity tier from the wording of the request (rule cues) and its size and structure.

The tiers follow the labelling guide of the prompts data: TRIVIAL greeting or thanks; SIMPLE one fact
or look-up; MEDIUM explain or describe one thing; COMPLEX analyse or compare several factors and
recommend; EXPERT multi-part design with proofs, complexity analysis and trade-offs. Cue words set the
tier; size and structure can raise it (a long document is at least MEDIUM); a few guards keep keyword
stuffing from buying a higher tier: every keyword counts once, a tier needs a minimum of distinct words,
and a turn made mostly of keywords is capped.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from router_service.domain import Complexity

# Tier boundaries on the [0, 1] score: TRIVIAL < 0.2 <= SIMPLE < 0.4 <= MEDIUM < 0.6 <= COMPLEX < 0.8,
# so the tier is int(score * 5) into this tuple.
_TIERS = tuple(Complexity)


class ComplexityEvidence(NamedTuple):
    """What the tier is judged on (a NamedTuple: built on every analysis, and cheap to build)."""

    words: int  # word tokens of the last user turn
    distinct: int  # distinct word tokens (of its analysis window)
    social: int = 0  # distinct cue keywords per class, from the instruction region
    lookup: int = 0
    explain: int = 0
    analyze: int = 0
    expert: int = 0
    parts: int = 0  # extra questions, semicolons and enumerated items: a request in several parts
    code: bool = False
    math: bool = False


def cue_score(e: ComplexityEvidence) -> float | None:
    """The score the wording alone implies, or None when no cue word occurs."""
    if e.expert >= 2:
        return 0.86 + 0.02 * min(e.expert - 2, 5)
    if e.expert or e.analyze:
        return 0.64 + 0.04 * min(e.analyze + e.expert - 1, 3)
    if e.explain:
        return 0.46 + 0.03 * min(e.explain - 1, 3)
    if e.lookup:
        return 0.27
    if e.social and (e.words <= 4 or e.distinct <= 2):
        return 0.08
    return None


def size_score(words: int) -> float:
    """Longer requests need more capable models: +0.06 per doubling, from 0.1 for one word up to 0.7."""
    return min(0.1 + 0.06 * math.log2(max(words, 1)), 0.7)


def assess(e: ComplexityEvidence, context_score: float | None = None) -> tuple[Complexity, float, float]:
    """(tier, score in [0, 1], confidence) of a request."""
    words = e.words
    if words == 0:
        return Complexity.TRIVIAL, 0.0, 0.5
    cue = cue_score(e)
    score = min(0.1 + 0.06 * math.log2(words), 0.7)  # size_score, inlined: this runs on every call
    if cue is not None:
        if cue < 0.2:
            # A greeting or thanks of a few words stays TRIVIAL however it is padded ("thanks a lot!").
            score = min(score, 0.18)
        score = max(score, cue)
    if e.parts:
        score += min(0.03 * e.parts, 0.09)
    if e.code:
        score += 0.04
    if e.math:
        score += 0.03
    keywords = e.social + e.lookup + e.explain + e.analyze + e.expert
    distinct = e.distinct
    if distinct < 3:
        score = min(score, 0.39)
    elif distinct < 6 or keywords > 0.5 * words:
        score = min(score, 0.59)
    elif distinct < 12 or keywords > 0.35 * words:
        score = min(score, 0.79)
    if context_score is not None:
        # A short follow-up in a hard conversation ("and the failure case?") inherits part of it.
        score = max(score, context_score - 0.2)
    score = min(max(score, 0.0), 0.99)
    # Distance to the nearest tier boundary: scores near a boundary are less certain.
    margin = abs(score - round(score * 5) / 5) if 0.1 < score < 0.9 else 0.1
    certainty = min(margin * 10.0, 1.0)
    confidence = (0.6 + 0.35 * certainty) if cue is not None else (0.4 + 0.3 * certainty)
    return _TIERS[int(score * 5)], score, confidence
