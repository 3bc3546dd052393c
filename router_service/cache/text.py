"""Text normalisation for the cache: one form for exact keys, a looser one for semantic matching.

Exact keys must never merge two prompts a model could answer differently, so `normalise_for_key` only
removes what no model reads as meaning. Semantic matching compares words, so `words_of` folds case,
accents and punctuation as well.
"""

from __future__ import annotations

import re
import unicodedata

_HORIZONTAL_SPACE = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n{3,}")
_ASCII_SPECIAL_SPACE = re.compile(r"[\t\n\r\x0b\x0c\x1c-\x1f]")


def normalise_for_key(text: str) -> str:
    """The exact-key form of a message: same meaning, same string.

    - Unicode NFC, so a composed "é" and "e" + combining accent are one character (clients differ).
    - Line endings to "\\n" (Windows clients send "\\r\\n").
    - Strip the whole text, and trailing spaces and tabs on every line.
    - Inside a line, runs of spaces, tabs and other non-newline Unicode spaces collapse to one space.
    - Three or more newlines collapse to two (a paragraph break stays a paragraph break).
    Not changed: case ("US" vs "us"), punctuation, single newlines and leading indentation, because
    code, lists and poems depend on them and a wrong hit costs more than a miss.
    """
    if text.isascii() and "  " not in text and _ASCII_SPECIAL_SPACE.search(text) is None:
        # Fast path for the common one-line prompt: only the ends can change (a test checks that it
        # agrees with the full path).
        return text.strip()
    return _normalise_full(text)


def _normalise_full(text: str) -> str:
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    lines = []
    for line in text.split("\n"):
        body = line.lstrip(" \t")
        indent = line[: len(line) - len(body)]
        lines.append(indent + _HORIZONTAL_SPACE.sub(" ", body).rstrip())
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


# Contractions are expanded before punctuation is dropped, so "don't" keeps its negation as "not".
_CONTRACTIONS = re.compile(r"\b(\w+?)n['’]t\b")
_CONTRACTION_STEMS = {"ca": "can", "wo": "will", "sha": "shall"}
_NON_WORD = re.compile(r"[^0-9a-z]+")


def words_of(text: str) -> list[str]:
    """Lowercase ASCII words: accents removed ("cuánto" → "cuanto"), punctuation ("¿", "¡", "?") dropped."""
    text = _CONTRACTIONS.sub(_expand_negation, text.casefold())
    # NFKD splits "á" into "a" + a combining accent; dropping the non-ASCII rest removes the accent,
    # "ñ" becomes "n", and symbols become separators.
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _NON_WORD.sub(" ", ascii_text).split()


def _expand_negation(match: re.Match[str]) -> str:
    stem = match.group(1)
    return f"{_CONTRACTION_STEMS.get(stem, stem)} not"
