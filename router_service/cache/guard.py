"""Checks a semantic candidate must pass on top of similarity, because similarity alone cannot see them.

Two questions can share almost every word and still need different answers: "for 12 months" vs "for 6
months", "which plans include SSO" vs "which plans do not include SSO", "pro plan" vs "basic plan". A
wrong answer served from cache costs more than the model call it saves, so the semantic cache only
answers when the numbers, the negation and the language agree and (by default) the content words agree up to
typos and inflection. What it then catches: the same question with other function words, word order,
case, accents, punctuation, greetings and typos.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from router_service.cache.text import words_of
from router_service.cache.vocabulary import (
    ENGLISH_FUNCTION_WORDS,
    FILLER_WORDS,
    FUNCTION_WORDS,
    NEGATION_WORDS,
    SPANISH_FUNCTION_WORDS,
)


@dataclass(frozen=True, slots=True)
class QuestionShape:
    """What must agree between a question and the cached one it is answered with."""

    numbers: frozenset[str]
    negated: bool
    # "en", "es" or "" (cannot tell): a cached answer is in the language of the question it answered.
    language: str
    # Content words in first-occurrence order: "from basic to pro" is not "from pro to basic".
    content: tuple[str, ...]


def shape_of(text: str) -> QuestionShape:
    words = words_of(text)
    language = _language(text, words)
    numbers = frozenset(w for w in words if any(c.isdigit() for c in w))
    negated = any(w in NEGATION_WORDS for w in words)
    content = [
        w
        for w in words
        if w not in numbers and w not in NEGATION_WORDS and w not in FUNCTION_WORDS and w not in FILLER_WORDS
    ]
    if not content:
        # A question of greetings or function words only ("thanks", "hola") is its own content.
        content = [w for w in words if w not in numbers and w not in NEGATION_WORDS]
    # Interned: a cache holds thousands of shapes over a small vocabulary.
    return QuestionShape(
        frozenset(sys.intern(n) for n in numbers) if numbers else _NO_NUMBERS,
        negated,
        language,
        tuple(sys.intern(w) for w in dict.fromkeys(content)),
    )


_NO_NUMBERS: frozenset[str] = frozenset()


_SPANISH_MARKS = frozenset("¿¡ñÑáéíóúÁÉÍÓÚü")


def _language(text: str, words: list[str]) -> str:
    """English or Spanish by function words (and Spanish punctuation and accents); "" when unsure."""
    english = sum(w in ENGLISH_FUNCTION_WORDS and w not in SPANISH_FUNCTION_WORDS for w in words)
    spanish = sum(w in SPANISH_FUNCTION_WORDS and w not in ENGLISH_FUNCTION_WORDS for w in words)
    spanish += any(c in _SPANISH_MARKS for c in text)
    if english > spanish:
        return "en"
    if spanish > english:
        return "es"
    return ""


def compatible(a: QuestionShape, b: QuestionShape, *, same_content_words: bool) -> bool:
    """True when `b`'s answer may be served for `a` (symmetric)."""
    if a.numbers != b.numbers or a.negated != b.negated:
        return False
    if a.language and b.language and a.language != b.language:
        # A question that shows no language ("reset password", "API?") may take either's answer.
        return False
    if not same_content_words:
        return True
    return _in_order(a.content, b.content) and _in_order(b.content, a.content)


def _in_order(words: tuple[str, ...], others: tuple[str, ...]) -> bool:
    """Every word has its match among `others`, and the matches keep the words' order."""
    last = -1
    for word in words:
        position = next((i for i, other in enumerate(others) if same_word(word, other)), -1)
        if position < 0 or position < last:
            return False
        last = position
    return True


def same_word(a: str, b: str) -> bool:
    """The same word up to a plural, an inflection ("elimino"/"eliminar") or one typo ("pasword")."""
    if a == b:
        return True
    if _singular(a) == _singular(b):
        return True
    shorter, longer = (a, b) if len(a) <= len(b) else (b, a)
    prefix = 0
    for x, y in zip(shorter, longer, strict=False):
        if x != y:
            break
        prefix += 1
    # Shared stem of at least four letters, and each word adds at most three letters to it:
    # "restablezco"/"restablecer", "price"/"pricing", but not "internal"/"international".
    if prefix >= 4 and len(longer) - prefix <= 3 and len(shorter) - prefix <= 3:
        return True
    return len(shorter) >= 5 and _one_edit_apart(shorter, longer)


def blocking_requirements(shape: QuestionShape) -> list[tuple[str, ...]]:
    """Index keys a row must carry to pass `compatible(shape, row, same_content_words=True)`: at least
    one key of every tuple. Approximate in one direction only: a rare typo inside a short word can lose
    its key (a miss), but a row without the keys can never pass, so no wrong hit comes from here."""
    return [("n:" + n,) for n in sorted(shape.numbers)] + [_word_keys(w) for w in shape.content]


def index_keys(shape: QuestionShape) -> set[str]:
    """Every index key of a stored question."""
    return {key for requirement in blocking_requirements(shape) for key in requirement}


def _word_keys(word: str) -> tuple[str, ...]:
    # Matching words share their first four letters (same word, plural, inflection, a typo after the
    # fourth letter) or, for a typo near the start, their last four.
    prefix = "p:" + _singular(word)[:4]
    return (prefix, "s:" + word[-4:]) if len(word) >= 5 else (prefix,)


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("es"):
        return word[:-2]
    if len(word) > 3 and word.endswith("s"):
        return word[:-1]
    return word


def _one_edit_apart(shorter: str, longer: str) -> bool:
    """One insertion, deletion, substitution or swap of neighbours turns one word into the other."""
    if len(longer) - len(shorter) > 1:
        return False
    if len(shorter) == len(longer):
        diffs = [i for i, (x, y) in enumerate(zip(shorter, longer, strict=True)) if x != y]
        if len(diffs) == 1:
            return True
        return (
            len(diffs) == 2
            and diffs[1] == diffs[0] + 1
            and shorter[diffs[0]] == longer[diffs[1]]
            and shorter[diffs[1]] == longer[diffs[0]]
        )
    return any(longer[:i] + longer[i + 1 :] == shorter for i in range(len(longer)))
