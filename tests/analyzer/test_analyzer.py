"""Behaviour of the analyzer on hand-written prompts (not from the shared data) and on hostile input."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from router_service.analyzer import Analysis, Analyzer
from router_service.analyzer.settings import AnalyzerSettings
from router_service.domain import ChatMessage, Complexity, Domain, Intent, Language, Role

from .conftest import REPO, user

TIERS = [
    ("thanks a lot!", Complexity.TRIVIAL),
    ("good night", Complexity.TRIVIAL),
    ("muchas gracias!", Complexity.TRIVIAL),
    ("What's the capital of France?", Complexity.SIMPLE),
    ("¿Cuánto cuesta el envío a Chile?", Complexity.SIMPLE),
    ("When does the store open on Sunday?", Complexity.SIMPLE),
    ("Explain how photosynthesis works.", Complexity.MEDIUM),
    ("Explícame cómo funciona una hipoteca variable.", Complexity.MEDIUM),
    ("Write a python function that reverses a linked list.", Complexity.MEDIUM),
    (
        "Compare PostgreSQL and MongoDB for an e-commerce catalogue, weigh cost, scalability and developer "
        "experience, and recommend one.",
        Complexity.COMPLEX,
    ),
    (
        "Evalúa los riesgos de expandir nuestra tienda online a México y recomienda una estrategia de entrada "
        "comparando dos alternativas.",
        Complexity.COMPLEX,
    ),
    (
        "Design a consensus protocol for a geo-replicated database, prove its safety under network partitions, "
        "derive the message complexity, and justify the trade-offs against Raft and Paxos.",
        Complexity.EXPERT,
    ),
    (
        "Diseña un planificador de tareas distribuido: formaliza los requisitos, demuestra que ninguna tarea se "
        "ejecuta dos veces, deriva su complejidad y justifica las compensaciones frente a una cola central.",
        Complexity.EXPERT,
    ),
]

LANGUAGES = [
    ("Could you tell me where my package is?", Language.ENGLISH),
    ("¿Me puedes decir dónde está mi paquete?", Language.SPANISH),
    ("hola", Language.SPANISH),
    ("Olá, você pode me ajudar com a minha conta? Não consigo entrar.", Language.PORTUGUESE),
    ("Bonjour, je voudrais savoir pourquoi ma commande est en retard.", Language.FRENCH),
    ("Hallo, ich habe eine Frage zu meiner Rechnung, bitte.", Language.GERMAN),
    ("Ciao, vorrei sapere perché il mio ordine non è arrivato.", Language.ITALIAN),
    ("Привет, как дела? Расскажи мне о погоде.", Language.OTHER),
    ("你好，请问今天的天气怎么样？", Language.OTHER),
]

INTENTS = [
    ("I'd like to buy two licences of the premium plan, what's the price?", Intent.SALES),
    ("Quiero comprar la suscripción anual, ¿cuánto cuesta?", Intent.SALES),
    ("I can't log in, my password reset link is broken", Intent.SUPPORT),
    ("Mi pedido llegó dañado y quiero un reembolso", Intent.SUPPORT),
    ("What are your opening hours on Saturday?", Intent.FAQ),
    ("¿Hacen envíos a Uruguay?", Intent.FAQ),
    ("hey, how are you doing?", Intent.SMALLTALK),
    ("cuéntame un chiste", Intent.SMALLTALK),
    ("Write a haiku about the sea", Intent.GENERAL),
    ("Translate into Spanish: the meeting is at noon", Intent.GENERAL),
]

DOMAINS = [
    ("Write a Python function that merges two sorted lists.", Domain.CODING),
    ("Solve for x: 3x + 7 = 22", Domain.MATH),
    (
        "Summarize the following text in two sentences: The committee met on Monday to discuss the budget.",
        Domain.SUMMARIZATION,
    ),
    ("Translate into Spanish: where is the train station?", Domain.TRANSLATION),
    ("Write a short poem about a rainy afternoon in Lisbon.", Domain.CREATIVE_WRITING),
    ("Give me 10 ideas for a team-building day.", Domain.BRAINSTORMING),
    ("Classify this review as positive, negative or neutral: the battery died after a day.", Domain.CLASSIFICATION),
    ("hi there!", Domain.CHIT_CHAT),
]


@pytest.mark.parametrize(("text", "tier"), TIERS, ids=[t[0][:30] for t in TIERS])
def test_tiers(analyzer: Analyzer, text: str, tier: Complexity) -> None:
    assert analyzer.analyze(user(text)).complexity is tier


@pytest.mark.parametrize(("text", "language"), LANGUAGES, ids=[t[0][:20] for t in LANGUAGES])
def test_languages(analyzer: Analyzer, text: str, language: Language) -> None:
    assert analyzer.analyze(user(text)).language is language


@pytest.mark.parametrize(("text", "intent"), INTENTS, ids=[t[0][:30] for t in INTENTS])
def test_intents(analyzer: Analyzer, text: str, intent: Intent) -> None:
    assert analyzer.analyze(user(text)).intent is intent


@pytest.mark.parametrize(("text", "domain"), DOMAINS, ids=[t[1].name for t in DOMAINS])
def test_domains(analyzer: Analyzer, text: str, domain: Domain) -> None:
    assert analyzer.analyze(user(text)).domain is domain


def _assert_well_formed(a: Analysis) -> None:
    for value in (a.language_confidence, a.complexity_confidence, a.domain_confidence, a.intent_confidence):
        assert 0.0 <= value <= 1.0
    assert 0.0 <= a.complexity_score <= 1.0
    assert int(a.complexity) - 1 <= a.complexity_score * 5 < int(a.complexity)
    assert a.sources and a.sources[0] == "rules"


@pytest.mark.parametrize("text", ["", "   ", "\n\n", "😀😀😀", "🙏", "?!?!...", "12345"])
def test_no_words(analyzer: Analyzer, text: str) -> None:
    a = analyzer.analyze(user(text))
    _assert_well_formed(a)
    assert a.complexity is Complexity.TRIVIAL
    assert a.language is Language.UNKNOWN
    assert a.domain is Domain.UNKNOWN


def test_no_messages(analyzer: Analyzer) -> None:
    a = analyzer.analyze([])
    _assert_well_formed(a)
    assert a.features.turns == 0 and a.features.token_estimate == 0


def test_mixed_languages(analyzer: Analyzer) -> None:
    a = analyzer.analyze(
        user("Hola! I need help with my order, el pedido 4411 no ha llegado todavía y estoy preocupado")
    )
    _assert_well_formed(a)
    assert a.language in {Language.SPANISH, Language.ENGLISH}
    assert a.intent is Intent.SUPPORT


def test_code_only(analyzer: Analyzer) -> None:
    code = "```python\ndef add(a, b):\n    return a + b\n\nprint(add(2, 3))\n```"
    a = analyzer.analyze(user(code))
    _assert_well_formed(a)
    assert a.domain is Domain.CODING
    assert a.features.code_blocks == 1
    assert a.features.code_lines >= 4


def test_unfenced_code_and_long_numbers(analyzer: Analyzer) -> None:
    code = "def f(x):\n    return x + 1;\n" * 4000
    a = analyzer.analyze(user(code))
    assert a.domain is Domain.CODING
    assert a.features.code_lines >= 7000
    numbers = analyzer.analyze(user("1234567890 " * 90_000))
    assert numbers.language is Language.UNKNOWN
    assert numbers.domain is Domain.UNKNOWN


def test_keyword_stuffing_does_not_reach_expert(analyzer: Analyzer) -> None:
    stuffed = [
        "hi prove derive formalize invariant theorem lemma optimal counterexample complexity justify tradeoffs",
        "hi " + "prove " * 500,
        "hi " + "design prove derive justify trade-offs " * 50,
        "hola demuestra deriva formaliza invariantes complejidad justifica compensaciones óptimo contraejemplo",
    ]
    for text in stuffed:
        a = analyzer.analyze(user(text))
        assert a.complexity < Complexity.EXPERT, text[:40]
    assert analyzer.analyze(user("hi " * 2000)).complexity is Complexity.TRIVIAL


def test_very_long_prompt_is_bounded(analyzer: Analyzer) -> None:
    paragraph = "The quarterly report shows revenue growth in every region, driven by new subscriptions. "
    text = "Summarize the following report in three sentences.\n" + paragraph * 12_000  # about 1 MB
    a = analyzer.analyze(user(text))
    _assert_well_formed(a)
    assert a.domain is Domain.SUMMARIZATION
    assert a.features.characters == len(text)
    assert a.features.words == pytest.approx(len(text.split()), rel=0.05)


def test_multi_turn_context(analyzer: Analyzer) -> None:
    conversation = [
        ChatMessage(Role.SYSTEM, "You are the support assistant of an online shop."),
        ChatMessage(Role.USER, "My order arrived damaged and I want a refund."),
        ChatMessage(Role.ASSISTANT, "I'm sorry to hear that. Could you give me the order number?"),
        ChatMessage(Role.USER, "yes, it's 4411"),
    ]
    a = analyzer.analyze(conversation)
    assert a.intent is Intent.SUPPORT
    assert a.language is Language.ENGLISH
    assert a.features.turns == 4
    # The last user turn weighs most: a new question in a support chat is read as that question.
    a = analyzer.analyze([*conversation, ChatMessage(Role.USER, "Also, write me a short poem about autumn.")])
    assert a.domain is Domain.CREATIVE_WRITING


def test_follow_up_inherits_part_of_the_conversations_complexity(analyzer: Analyzer) -> None:
    hard = ChatMessage(Role.USER, TIERS[11][0])
    a = analyzer.analyze(
        [hard, ChatMessage(Role.ASSISTANT, "Here is a design ..."), ChatMessage(Role.USER, "and the failure case?")]
    )
    assert a.complexity >= Complexity.COMPLEX


def test_features(analyzer: Analyzer) -> None:
    text = (
        "Please review this:\n- first item\n- second item\n1. numbered\n"
        "See https://example.com and http://x.org. Is 2+2 = 4? What about 3 * (4 - 1)?\n"
        "```js\nconst a = 1;\nif (a) {\n  run();\n}\n```"
    )
    f = analyzer.analyze([ChatMessage(Role.SYSTEM, "Be brief."), ChatMessage(Role.USER, text)]).features
    assert f.turns == 2
    assert f.characters == len(text) + len("Be brief.")
    assert f.questions == 2
    assert f.code_blocks == 1
    assert f.code_lines >= 4
    assert f.urls == 2
    assert f.list_items == 3
    assert f.math_expressions >= 3
    assert f.token_estimate > 0
    assert f.sentences >= 3
    assert f.words == pytest.approx(len(("Be brief. " + text).split()), abs=3)


def test_deterministic_within_and_across_instances(analyzer: Analyzer) -> None:
    texts = [t for t, _ in TIERS + LANGUAGES + INTENTS]
    first = [analyzer.analyze(user(t)) for t in texts]
    assert first == [analyzer.analyze(user(t)) for t in texts]
    fresh = Analyzer()
    assert first == [fresh.analyze(user(t)) for t in texts]


def test_deterministic_across_hash_seeds() -> None:
    """bytes hashing is randomised per process; results must not depend on set iteration order."""
    script = (
        "from router_service.analyzer import Analyzer\n"
        "from router_service.domain import ChatMessage, Role\n"
        f"texts = {[t for t, _ in TIERS + INTENTS]!r}\n"
        "a = Analyzer()\n"
        "print([repr(a.analyze([ChatMessage(Role.USER, t)])) for t in texts])\n"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script], cwd=REPO, env={"PYTHONHASHSEED": seed}, capture_output=True,
            text=True, check=True,
        ).stdout
        for seed in ("1", "2", "3")
    }  # fmt: skip
    assert len(outputs) == 1


def test_rules_only_mode() -> None:
    a = Analyzer(AnalyzerSettings(use_model=False))
    assert a.model is None
    result = a.analyze(user("Translate into Spanish: the meeting is at noon"))
    assert result.sources == ("rules",)
    assert result.domain is Domain.TRANSLATION
    assert result.language is Language.ENGLISH


def test_sources_with_model(analyzer: Analyzer) -> None:
    assert analyzer.model is not None
    assert analyzer.analyze(user("hello")).sources == ("rules", "model")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_any_text_is_analysed(text: str) -> None:
    a = _SHARED.analyze(user(text))
    _assert_well_formed(a)
    assert a == _SHARED.analyze(user(text))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(list(Role)), st.text(max_size=200)), max_size=6))
def test_any_conversation_is_analysed(turns: list[tuple[Role, str]]) -> None:
    a = _SHARED.analyze([ChatMessage(role, text) for role, text in turns])
    _assert_well_formed(a)
    assert a.features.turns == len(turns)


_SHARED = Analyzer()
