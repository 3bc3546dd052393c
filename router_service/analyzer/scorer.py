"""Scores token sets with the learned model and the stopword tables: one packed sum per set, then
every label's calibrated logits in one pass over the unpacked fields.

`WindowScorer.scan` does a text's whole token pass (tokenise, deduplicate, sum the vectors, count the
rule cues): in the compiled extension when it is installed (`router_service.native`), otherwise here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import repeat
from typing import TYPE_CHECKING, NamedTuple

from router_service import native
from router_service.analyzer import layout
from router_service.analyzer.model import LinearModel
from router_service.analyzer.rulebook import CUE_LAYOUT, RuleBook
from router_service.analyzer.text import CUE_HEAD_TOKENS, CUE_TAIL_TOKENS, cue_region, shape_tokens, tokenize

if TYPE_CHECKING:
    import llm_router_native as _compiled

# Rules-only calibration (no model): logit per distinct keyword.
RULE_LOGIT = 1.5


class Scan(NamedTuple):
    """One text's token pass."""

    tokens: int  # word tokens
    distinct: int  # distinct word tokens
    word_hits: int  # distinct word tokens the learned model knows
    fields: tuple[int, ...]  # the packed vectors' fields, summed over the distinct tokens (see WindowScorer)
    cues: tuple[int, ...]  # rule cue counts (`layout` CUE fields)
    all_digits: bool  # every token is a number


class WindowScorer:
    """Packed vectors per token: [model hits, every head's weights..., stopwords per language].

    `logits` returns the concatenated logits of the label heads, in `head_slices` order:
    logit = (bias + summed weights) / temperature + rule weight x rule votes, where the rule votes of
    a head are read from `votes` = cue votes (`layout` CUE fields) followed by the stopword counts.
    """

    def __init__(self, model: LinearModel | None, rules: RuleBook, head_rules: Mapping[str, Sequence[int]]) -> None:
        vectors = model.packed_vectors() if model is not None else {}
        self.head_slices: dict[str, tuple[int, int]] = {}
        bias: list[float] = []
        scale: list[float] = []
        beta: list[float] = []
        rule_index: list[int] = []
        for head in model.heads if model is not None else ():
            a = 1.0 / head.temperature
            start = len(bias)
            self.head_slices[head.name] = (start, start + len(head.classes))
            bias += [a * b for b in head.bias]
            scale += [a / layout.WEIGHT_SCALE] * len(head.classes)
            beta += [head.rule_weight] * len(head.classes)
            rule_index += head_rules[head.name]
        self._bias, self._scale, self._beta, self._rule_index = bias, scale, beta, rule_index
        self.stopword_field = 1 + len(bias)  # field 0 counts the model vectors summed
        shift = layout.FIELD_BITS * self.stopword_field
        for token, vector in rules.stopword_vectors.items():
            vectors[token] = vectors.get(token, 0) + (vector << shift)
        self._vectors = vectors
        self._layout = layout.unpacker(self.stopword_field + len(layout.RULE_LANGUAGES))
        self._rules = rules
        n_fields = self.stopword_field + len(layout.RULE_LANGUAGES)
        # What each shape pseudo-token adds to field 0 (1 when the model knows it): not a word hit.
        self._shape_hits = {t: layout.unpack(vectors.get(t, 0), self._layout)[0]
                            for t in (b"#q", b"#nl", *(b"#len%d" % n for n in range(11)))}
        self._native: _compiled.TokenScanner | None = None
        if native.TokenScanner is not None:
            unpack = layout.unpack
            cues = {
                token: (unpack(vector, CUE_LAYOUT), [(phrase, unpack(v, CUE_LAYOUT)) for phrase, v in phrases])
                for token, (vector, phrases) in rules.index.items()
            }
            self._native = native.TokenScanner(
                {token: unpack(vector, self._layout) for token, vector in vectors.items()}, n_fields,
                cues, layout.CUE_FIELDS, CUE_HEAD_TOKENS, CUE_TAIL_TOKENS,
            )  # fmt: skip

    def scan(self, text: str, *, shape: bool, region: bool) -> Scan:
        """Tokens, hits, summed fields and cue counts of `text`.

        `shape`: the shape pseudo-tokens (`text.shape_tokens`) join the scored set (they are not counted
        as word hits); `region`: cues are counted on the instruction region (`text.cue_region`) only.
        """
        if self._native is not None:
            return Scan._make(self._native.scan(text.encode("utf-8", "surrogatepass"), shape, region))
        return self.scan_reference(text, shape=shape, region=region)

    def scan_reference(self, text: str, *, shape: bool, region: bool) -> Scan:
        """`scan` in pure Python: the reference the compiled scan is tested against."""
        tokens = tokenize(text)
        present = set(tokens)
        distinct = len(present)
        hits = 0
        if shape:
            shapes = shape_tokens(text, len(tokens))
            present.update(shapes)
            hits = sum(map(self._shape_hits.__getitem__, shapes))
        fields = self.score(present)
        if not region or len(tokens) <= CUE_HEAD_TOKENS + CUE_TAIL_TOKENS:
            cues = self._rules.cue_votes(tokens, present)
        else:
            cues = self._rules.cue_votes(cue_region(tokens))
        all_digits = bool(tokens) and tokens[0].isdigit() and b"".join(tokens).isdigit()
        return Scan(len(tokens), distinct, fields[0] - hits, fields, cues, all_digits)

    def score(self, tokens: Iterable[bytes]) -> tuple[int, ...]:
        """The unpacked fields for distinct tokens (pass a set: every feature is binary)."""
        return layout.unpack(sum(map(self._vectors.get, tokens, repeat(0))), self._layout)

    def stopwords(self, fields: tuple[int, ...]) -> tuple[int, ...]:
        return fields[self.stopword_field :]

    def logits(self, fields: tuple[int, ...], votes: Sequence[float]) -> list[float]:
        """Every head's calibrated logits (see the class docstring)."""
        offset = fields[0] * layout.WEIGHT_OFFSET
        return [
            b + s * (f - offset) + r * votes[i]
            for b, s, f, r, i in zip(
                self._bias, self._scale, fields[1 : self.stopword_field], self._beta, self._rule_index, strict=False
            )
        ]

    def context_logits(self, fields: tuple[int, ...], votes: Sequence[float], weight: float) -> list[float]:
        """The context's contribution to every head's logits: no bias, everything scaled by `weight`."""
        offset = fields[0] * layout.WEIGHT_OFFSET
        weights = fields[1 : self.stopword_field]
        return [
            weight * (s * (f - offset) + r * votes[i])
            for s, f, r, i in zip(self._scale, weights, self._beta, self._rule_index, strict=False)
        ]
