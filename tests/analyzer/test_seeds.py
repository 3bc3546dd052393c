"""The complexity seed examples of the prompts README must hold exactly."""

from __future__ import annotations

import pytest

from router_service.analyzer import Analyzer
from router_service.analyzer.settings import AnalyzerSettings
from router_service.domain import Complexity, Language

from .conftest import user

EXPERT_SEED = (
    "Design a globally distributed inventory service for an online retailer that never oversells during flash "
    "sales. Specify the data model, the reservation protocol and the failure handling; prove that the total "
    "number of confirmed orders can never exceed stock under concurrent requests and network partitions; derive "
    "the latency and throughput bounds; and justify every trade-off against at least two alternative designs."
)

SEEDS = [
    ("hola", {Complexity.TRIVIAL}),
    ("¿cuál es el precio?", {Complexity.SIMPLE}),
    ("¿cuál es el horario?", {Complexity.SIMPLE}),
    ("explica cómo funciona el producto", {Complexity.MEDIUM}),
    ("describe el proceso de devolución", {Complexity.MEDIUM}),
    ("analiza la estrategia de mercado y compárala con la competencia", {Complexity.COMPLEX}),
    (EXPERT_SEED, {Complexity.EXPERT}),
    ("What is 2+2?", {Complexity.TRIVIAL, Complexity.SIMPLE}),
]


@pytest.mark.parametrize(("text", "allowed"), SEEDS, ids=[s[0][:30] for s in SEEDS])
def test_seed_complexity(analyzer: Analyzer, text: str, allowed: set[Complexity]) -> None:
    analysis = analyzer.analyze(user(text))
    assert analysis.complexity in allowed
    # The score lies in the tier's band, so the strategy can use either.
    assert int(analysis.complexity) - 1 <= analysis.complexity_score * 5 < int(analysis.complexity)


@pytest.mark.parametrize(("text", "allowed"), SEEDS, ids=[s[0][:30] for s in SEEDS])
def test_seed_complexity_without_model(text: str, allowed: set[Complexity]) -> None:
    assert Analyzer(AnalyzerSettings(use_model=False)).analyze(user(text)).complexity in allowed


def test_seed_languages(analyzer: Analyzer) -> None:
    for text, _ in SEEDS[:6]:
        assert analyzer.analyze(user(text)).language is Language.SPANISH, text
    assert analyzer.analyze(user(EXPERT_SEED)).language is Language.ENGLISH
