"""Accuracy targets of the shipped analyzer on the shared heldout prompts."""

from __future__ import annotations

from pathlib import Path

from router_service.analyzer import Analyzer
from router_service.analyzer.evaluation import evaluate

from .conftest import load_jsonl


def test_heldout_targets(analyzer: Analyzer, prompts_dir: Path) -> None:
    report = evaluate(load_jsonl(prompts_dir / "heldout.jsonl"), analyzer)
    labels = report.labels
    assert labels["domain"].accuracy is not None and labels["domain"].accuracy >= 0.85
    assert labels["lang"].accuracy is not None and labels["lang"].accuracy >= 0.99
    assert labels["intent"].accuracy is not None and labels["intent"].accuracy >= 0.90
    assert labels["intent"].macro_f1 is not None and labels["intent"].macro_f1 >= 0.75
    assert labels["complexity"].accuracy == 1.0
