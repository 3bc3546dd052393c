"""What the analyzer produces: a frozen, pure description of a prompt."""

from __future__ import annotations

from dataclasses import dataclass

from router_service.domain import Complexity, Domain, Intent, Language


@dataclass(frozen=True, slots=True)
class PromptFeatures:
    token_estimate: int = 0
    characters: int = 0
    words: int = 0
    sentences: int = 0
    questions: int = 0
    code_blocks: int = 0
    code_lines: int = 0
    math_expressions: int = 0
    list_items: int = 0
    urls: int = 0
    turns: int = 0


@dataclass(frozen=True, slots=True)
class Analysis:
    features: PromptFeatures
    language: Language
    language_confidence: float
    complexity: Complexity
    complexity_score: float
    complexity_confidence: float
    domain: Domain
    domain_confidence: float
    intent: Intent
    intent_confidence: float
    # Which stages decided: "rules", "model", "llm".
    sources: tuple[str, ...] = ("rules",)
