"""Accuracy, macro-F1, confusion matrices and throughput of the analyzer on labelled JSONL prompts.

Rows look like the shared prompts data: {"text", "domain"?, "lang"?, "intent"?, "complexity"?}; a
missing field means "not labelled" and the row does not count for that label.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from router_service.analyzer.analysis import Analysis
from router_service.analyzer.analyzer import Analyzer
from router_service.analyzer.training import train_model
from router_service.domain import ChatMessage, Language, Role

LABELS = ("domain", "lang", "intent", "complexity")
_LANGUAGE_CODES = {
    Language.ENGLISH: "en", Language.SPANISH: "es", Language.PORTUGUESE: "pt", Language.FRENCH: "fr",
    Language.GERMAN: "de", Language.ITALIAN: "it", Language.OTHER: "other", Language.UNKNOWN: "unknown",
}  # fmt: skip


def predicted_labels(analysis: Analysis) -> dict[str, str]:
    """The analysis in the label vocabulary of the data files."""
    return {
        "domain": analysis.domain.name.lower(),
        "lang": _LANGUAGE_CODES[analysis.language],
        "intent": analysis.intent.name.lower(),
        "complexity": analysis.complexity.name,
    }


@dataclass(frozen=True, slots=True)
class LabelReport:
    n: int
    accuracy: float | None
    macro_f1: float | None
    # gold -> predicted -> count
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"accuracy": self.accuracy, "macro_f1": self.macro_f1, "n": self.n, "confusion": self.confusion}


@dataclass(frozen=True, slots=True)
class EvaluationReport:
    labels: dict[str, LabelReport]
    rows: int
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {name: self.labels[name].as_dict() for name in LABELS}
        doc["throughput"] = {
            "rows": self.rows,
            "seconds": round(self.seconds, 4),
            "rows_per_second": round(self.rows_per_second, 1),
            "mean_us": round(1e6 * self.seconds / self.rows, 2) if self.rows else None,
        }
        return doc


def label_report(pairs: Sequence[tuple[str, str]]) -> LabelReport:
    """Accuracy, macro-F1 (over every class seen as gold or as prediction) and confusion of (gold, pred)."""
    if not pairs:
        return LabelReport(0, None, None)
    confusion: dict[str, Counter[str]] = {}
    for gold, pred in pairs:
        confusion.setdefault(gold, Counter())[pred] += 1
    classes = sorted({g for g, _ in pairs} | {p for _, p in pairs})
    f1s = []
    for c in classes:
        tp = sum(1 for g, p in pairs if g == c and p == c)
        fp = sum(1 for g, p in pairs if g != c and p == c)
        fn = sum(1 for g, p in pairs if g == c and p != c)
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    accuracy = sum(g == p for g, p in pairs) / len(pairs)
    return LabelReport(
        n=len(pairs),
        accuracy=round(accuracy, 4),
        macro_f1=round(sum(f1s) / len(f1s), 4),
        confusion={g: dict(sorted(c.items())) for g, c in sorted(confusion.items())},
    )


def _collect(rows: Sequence[dict[str, Any]], analyzer: Analyzer, pairs: dict[str, list[tuple[str, str]]]) -> float:
    """Analyse every row's text as a single user turn, append (gold, predicted) pairs; return seconds."""
    conversations = [[ChatMessage(Role.USER, str(r["text"]))] for r in rows]
    started = time.perf_counter()
    analyses = [analyzer.analyze(c) for c in conversations]
    seconds = time.perf_counter() - started
    for row, analysis in zip(rows, analyses, strict=True):
        predicted = predicted_labels(analysis)
        for name in LABELS:
            if row.get(name) is not None:
                pairs[name].append((str(row[name]), predicted[name]))
    return seconds


def evaluate(rows: Sequence[dict[str, Any]], analyzer: Analyzer) -> EvaluationReport:
    """Compare the analyzer's labels with the rows' labels."""
    pairs: dict[str, list[tuple[str, str]]] = {name: [] for name in LABELS}
    seconds = _collect(rows, analyzer, pairs)
    return EvaluationReport({n: label_report(p) for n, p in pairs.items()}, len(rows), seconds)


def cross_validate(
    rows: Sequence[dict[str, Any]],
    k: int,
    seed: int,
    make_analyzer: Callable[[Sequence[dict[str, Any]], int], Analyzer] | None = None,
) -> EvaluationReport:
    """K-fold cross-validation: train on k-1 folds, evaluate the full analyzer on the held-out fold."""

    def default_make(train_rows: Sequence[dict[str, Any]], fold_seed: int) -> Analyzer:
        model, _ = train_model(train_rows, fold_seed)
        return Analyzer(model=model)

    make = make_analyzer or default_make
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    pairs: dict[str, list[tuple[str, str]]] = {name: [] for name in LABELS}
    seconds = 0.0
    for fold in range(k):
        held = set(order[fold::k])
        analyzer = make([r for i, r in enumerate(rows) if i not in held], seed + fold)
        seconds += _collect([rows[i] for i in sorted(held)], analyzer, pairs)
    return EvaluationReport({n: label_report(p) for n, p in pairs.items()}, len(rows), seconds)


def format_report(report: EvaluationReport, title: str = "evaluation") -> str:
    lines = [f"{title}: {report.rows} rows, {1e6 * report.seconds / max(report.rows, 1):.1f} µs/row"]
    for name in LABELS:
        r = report.labels[name]
        if r.n == 0:
            lines.append(f"  {name:10s} (no labelled rows)")
            continue
        lines.append(f"  {name:10s} accuracy {r.accuracy:.4f}  macro-F1 {r.macro_f1:.4f}  n={r.n}")
        errors = Counter({(g, p): c for g, row in r.confusion.items() for p, c in row.items() if g != p})
        if errors:
            top = ", ".join(f"{g}->{p} {c}" for (g, p), c in errors.most_common(5))
            lines.append(f"  {'':10s} most confused: {top}")
    return "\n".join(lines)
