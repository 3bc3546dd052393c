"""Command-line entry points: `llm-router analyze` and `llm-router train-analyzer`.

The main CLI calls `run_analyze(argv)` and `run_train(argv)`; `python -m router_service.analyzer.cli
analyze ...` works without it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from router_service.analyzer.analysis import Analysis
from router_service.analyzer.analyzer import Analyzer
from router_service.analyzer.coordinator import AgentCoordinator
from router_service.analyzer.evaluation import cross_validate, evaluate, format_report, predicted_labels
from router_service.analyzer.settings import AnalyzerSettings
from router_service.analyzer.training import (
    DEFAULT_SEED,
    default_data_dir,
    load_rows,
    resolve_data_file,
    shipped_model_path,
    train_file,
)
from router_service.domain import ChatMessage, Role


def _analysis_dict(analysis: Analysis, agent: str) -> dict[str, Any]:
    labels = predicted_labels(analysis)
    f = analysis.features
    return {
        "language": {"label": labels["lang"], "confidence": round(analysis.language_confidence, 4)},
        "complexity": {
            "label": labels["complexity"],
            "score": round(analysis.complexity_score, 4),
            "confidence": round(analysis.complexity_confidence, 4),
        },
        "domain": {"label": labels["domain"], "confidence": round(analysis.domain_confidence, 4)},
        "intent": {"label": labels["intent"], "confidence": round(analysis.intent_confidence, 4)},
        "agent": agent,
        "sources": list(analysis.sources),
        "features": {name: getattr(f, name) for name in f.__slots__},
    }


def _print_analysis(doc: dict[str, Any]) -> None:
    for name in ("language", "complexity", "domain", "intent"):
        item = doc[name]
        score = f"  score {item['score']:.2f}" if "score" in item else ""
        print(f"{name:11s} {item['label']:17s} confidence {item['confidence']:.2f}{score}")
    print(f"{'agent':11s} {doc['agent']}")
    print(f"{'sources':11s} {' + '.join(doc['sources'])}")
    print(f"{'features':11s} " + ", ".join(f"{k}={v}" for k, v in doc["features"].items()))


def run_analyze(argv: Sequence[str] | None = None) -> int:
    """`llm-router analyze "text" [--system S] [--json]` or `llm-router analyze --eval FILE.jsonl [--json]`."""
    parser = argparse.ArgumentParser(prog="llm-router analyze", description="Analyse a prompt.")
    parser.add_argument("text", nargs="?", help='the prompt (a user turn); "-" reads standard input')
    parser.add_argument("--system", default="", help="a system prompt to analyse with it")
    parser.add_argument("--eval", type=Path, metavar="FILE.jsonl", help="evaluate on labelled prompts")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--model", type=Path, default=None, help="model file (default: the shipped one)")
    parser.add_argument("--rules-only", action="store_true", help="do not use the learned model")
    args = parser.parse_args(argv)
    analyzer = Analyzer(AnalyzerSettings(model_path=args.model, use_model=not args.rules_only))
    if args.eval is not None:
        report = evaluate(load_rows(args.eval), analyzer)
        print(json.dumps(report.as_dict(), indent=2) if args.json else format_report(report, str(args.eval)))
        return 0
    if args.text is None:
        parser.error("give a text to analyse or --eval FILE.jsonl")
    text = sys.stdin.read() if args.text == "-" else args.text
    messages = [ChatMessage(Role.SYSTEM, args.system)] if args.system else []
    messages.append(ChatMessage(Role.USER, text))
    analysis = analyzer.analyze(messages)
    doc = _analysis_dict(analysis, AgentCoordinator().select(analysis).name)
    if args.json:
        print(json.dumps(doc, ensure_ascii=False))
    else:
        _print_analysis(doc)
    return 0


def run_train(argv: Sequence[str] | None = None) -> int:
    """`llm-router train-analyzer [--data DIR] [--out PATH] [--seed N] [--cv K] [--json]`."""
    parser = argparse.ArgumentParser(
        prog="llm-router train-analyzer", description="Train the analyzer's learned model (deterministic)."
    )
    parser.add_argument("--data", type=Path, default=None, help="folder holding train.jsonl")
    parser.add_argument("--out", type=Path, default=None, help="model file (default: the shipped model.json)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--cv", type=int, default=0, metavar="K", help="report K-fold cross-validated figures instead of training"
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    data_dir: Path = args.data or default_data_dir()
    if args.cv:
        rows = load_rows(resolve_data_file(data_dir, "train.jsonl"))
        cv = cross_validate(rows, args.cv, args.seed)
        print(json.dumps(cv.as_dict(), indent=2) if args.json else format_report(cv, f"{args.cv}-fold CV"))
        return 0
    out: Path = args.out or shipped_model_path()
    report = train_file(data_dir, out, args.seed)
    if args.json:
        summary = {
            "out": str(out),
            "rows": report.rows,
            "vocabulary": report.vocabulary,
            "seconds": round(report.seconds, 2),
            "validation": report.validation,
        }
        print(json.dumps(summary))
        return 0
    print(f"trained on {report.rows} rows in {report.seconds:.1f} s: {report.vocabulary} tokens -> {out}")
    for name, v in report.validation.items():
        print(
            f"  {name:7s} validation accuracy {v['accuracy']:.4f}  log-loss {v['log_loss']:.4f}  "
            f"temperature {v['temperature']}  rule weight {v['rule_weight']}"
        )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    commands = {"analyze": run_analyze, "train-analyzer": run_train}
    if not args or args[0] not in commands:
        print("usage: python -m router_service.analyzer.cli {analyze,train-analyzer} ...", file=sys.stderr)
        return 2
    return commands[args[0]](args[1:])


if __name__ == "__main__":
    sys.exit(main())
