"""Scores token sets with the learned model and the stopword tables: one packed sum per set, then
every label's calibrated logits in one pass over the unpacked fields."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import repeat

from router_service.analyzer import layout
from router_service.analyzer.model import LinearModel
from router_service.analyzer.rulebook import RuleBook

# Rules-only calibration (no model): logit per distinct keyword.
RULE_LOGIT = 1.5


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
