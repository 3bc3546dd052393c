"""Keyword rules: per-language tables (package data `rules/*.yaml`, extensible from config) compiled
into packed vectors so that matching a whole prompt costs one C-level sum and a few phrase look-ups."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from importlib import resources
from itertools import repeat
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict

from router_service.analyzer import layout
from router_service.analyzer.text import tokenize
from router_service.domain import Domain

DomainName = Literal[
    "coding", "math", "analysis", "creative_writing", "extraction", "summarization",
    "classification", "brainstorming", "closed_qa", "open_qa", "chit_chat", "translation",
]  # fmt: skip
IntentName = Literal["sales", "support", "faq", "smalltalk", "general"]
CueName = Literal["social", "lookup", "explain", "analyze", "expert"]
LanguageCode = Literal["en", "es", "pt", "fr", "de", "it"]

CUE_LAYOUT = layout.unpacker(layout.CUE_FIELDS)
_DOMAIN_FIELD = {d.name.lower(): layout.CUE_DOMAIN + i for i, d in enumerate(layout.DOMAINS)}
_INTENT_FIELD = {x.name.lower(): layout.CUE_INTENT + i for i, x in enumerate(layout.INTENTS)}
_CUE_FIELD = {c: layout.CUE_COMPLEXITY + i for i, c in enumerate(layout.COMPLEXITY_CUES)}


class RuleTable(BaseModel):
    """One language's keyword tables; the schema of `rules/<lang>.yaml` and of extra rules in config."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    language: LanguageCode
    stopwords: tuple[str, ...] = ()
    domain: dict[DomainName, tuple[str, ...]] = {}
    intent: dict[IntentName, tuple[str, ...]] = {}
    complexity: dict[CueName, tuple[str, ...]] = {}


def shipped_rule_tables() -> list[RuleTable]:
    """The tables inside the package, in a fixed order (file name)."""
    folder = resources.files("router_service.analyzer").joinpath("rules")
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".yaml")), key=lambda f: f.name)
    return [RuleTable.model_validate(yaml.safe_load(f.read_text(encoding="utf-8"))) for f in files]


class RuleBook:
    """Compiled rule tables.

    Single words become packed vectors (one bit of count per field they vote for); phrases are kept
    per first word and checked by substring search on the space-joined tokens, only when that first
    word occurs in the text, so most prompts never pay for them.
    """

    def __init__(self, tables: Iterable[RuleTable]) -> None:
        word_fields: dict[bytes, set[int]] = defaultdict(set)
        phrase_fields: dict[bytes, set[int]] = defaultdict(set)
        stop_fields: dict[bytes, set[int]] = defaultdict(set)
        lang_index = {code: i for i, code in enumerate(layout.LANGUAGE_CODES)}
        for table in tables:
            for word in table.stopwords:
                for token in tokenize(word):
                    stop_fields[token].add(lang_index[table.language])
            keywords: list[tuple[int, tuple[str, ...]]] = [
                *((_DOMAIN_FIELD[name], words) for name, words in table.domain.items()),
                *((_INTENT_FIELD[name], words) for name, words in table.intent.items()),
                *((_CUE_FIELD[name], words) for name, words in table.complexity.items()),
            ]
            for field, words in keywords:
                for word in words:
                    tokens = tokenize(word)
                    if len(tokens) == 1:
                        word_fields[tokens[0]].add(field)
                    elif tokens:
                        phrase_fields[b" ".join(tokens)].add(field)
        # A set per key: a keyword listed twice (or in two languages) still counts once. Words and
        # phrases share one index so that a single set intersection finds every candidate; a phrase is
        # filed under its rarest-looking word (the longest that is not a stopword), so that common
        # words such as "what" or "how" do not trigger phrase checks on most prompts.
        phrases: dict[bytes, list[tuple[bytes, int]]] = defaultdict(list)
        for phrase, field_set in sorted(phrase_fields.items()):
            key = max(phrase.split(b" "), key=lambda w: (w not in stop_fields, len(w), w))
            phrases[key].append((b" " + phrase + b" ", _bits(field_set)))
        self.index: dict[bytes, tuple[int, tuple[tuple[bytes, int], ...]]] = {
            token: (_bits(word_fields.get(token, ())), tuple(phrases.get(token, ())))
            for token in sorted(word_fields.keys() | phrases.keys())
        }
        self.stopword_vectors: dict[bytes, int] = {t: _bits(f) for t, f in stop_fields.items()}

    def cue_votes(self, tokens: Sequence[bytes], present: AbstractSet[bytes] | None = None) -> tuple[int, ...]:
        """Counts per cue field (see `layout`): how many distinct keywords of each class occur.

        `present` may pass `set(tokens)` (or a superset with non-word tokens) when the caller has it.
        """
        index = self.index
        total = 0
        joined = b""
        # dict_keys & list iterates the list once, without building a set of it first. Phrases are
        # confirmed on the joined tokens, built only when a candidate phrase's key word occurs.
        for token in index.keys() & (present if present is not None else tokens):
            vector, phrases = index[token]
            total += vector
            for phrase, phrase_vector in phrases:
                if not joined:
                    joined = b" " + b" ".join(tokens) + b" "
                if phrase in joined:
                    total += phrase_vector
        return layout.unpack(total, CUE_LAYOUT)

    def stopword_votes(self, tokens: Iterable[bytes]) -> tuple[int, ...]:
        """Distinct stopwords per language of `layout.RULE_LANGUAGES` (the slow path the trainer uses)."""
        total: int = sum(map(self.stopword_vectors.get, set(tokens), repeat(0)))
        return layout.unpack(total, layout.unpacker(len(layout.RULE_LANGUAGES)))


_CODING_FIELD = layout.CUE_DOMAIN + layout.DOMAINS.index(Domain.CODING)
_MATH_FIELD = layout.CUE_DOMAIN + layout.DOMAINS.index(Domain.MATH)


def with_structure(cues: tuple[int, ...], code_blocks: int, code_lines: int, math: int) -> tuple[int, ...]:
    """Add the pattern rules to keyword votes: code (a fence or three code-like lines) votes for coding,
    an arithmetic expression for math. Code pasted without a word of explanation has no keyword."""
    code = code_blocks > 0 or code_lines >= 3
    if not (code or math):
        return cues
    votes = list(cues)
    votes[_CODING_FIELD] += code
    votes[_MATH_FIELD] += math > 0
    return tuple(votes)


def _bits(fields: Iterable[int]) -> int:
    return sum(1 << (layout.FIELD_BITS * f) for f in fields)
