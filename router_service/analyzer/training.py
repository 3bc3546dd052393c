"""Training of the learned model (`llm-router train-analyzer`): deterministic under a seed, pure Python.

Each head (lang, domain, intent) is a multinomial logistic regression over the binary features of
`text.model_features` (word tokens of the analysis window plus shape tokens), trained with AdaGrad in a
seeded order. Calibration is fitted on a validation split (a share of the training rows): a temperature
and the weight of the rule votes, chosen together by validation log-loss, so that the combined answer's
confidence means what it says. The final weights are then trained on every row and quantised.
Every iteration order is fixed (sorted vocabulary, sorted features, seeded shuffles), so the same data
and seed give the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from router_service.analyzer import layout
from router_service.analyzer.features import structure
from router_service.analyzer.model import SHIPPED_MODEL, Head, LinearModel
from router_service.analyzer.rulebook import RuleBook, shipped_rule_tables, with_structure
from router_service.analyzer.text import cue_region, model_features, tokenize, window

DEFAULT_SEED = 1
EPOCHS = 8
LEARNING_RATE = 0.5
BIAS_LEARNING_RATE = 0.05
L2 = 1e-4
# Tokens seen in a single training row are dropped: they cannot generalise and would bloat the file.
MIN_DOCUMENT_FREQUENCY = 2
VALIDATION_SHARE = 0.2
HEADS = ("lang", "domain", "intent")
# Gradient entries smaller than this (probability error below 0.1 %) are not applied.
_ACTIVE_GRADIENT = 1e-3
_TEMPERATURES = (0.25, 0.35, 0.5, 0.7, 1.0, 1.4, 2.0, 2.8, 4.0, 5.6, 8.0)
_RULE_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0)

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class TrainingReport:
    rows: int
    vocabulary: int
    seconds: float
    validation: dict[str, dict[str, float]]


def default_data_dir() -> Path:
    """$LLM_ROUTER_SHARED_DATA/prompts, else ../shared/data/prompts from the working directory."""
    root = os.environ.get("LLM_ROUTER_SHARED_DATA")
    return Path(root) / "prompts" if root else Path("..") / "shared" / "data" / "prompts"


def resolve_data_file(data: Path, name: str) -> Path:
    """`data` may be the prompts folder or the shared data folder above it."""
    for candidate in (data / name, data / "prompts" / name):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{name} not found in {data} (nor in {data / 'prompts'})")


def load_rows(path: Path) -> list[Row]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def shipped_model_path() -> Path:
    return Path(str(resources.files("router_service.analyzer").joinpath(SHIPPED_MODEL)))


def _train_head(
    xs: Sequence[Sequence[int]], ys: Sequence[int], n_classes: int, n_features: int, seed: int
) -> tuple[list[list[float]], list[float]]:
    """AdaGrad on the softmax loss with lazy L2 (applied to the weights a row touches).

    Only the classes with a noticeable gradient are updated, and rows already classified with
    near certainty are skipped: after the first epochs that is most rows and most classes, which makes
    pure-Python training several times faster without changing what it converges to in practice.
    """
    weights = [[0.0] * n_classes for _ in range(n_features)]
    squares = [[1e-8] * n_classes for _ in range(n_features)]
    bias = [0.0] * n_classes
    order = list(range(len(xs)))
    rng = random.Random(seed)
    sqrt = math.sqrt
    for _ in range(EPOCHS):
        rng.shuffle(order)
        for i in order:
            x = xs[i]
            z = [sum(col) for col in zip(bias, *(weights[f] for f in x), strict=True)]
            top = max(z)
            e = [math.exp(v - top) for v in z]
            total = sum(e)
            g = [v / total for v in e]
            g[ys[i]] -= 1.0
            active = [(k, gk) for k, gk in enumerate(g) if gk > _ACTIVE_GRADIENT or gk < -_ACTIVE_GRADIENT]
            if not active:
                continue
            for f in x:
                row = weights[f]
                sq = squares[f]
                for k, gk in active:
                    d = gk + L2 * row[k]
                    s = sq[k] + d * d
                    sq[k] = s
                    row[k] -= LEARNING_RATE * d / sqrt(s)
            for k, gk in active:
                bias[k] -= BIAS_LEARNING_RATE * gk
    return weights, bias


def _log_softmax_at(z: Sequence[float], k: int) -> float:
    top = max(z)
    return z[k] - top - math.log(sum(math.exp(v - top) for v in z))


def _rule_votes(rules: RuleBook, head: str, classes: Sequence[str], text: str) -> list[float]:
    """The rule votes the analyzer adds to this head's logits, aligned with `classes`."""
    win = window(text)
    tokens = tokenize(win)
    if head == "lang":
        stop = rules.stopword_votes(tokens)
        codes = list(layout.LANGUAGE_CODES)
        return [float(stop[codes.index(c)]) for c in classes]
    cues = with_structure(rules.cue_votes(cue_region(tokens)), *structure(win))
    if head == "domain":
        names = [d.name.lower() for d in layout.DOMAINS]
        return [float(cues[layout.CUE_DOMAIN + names.index(c)]) for c in classes]
    names = [i.name.lower() for i in layout.INTENTS]
    return [float(cues[layout.CUE_INTENT + names.index(c)]) for c in classes]


