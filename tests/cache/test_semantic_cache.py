"""The semantic cache: reworded questions hit, near misses do not, and the index stays bounded and in step."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from router_service.cache import CacheSettings, ResponseCache, build_cache
from router_service.cache.embedding import LexicalEmbedder, Vector
from router_service.cache.evaluation import load_pairs, recommend, score, simulate, table
from router_service.cache.guard import compatible, same_word, shape_of
from router_service.cache.semantic import SemanticIndex
from router_service.domain import ChatMessage, GenerationParams, Role
from tests.cache.conftest import FakeClock, answer, ask


def make(clock: FakeClock | None = None, embedder: Any = None, **semantic: Any) -> ResponseCache:
    settings = CacheSettings.model_validate({"enabled": True, "semantic": {"enabled": True, **semantic}})
    cache = build_cache(settings, clock=clock or FakeClock(), embedder=embedder)
    assert cache is not None
    return cache


@pytest.mark.parametrize(
    ("stored", "asked"),
    [
        ("What are your hours?", "hi, what are your hours please"),
        ("¿Cuánto cuesta el plan pro?", "cuanto cuesta el plan PRO"),
        ("How do I reset my password?", "How do I reset my pasword?"),
        ("How do I reset my password?", "how can i reset my password"),
        ("¿Dónde está mi pedido?", "donde esta mi pedido??"),
    ],
)
async def test_rewordings_hit_semantically_with_their_similarity(stored: str, asked: str) -> None:
    cache = make()
    await cache.store(ask(stored), answer(cost=500))
    hit = await cache.lookup(ask(asked))
    assert hit is not None and hit.kind == "semantic"
    assert 0.55 <= hit.similarity <= 1.0
    assert hit.saved_cost_nano_usd == 500
    assert cache.stats().hits_semantic == 1


@pytest.mark.parametrize(
    ("stored", "asked"),
    [
        ("What are your hours?", "What are your prices?"),
        ("How much does the pro plan cost?", "How much does the basic plan cost?"),
        ("How much is the pro plan for 12 months?", "How much is the pro plan for 6 months?"),
        ("Which plans include SSO?", "Which plans do not include SSO?"),
        (
            "How do I switch from the basic plan to the pro plan?",
            "How do I switch from the pro plan to the basic plan?",
        ),
        ("Is there an API?", "¿Hay una API?"),
        ("¿A qué hora abren?", "¿A qué hora cierran?"),
    ],
)
async def test_near_misses_do_not_hit(stored: str, asked: str) -> None:
    cache = make()
    await cache.store(ask(stored), answer())
    assert await cache.lookup(ask(asked)) is None


async def test_semantic_match_needs_the_same_context() -> None:
    cache = make()
    await cache.store(ask("What are your hours?"), answer())
    assert await cache.lookup(ask("what are your hours", system="You are a pirate.")) is None
    assert await cache.lookup(ask("what are your hours", tenant="other")) is None
    assert await cache.lookup(ask("what are your hours", params=GenerationParams(temperature=0.2))) is None
    earlier = (ChatMessage(Role.USER, "Hello"), ChatMessage(Role.ASSISTANT, "Hi! How can I help?"))
    assert await cache.lookup(ask("what are your hours", history=earlier)) is None
    assert await cache.lookup(ask("what are your hours")) is not None


async def test_threshold_decides() -> None:
    strict = make(threshold=0.99)
    loose = make(threshold=0.55)
    for cache in (strict, loose):
        await cache.store(ask("How do I export my data?"), answer())
    # Same content words, other function words: similarity about 0.97.
    assert await strict.lookup(ask("How can I export all my data?")) is None
    assert await loose.lookup(ask("How can I export all my data?")) is not None


async def test_exact_hit_wins_over_semantic() -> None:
    cache = make()
    await cache.store(ask("What are your hours?"), answer("exact"))
    await cache.store(ask("what are your hours"), answer("other"))
    hit = await cache.lookup(ask("What are your hours?"))
    assert hit is not None and hit.kind == "exact" and hit.answer.text == "exact"


async def test_disabled_semantic_cache_only_hits_exactly() -> None:
    cache = build_cache(CacheSettings(enabled=True))
    assert cache is not None
    await cache.store(ask("What are your hours?"), answer())
    assert await cache.lookup(ask("what are your hours")) is None
    assert cache.stats().semantic_entries == 0


async def test_expired_and_evicted_entries_leave_the_index() -> None:
    clock = FakeClock()
    cache = make(clock)
    await cache.store(ask("What are your hours?"), answer())
    assert cache.stats().semantic_entries == 1
    clock.advance(3601)
    assert await cache.lookup(ask("what are your hours")) is None
    assert cache.stats().semantic_entries == 0


async def test_semantic_entries_are_bounded() -> None:
    cache = make(max_entries=3)
    for i in range(5):
        await cache.store(ask(f"Where is order number {i}?"), answer())
    stats = cache.stats()
    assert stats.semantic_entries == 3 and stats.semantic_evictions == 2 and stats.evictions == 0
    assert await cache.lookup(ask("where is order number 4")) is not None
    assert await cache.lookup(ask("where is order number 0")) is None  # its row was evicted


async def test_long_questions_are_not_matched_semantically() -> None:
    cache = make(max_query_chars=40)
    long_question = "Please explain in detail how I can export all of my data?"
    await cache.store(ask(long_question), answer())
    assert cache.stats().semantic_entries == 0
    assert await cache.lookup(ask(long_question.lower())) is None


class _Constant:
    """A plugged-in embedder: every text is the same vector, so only the guard tells questions apart."""

    dim = 8

    def embed(self, text: str) -> Vector:
        vector = np.zeros(self.dim, dtype=np.float32)
        vector[0] = 1.0
        return vector


async def test_a_plugged_in_embedder_is_used() -> None:
    cache = make(embedder=_Constant(), same_content_words=False)
    await cache.store(ask("What are your hours?"), answer())
    hit = await cache.lookup(ask("When are you open?"))
    assert hit is not None and hit.kind == "semantic" and hit.similarity == pytest.approx(1.0)
    assert await cache.lookup(ask("What are your hours on day 3?")) is None  # numbers still guarded


def test_index_keeps_rows_dense_through_removals() -> None:
    embedder = LexicalEmbedder(64)
    index = SemanticIndex(dim=64, max_entries=1000, threshold=0.55, same_content_words=True)
    questions = [f"How do I configure feature{i}?" for i in range(40)]
    for q in questions:
        index.add(b"ctx", q.encode(), embedder.embed(q), shape_of(q))
    for q in questions[::2]:
        index.remove(q.encode())
    assert len(index) == 20
    for q in questions[1::2]:
        matches = index.matches(b"ctx", embedder.embed(q), shape_of(q))
        assert matches and matches[0].key == q.encode()
    for q in questions[1::2]:
        index.remove(q.encode())
    assert len(index) == 0 and index.nbytes == 0


def test_guard_words() -> None:
    assert same_word("password", "pasword") and same_word("hours", "hour") and same_word("elimino", "eliminar")
    assert same_word("restablezco", "restablecer") and same_word("cuesta", "questa")
    assert not same_word("activo", "desactivo") and not same_word("monthly", "yearly")
    assert not same_word("internal", "international") and not same_word("upgrade", "downgrade")
    assert shape_of("Don't you ship?").negated and not shape_of("Do you ship?").negated
    assert shape_of("¿Tienen API?").language == "es" and shape_of("Is there an API?").language == "en"
    assert compatible(shape_of("reset password"), shape_of("How do I reset my password?"), same_content_words=True)


def test_labelled_pairs_meet_the_default_threshold() -> None:
    pairs = load_pairs()
    assert len(pairs) >= 60
    assert {p.lang for p in pairs} >= {"en", "es"}
    threshold = CacheSettings().semantic.threshold
    embedder = LexicalEmbedder(CacheSettings().semantic.lexical_dim)
    scored = score(pairs, embedder)
    (row,) = table(scored, strict=True, thresholds=(threshold,))
    assert row.false_hits == 0, "the default threshold must not serve a near miss from the labelled set"
    assert row.recall >= 0.4
    assert recommend(table(scored, strict=True)).threshold == threshold
    simulation = simulate(pairs, embedder, threshold)
    assert simulation.wrong == 0 and simulation.correct >= 30


class _Broken:
    dim = 8

    def embed(self, text: str) -> Vector:
        raise RuntimeError("embedder down")


async def test_a_failing_embedder_degrades_to_no_cache(caplog: pytest.LogCaptureFixture) -> None:
    cache = make(embedder=_Broken())
    await cache.store(ask("What are your hours?"), answer())  # stored for exact hits; not indexed
    assert "embedding failed" in caplog.text
    assert await cache.lookup(ask("what are your hours")) is None  # embedding the question fails
    hit = await cache.lookup(ask("What are your hours?"))
    assert hit is not None and hit.kind == "exact"
    stats = cache.stats()
    assert stats.errors == 3 and stats.misses == 1 and stats.stores == 1 and stats.hits_exact == 1
