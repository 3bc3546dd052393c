"""Keyword tables: shipped data files, schema validation, phrase matching, extension from config."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from router_service.analyzer import Analyzer, layout
from router_service.analyzer.rulebook import RuleBook, RuleTable, shipped_rule_tables
from router_service.analyzer.settings import AnalyzerSettings
from router_service.analyzer.text import tokenize
from router_service.domain import Domain, Intent

from .conftest import user


def _votes(book: RuleBook, text: str) -> dict[str, int]:
    names = [d.name.lower() for d in layout.DOMAINS] + [i.name.lower() for i in layout.INTENTS]
    names += list(layout.COMPLEXITY_CUES)
    return {n: v for n, v in zip(names, book.cue_votes(tokenize(text)), strict=True) if v}


def test_shipped_tables_cover_english_and_spanish() -> None:
    tables = {t.language: t for t in shipped_rule_tables()}
    assert {"en", "es"} <= tables.keys()
    for code in ("en", "es"):
        t = tables[code]
        assert len(t.domain) == 12
        assert {"sales", "support", "faq", "smalltalk"} <= t.intent.keys()
        assert set(t.complexity) == set(layout.COMPLEXITY_CUES)
        assert len(t.stopwords) > 50


def test_words_and_phrases_count_once() -> None:
    book = RuleBook(shipped_rule_tables())
    votes = _votes(book, "Translate into Spanish, translate translate TRANSLATE!")
    assert votes["translation"] == 2  # "translate" once, the phrase "into spanish" once
    assert _votes(book, "what are the pros and cons?")["analyze"] == 1  # a three-word phrase


def test_phrase_needs_adjacent_words() -> None:
    book = RuleBook(shipped_rule_tables())
    assert "explain" in _votes(book, "walk me through it step by step")
    assert "explain" not in _votes(book, "step on it by the way")


def test_spanish_inflections_listed() -> None:
    book = RuleBook(shipped_rule_tables())
    assert _votes(book, "compárala con la competencia")["analyze"] == 1
    assert _votes(book, "¿Cuánto cuesta?")["sales"] >= 1


def test_schema_rejects_unknown_names_and_non_strings() -> None:
    with pytest.raises(ValidationError):
        RuleTable.model_validate({"language": "en", "domain": {"astrology": ["stars"]}})
    with pytest.raises(ValidationError):
        RuleTable.model_validate({"language": "xx"})
    with pytest.raises(ValidationError):
        RuleTable.model_validate({"language": "en", "complexity": {"social": [True]}})
    with pytest.raises(ValidationError):
        RuleTable.model_validate({"language": "en", "colour": []})


def test_extra_rules_from_settings() -> None:
    text = "I need a quote for the Zephyr enterprise bundle"
    extra = RuleTable(language="en", intent={"sales": ("zephyr", "enterprise bundle")})
    plain = Analyzer(AnalyzerSettings(use_model=False)).analyze(user(text))
    extended = Analyzer(AnalyzerSettings(use_model=False, rules=(extra,))).analyze(user(text))
    assert extended.intent is Intent.SALES
    assert extended.intent_confidence > plain.intent_confidence


def test_extra_rules_are_loaded_from_yaml_shape() -> None:
    settings = AnalyzerSettings.model_validate(
        {"rules": [{"language": "es", "domain": {"coding": ["kubernetes"]}}], "use_model": False}
    )
    assert Analyzer(settings).analyze(user("ayuda con kubernetes")).domain is Domain.CODING
