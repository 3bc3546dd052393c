"""The learned model: multinomial logistic regression heads over binary token features.

Stored as JSON inside the package (`model.json`, written by `training.py`). At load time every token's
weights for all heads are packed into one integer (see `layout`), so scoring a prompt is a single sum.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from router_service.analyzer import layout

MODEL_FORMAT = 1
SHIPPED_MODEL = "model.json"


@dataclass(frozen=True, slots=True)
class Head:
    """One label's classifier: class names, bias and calibration (temperature, weight of rule votes)."""

    name: str
    classes: tuple[str, ...]
    bias: tuple[float, ...]
    temperature: float = 1.0
    rule_weight: float = 0.0


@dataclass(frozen=True, slots=True)
class LinearModel:
    heads: tuple[Head, ...]
    # token -> quantised weights, one row of all heads' classes concatenated (see `weight_rows`)
    vocab: tuple[bytes, ...]
    weights: tuple[tuple[int, ...], ...]
    meta: dict[str, Any]

    @property
    def n_weights(self) -> int:
        return sum(len(h.classes) for h in self.heads)

    def head(self, name: str) -> Head | None:
        return next((h for h in self.heads if h.name == name), None)

    def packed_vectors(self) -> dict[bytes, int]:
        """token -> packed integer: field 0 counts summed vectors, fields 1.. hold offset weights."""
        vectors: dict[bytes, int] = {}
        width = layout.FIELD_BITS // 8
        one = (1).to_bytes(width, "little")
        for token, row in zip(self.vocab, self.weights, strict=True):
            # Building the bytes and converting once is much faster than shifting field by field.
            raw = one + b"".join((w + layout.WEIGHT_OFFSET).to_bytes(width, "little") for w in row)
            vectors[token] = int.from_bytes(raw, "little")
        return vectors

    def to_json(self) -> str:
        """Deterministic text (sorted vocabulary, fixed key order) so that equal models are equal bytes."""
        doc = {
            "format": MODEL_FORMAT,
            "meta": self.meta,
            "scale": layout.WEIGHT_SCALE,
            "heads": [
                {
                    "name": h.name,
                    "classes": list(h.classes),
                    "bias": [round(b, 6) for b in h.bias],
                    "temperature": round(h.temperature, 6),
                    "rule_weight": round(h.rule_weight, 6),
                }
                for h in self.heads
            ],
            "vocab": [t.decode("utf-8", "surrogatepass") for t in self.vocab],
            "weights": [list(row) for row in self.weights],
        }
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n"

    @classmethod
    def from_json(cls, text: str) -> LinearModel:
        doc = json.loads(text)
        if doc.get("format") != MODEL_FORMAT or doc.get("scale") != layout.WEIGHT_SCALE:
            raise ValueError(f"unsupported analyzer model format {doc.get('format')!r}")
        heads = tuple(
            Head(
                name=h["name"],
                classes=tuple(h["classes"]),
                bias=tuple(float(b) for b in h["bias"]),
                temperature=float(h["temperature"]),
                rule_weight=float(h["rule_weight"]),
            )
            for h in doc["heads"]
        )
        vocab = tuple(t.encode("utf-8", "surrogatepass") for t in doc["vocab"])
        weights = tuple(tuple(row) for row in doc["weights"])
        width = sum(len(h.classes) for h in heads)
        if len(vocab) != len(weights) or any(len(row) != width for row in weights):
            raise ValueError("analyzer model: vocabulary and weight rows do not match")
        return cls(heads=heads, vocab=vocab, weights=weights, meta=dict(doc.get("meta", {})))


def load_model(path: Path | None = None) -> LinearModel | None:
    """The model at `path`, or the one shipped in the package; None when no shipped model exists."""
    if path is not None:
        return LinearModel.from_json(path.read_text(encoding="utf-8"))
    shipped = resources.files("router_service.analyzer").joinpath(SHIPPED_MODEL)
    if not shipped.is_file():
        return None
    return LinearModel.from_json(shipped.read_text(encoding="utf-8"))
