"""Metrics, the evaluation report and the `analyze` / `train-analyzer` entry points."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from router_service.analyzer import Analyzer
from router_service.analyzer.cli import run_analyze, run_train
from router_service.analyzer.evaluation import evaluate, label_report

ROWS = [
    {"text": "hola", "lang": "es", "intent": "smalltalk", "complexity": "TRIVIAL", "domain": "chit_chat"},
    {"text": "Translate into Spanish: where is the station?", "lang": "en", "domain": "translation"},
    {"text": "¿Cuál es el precio del plan básico?", "lang": "es", "intent": "sales", "complexity": "SIMPLE"},
    {"text": "Write a Python function that sums a list.", "lang": "en", "domain": "coding", "intent": "general"},
]


def test_label_report_metrics() -> None:
    r = label_report([("a", "a"), ("a", "b"), ("b", "b"), ("c", "b")])
    assert r.n == 4
    assert r.accuracy == 0.5
    # F1: a = 2/3, b = 2*1/(2+2+0) = 0.5, c = 0 -> macro 0.3889
    assert r.macro_f1 == pytest.approx((2 / 3 + 0.5 + 0.0) / 3, abs=1e-4)
    assert r.confusion == {"a": {"a": 1, "b": 1}, "b": {"b": 1}, "c": {"b": 1}}
    assert label_report([]).accuracy is None


def test_evaluate_counts_only_labelled_rows(analyzer: Analyzer) -> None:
    report = evaluate(ROWS, analyzer)
    assert report.labels["lang"].n == 4
    assert report.labels["domain"].n == 3
    assert report.labels["intent"].n == 3
    assert report.labels["complexity"].n == 2
    assert report.labels["lang"].accuracy == 1.0
    assert report.rows_per_second > 0


def _write(tmp_path: Path) -> Path:
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in ROWS), encoding="utf-8")
    return path


def test_cli_eval_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_analyze(["--eval", str(_write(tmp_path)), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    for name in ("domain", "lang", "intent", "complexity"):
        assert {"accuracy", "macro_f1", "n"} <= doc[name].keys()
    assert doc["lang"]["n"] == 4


def test_cli_eval_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_analyze(["--eval", str(_write(tmp_path))]) == 0
    assert "accuracy" in capsys.readouterr().out


def test_cli_analyze(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_analyze(["hola, ¿cuál es el precio?", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["language"]["label"] == "es"
    assert doc["complexity"]["label"] == "SIMPLE"
    assert doc["intent"]["label"] == "sales"
    assert doc["agent"] == "sales"
    assert doc["features"]["questions"] == 1
    assert run_analyze(["Analyze this market strategy and compare it with our competitors"]) == 0
    out = capsys.readouterr().out
    assert "COMPLEX" in out and "analysis" in out


def test_cli_analyze_needs_text(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        run_analyze([])


def test_cli_train_small(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    data.mkdir()
    rows = [dict(r, intent=r.get("intent", "general")) for r in ROWS] * 3
    (data / "train.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    out = tmp_path / "model.json"
    assert run_train(["--data", str(data), "--out", str(out), "--seed", "3", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["rows"] == len(rows)
    assert out.is_file()
    assert run_analyze(["--model", str(out), "hola", "--json"]) == 0