@dataclass(frozen=True, slots=True)
class _Data:
    vocab: list[bytes]
    features: list[list[int]]  # per row, sorted vocabulary ids


def _featurize(rows: Sequence[Row]) -> _Data:
    token_sets = [model_features(r["text"]) for r in rows]
    df = Counter(t for s in token_sets for t in s)
    vocab = sorted(t for t, n in df.items() if n >= MIN_DOCUMENT_FREQUENCY)
    index = {t: i for i, t in enumerate(vocab)}
    features = [sorted(index[t] for t in s if t in index) for s in token_sets]
    return _Data(vocab, features)


def _fit_heads(
    data: _Data, rows: Sequence[Row], subset: Sequence[int], seed: int
) -> dict[str, tuple[list[str], list[list[float]], list[float]]]:
    heads = {}
    for h, name in enumerate(HEADS):
        idx = [i for i in subset if name in rows[i]]
        classes = sorted({rows[i][name] for i in idx})
        ci = {c: k for k, c in enumerate(classes)}
        w, b = _train_head(
            [data.features[i] for i in idx], [ci[rows[i][name]] for i in idx], len(classes), len(data.vocab),
            seed + h,
        )  # fmt: skip
        heads[name] = (classes, w, b)
    return heads


def _calibrate(
    heads: dict[str, tuple[list[str], list[list[float]], list[float]]],
    data: _Data,
    rows: Sequence[Row],
    subset: Sequence[int],
    rules: RuleBook,
) -> dict[str, dict[str, float]]:
    """Temperature and rule weight per head, minimising validation log-loss (ties: the first in grid order)."""
    result: dict[str, dict[str, float]] = {}
    for name, (classes, w, b) in heads.items():
        idx = [i for i in subset if name in rows[i] and rows[i][name] in classes]
        samples = []
        for i in idx:
            z = [sum(col) for col in zip(b, *(w[f] for f in data.features[i]), strict=True)]
            samples.append((z, _rule_votes(rules, name, classes, rows[i]["text"]), classes.index(rows[i][name])))
        best: tuple[float, float, float] | None = None
        for t in _TEMPERATURES:
            for beta in _RULE_WEIGHTS:
                loss = -sum(
                    _log_softmax_at([zk / t + beta * vk for zk, vk in zip(z, v, strict=True)], y) for z, v, y in samples
                )
                if best is None or loss < best[0] - 1e-9:
                    best = (loss, t, beta)
        assert best is not None
        correct = sum(max(range(len(z)), key=lambda k: z[k] / best[1] + best[2] * v[k]) == y for z, v, y in samples)
        result[name] = {
            "temperature": best[1],
            "rule_weight": best[2],
            "log_loss": round(best[0] / max(len(samples), 1), 4),
            "accuracy": round(correct / max(len(samples), 1), 4),
            "n": len(samples),
        }
    return result


def _quantise(w: float) -> int:
    return max(-layout.WEIGHT_MAX, min(layout.WEIGHT_MAX, round(w * layout.WEIGHT_SCALE)))


def train_model(
    rows: Sequence[Row], seed: int = DEFAULT_SEED, data_sha256: str = ""
) -> tuple[LinearModel, TrainingReport]:
    """Fit calibration on a validation split, then train every head on all rows."""
    started = time.perf_counter()
    rules = RuleBook(shipped_rule_tables())
    data = _featurize(rows)
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    cut = int(len(order) * (1 - VALIDATION_SHARE))
    fit_part, validation_part = sorted(order[:cut]), sorted(order[cut:])
    calibration = _calibrate(_fit_heads(data, rows, fit_part, seed), data, rows, validation_part, rules)
    final = _fit_heads(data, rows, range(len(rows)), seed)

    heads = tuple(
        Head(
            name=name,
            classes=tuple(classes),
            bias=tuple(b),
            temperature=calibration[name]["temperature"],
            rule_weight=calibration[name]["rule_weight"],
        )
        for name, (classes, _, b) in final.items()
    )
    rows_q: list[tuple[int, ...]] = []
    vocab: list[bytes] = []
    for f, token in enumerate(data.vocab):
        row = tuple(_quantise(x) for name in HEADS for x in final[name][1][f])
        if any(row):
            vocab.append(token)
            rows_q.append(row)
    meta = {
        "trainer": "router_service.analyzer.training",
        "seed": seed,
        "rows": len(rows),
        "data_sha256": data_sha256,
        "epochs": EPOCHS,
        "min_document_frequency": MIN_DOCUMENT_FREQUENCY,
        "validation": calibration,
    }
    model = LinearModel(heads=heads, vocab=tuple(vocab), weights=tuple(rows_q), meta=meta)
    report = TrainingReport(len(rows), len(vocab), time.perf_counter() - started, calibration)
    return model, report


def train_file(data_dir: Path, out: Path, seed: int = DEFAULT_SEED) -> TrainingReport:
    """Train from `data_dir`/train.jsonl and write the model to `out`."""
    path = resolve_data_file(data_dir, "train.jsonl")
    raw = path.read_bytes()
    rows = load_rows(path)
    model, report = train_model(rows, seed, hashlib.sha256(raw).hexdigest())
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(model.to_json(), encoding="utf-8")
    tmp.replace(out)
    return report
