"""Training: deterministic under a seed, and reproducing the shipped model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from router_service.analyzer import Analyzer
from router_service.analyzer.evaluation import evaluate
from router_service.analyzer.model import LinearModel
from router_service.analyzer.training import shipped_model_path, train_file, train_model

from .conftest import load_jsonl


def _subset(prompts_dir: Path, n: int) -> list[dict[str, Any]]:
    rows = load_jsonl(prompts_dir / "train.jsonl")
    return rows[:: max(1, len(rows) // n)]


def test_same_seed_same_bytes(prompts_dir: Path) -> None:
    rows = _subset(prompts_dir, 800)
    first, _ = train_model(rows, seed=7)
    second, _ = train_model(rows, seed=7)
    assert first.to_json() == second.to_json()
    other, _ = train_model(rows, seed=8)
    assert other.to_json() != first.to_json()


@pytest.mark.slow
def test_training_reproduces_the_shipped_model(prompts_dir: Path, tmp_path: Path) -> None:
    """`llm-router train-analyzer` with the shipped seed rebuilds model.json byte for byte."""
    shipped = LinearModel.from_json(shipped_model_path().read_text(encoding="utf-8"))
    out = tmp_path / "model.json"
    train_file(prompts_dir, out, seed=int(shipped.meta["seed"]))
    retrained = LinearModel.from_json(out.read_text(encoding="utf-8"))
    heldout = load_jsonl(prompts_dir / "heldout.jsonl")
    figures = [
        {k: (v.accuracy, v.macro_f1) for k, v in evaluate(heldout, Analyzer(model=m)).labels.items()}
        for m in (shipped, retrained)
    ]
    assert figures[0] == figures[1]
    assert out.read_bytes() == shipped_model_path().read_bytes()
