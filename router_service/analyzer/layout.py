"""Packed score vectors: many small counters or weights carried in one Python integer.

Summing one integer per token (`sum(map(vectors.get, tokens, repeat(0)))`) runs in C and adds every
label's score at once; a dict of per-class floats would cost one Python-level loop iteration per
token and class, several times the whole time budget of an analysis. Each field is FIELD_BITS wide;
learned weights are stored with a +WEIGHT_OFFSET bias so every field stays non-negative, and the
number of summed weight vectors (field 0 of a model vector) tells how much bias to subtract.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from router_service.domain import Domain, Intent, Language

FIELD_BITS = 32
WEIGHT_BITS = 16
WEIGHT_OFFSET = 1 << (WEIGHT_BITS - 1)
# Weights are fixed-point with this many steps per logit unit; |w| is clipped below 32.
WEIGHT_SCALE = 1024
WEIGHT_MAX = WEIGHT_OFFSET - 1
# A sum of N vectors stays exact while N * 2**WEIGHT_BITS < 2**FIELD_BITS: 65 535 distinct tokens,
# far above what the analysis window can hold.
MAX_SUMMED = (1 << (FIELD_BITS - WEIGHT_BITS)) - 1

DOMAINS: tuple[Domain, ...] = tuple(d for d in Domain if d is not Domain.UNKNOWN)
INTENTS: tuple[Intent, ...] = tuple(i for i in Intent if i is not Intent.UNKNOWN)
# Languages with a rule table; the learned model knows a subset of them (English and Spanish).
RULE_LANGUAGES: tuple[Language, ...] = (
    Language.ENGLISH,
    Language.SPANISH,
    Language.PORTUGUESE,
    Language.FRENCH,
    Language.GERMAN,
    Language.ITALIAN,
)
LANGUAGE_CODES: dict[str, Language] = dict(zip(("en", "es", "pt", "fr", "de", "it"), RULE_LANGUAGES, strict=True))
COMPLEXITY_CUES: tuple[str, ...] = ("social", "lookup", "explain", "analyze", "expert")

# Field positions of a rule-cue vector: domain votes, intent votes, complexity cue counts.
CUE_DOMAIN = 0
CUE_INTENT = CUE_DOMAIN + len(DOMAINS)
CUE_COMPLEXITY = CUE_INTENT + len(INTENTS)
CUE_FIELDS = CUE_COMPLEXITY + len(COMPLEXITY_CUES)


def pack(fields: Sequence[int], base: int = 0) -> int:
    """One integer holding `fields` (each non-negative and below 2**FIELD_BITS) from field `base` on."""
    value = 0
    for i, field in enumerate(fields):
        value |= field << (FIELD_BITS * (base + i))
    return value


def unpacker(n_fields: int) -> struct.Struct:
    """A struct that splits a packed total's little-endian bytes into its fields."""
    return struct.Struct(f"<{n_fields}I")


def unpack(total: int, layout: struct.Struct) -> tuple[int, ...]:
    return layout.unpack(total.to_bytes(layout.size, "little"))
