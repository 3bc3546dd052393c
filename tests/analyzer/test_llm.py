"""The optional LLM classifier seam: off by default, consulted only for unsure labels, never fatal."""

from __future__ import annotations

import asyncio

from router_service.analyzer import Analyzer
from router_service.analyzer.llm import LLMClassifier, LLMLabels
from router_service.analyzer.settings import AnalyzerSettings, LLMClassifierSettings
from router_service.domain import Complexity, Domain, Intent

from .conftest import user

AMBIGUOUS = "xyzzy plugh"  # no known word: every local confidence is low


class RecordingClassifier:
    """A test double standing in for the server's real classifier."""

    def __init__(self, labels: LLMLabels, delay: float = 0.0, error: Exception | None = None) -> None:
        self.labels, self.delay, self.error = labels, delay, error
        self.calls: list[str] = []

    async def classify(self, text: str) -> LLMLabels:
        self.calls.append(text)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.error is not None:
            raise self.error
        return self.labels


LABELS = LLMLabels(domain=Domain.CODING, intent=Intent.SUPPORT, complexity=Complexity.COMPLEX)


def _enabled(**kw: float) -> AnalyzerSettings:
    return AnalyzerSettings(llm=LLMClassifierSettings(enabled=True, **kw))


def test_protocol_is_satisfied_by_the_double() -> None:
    classifier: LLMClassifier = RecordingClassifier(LABELS)
    assert classifier is not None


async def test_off_by_default() -> None:
    classifier = RecordingClassifier(LABELS)
    analysis = await Analyzer(llm_classifier=classifier).analyze_with_llm(user(AMBIGUOUS))
    assert classifier.calls == []
    assert "llm" not in analysis.sources


async def test_consulted_for_unsure_labels_only() -> None:
    classifier = RecordingClassifier(LABELS)
    analyzer = Analyzer(_enabled(threshold=0.6), llm_classifier=classifier)
    local = analyzer.analyze(user(AMBIGUOUS))
    analysis = await analyzer.analyze_with_llm(user(AMBIGUOUS))
    assert classifier.calls == [AMBIGUOUS]
    assert analysis.sources[-1] == "llm"
    for name in ("domain", "intent", "complexity"):
        if getattr(local, f"{name}_confidence") < 0.6:
            assert getattr(analysis, name) == getattr(LABELS, name)
            assert getattr(analysis, f"{name}_confidence") == 0.9
        else:
            assert getattr(analysis, name) == getattr(local, name)
    if analysis.complexity is Complexity.COMPLEX:
        assert 0.6 <= analysis.complexity_score < 0.8


async def test_not_consulted_when_sure() -> None:
    classifier = RecordingClassifier(LABELS)
    analyzer = Analyzer(_enabled(threshold=0.05), llm_classifier=classifier)
    await analyzer.analyze_with_llm(user("Translate into Spanish: good morning"))
    assert classifier.calls == []


async def test_failure_and_timeout_keep_the_local_answer() -> None:
    for classifier in (
        RecordingClassifier(LABELS, error=RuntimeError("provider down")),
        RecordingClassifier(LABELS, delay=1.0),
    ):
        analyzer = Analyzer(_enabled(threshold=0.99, timeout_s=0.05), llm_classifier=classifier)
        analysis = await analyzer.analyze_with_llm(user(AMBIGUOUS))
        assert analysis == analyzer.analyze(user(AMBIGUOUS))
        assert classifier.calls
