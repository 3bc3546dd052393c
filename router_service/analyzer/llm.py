"""The seam for an optional LLM classifier, consulted only when the local answer stays unsure.

The analyzer itself never does I/O; the server supplies an implementation (through the cheapest
available model) and calls `Analyzer.analyze_with_llm`, which awaits it only for low-confidence labels.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Protocol

from router_service.analyzer.analysis import Analysis
from router_service.domain import Complexity, Domain, Intent, Language


@dataclass(frozen=True, slots=True)
class LLMLabels:
    """What a classifier could tell; None for a label it did not decide."""

    domain: Domain | None = None
    intent: Intent | None = None
    language: Language | None = None
    complexity: Complexity | None = None


class LLMClassifier(Protocol):
    async def classify(self, text: str) -> LLMLabels:
        """Label `text` (the last user turn, bounded). May raise; the caller keeps the local answer."""
        ...


def unsure_labels(analysis: Analysis, threshold: float) -> frozenset[str]:
    """Names of the labels whose confidence is below `threshold`."""
    confidences = {
        "domain": analysis.domain_confidence,
        "intent": analysis.intent_confidence,
        "language": analysis.language_confidence,
        "complexity": analysis.complexity_confidence,
    }
    return frozenset(name for name, c in confidences.items() if c < threshold)


def merge(analysis: Analysis, labels: LLMLabels, unsure: frozenset[str], confidence: float) -> Analysis:
    """Replace the unsure labels the classifier decided; sure labels keep the local answer."""
    changes: dict[str, object] = {}
    if labels.domain is not None and "domain" in unsure:
        changes.update(domain=labels.domain, domain_confidence=confidence)
    if labels.intent is not None and "intent" in unsure:
        changes.update(intent=labels.intent, intent_confidence=confidence)
    if labels.language is not None and "language" in unsure:
        changes.update(language=labels.language, language_confidence=confidence)
    if labels.complexity is not None and "complexity" in unsure:
        # The middle of the tier's band on the [0, 1] score.
        score = (int(labels.complexity) - 1) / 5 + 0.1
        changes.update(complexity=labels.complexity, complexity_score=score, complexity_confidence=confidence)
    if not changes:
        return analysis
    return dataclasses.replace(analysis, sources=(*analysis.sources, "llm"), **changes)  # type: ignore[arg-type]
