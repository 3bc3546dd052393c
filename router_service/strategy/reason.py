"""The sentence a person reads: what was asked, which strategy, what decided, what it saves."""

from __future__ import annotations

from router_service.analyzer.analysis import Analysis
from router_service.catalog import ModelEntry
from router_service.domain import Domain

_NOUNS = {
    Domain.UNKNOWN: "request",
    Domain.CODING: "coding question",
    Domain.MATH: "math problem",
    Domain.ANALYSIS: "analysis request",
    Domain.CREATIVE_WRITING: "creative-writing request",
    Domain.EXTRACTION: "extraction request",
    Domain.SUMMARIZATION: "summarization request",
    Domain.CLASSIFICATION: "classification request",
    Domain.BRAINSTORMING: "brainstorming request",
    Domain.CLOSED_QA: "question about a given text",
    Domain.OPEN_QA: "general-knowledge question",
    Domain.CHIT_CHAT: "chit-chat message",
    Domain.TRANSLATION: "translation request",
}


def describe_request(analysis: Analysis) -> str:
    """"SIMPLE coding question"."""
    return f"{analysis.complexity.name} {_NOUNS.get(analysis.domain, 'request')}"


def savings(selected: ModelEntry, cost: int, baseline: ModelEntry | None, baseline_cost: int) -> str:
    """"94% cheaper than the baseline (anthropic/claude-opus-4-6)", or what it costs more."""
    if baseline is None or baseline_cost <= 0:
        return "no baseline to compare"
    if selected.ref == baseline.ref:
        return "the baseline model itself"
    if cost <= baseline_cost:
        # Floor, so "100% cheaper" only ever means free.
        percent = (baseline_cost - cost) * 100 // baseline_cost
        return f"{percent}% cheaper than the baseline ({baseline.ref})"
    percent = -((baseline_cost - cost) * 100 // baseline_cost)
    return f"{percent}% dearer than the baseline ({baseline.ref})"
