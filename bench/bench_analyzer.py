"""Time the prompt analyzer for prompts of 100 B, 1 kB, 10 kB, 100 kB and 1 MB.

    .venv/bin/python bench/bench_analyzer.py [--iterations N] [--prompts FILE.jsonl] [--rules-only]

Prompts are real labelled prompts (the shared heldout file when present, else a built-in mix of English
and Spanish requests) concatenated up to each size, one user turn. Prints the model load time, then per
size the median and p99 of `Analyzer.analyze`, and the median per kB to show how time grows with size.
Targets: median under 40 µs at 1 kB with the learned model on; 1 MB under 20 ms.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from router_service.analyzer import Analyzer
from router_service.analyzer.settings import AnalyzerSettings
from router_service.domain import ChatMessage, Role

SIZES = (100, 1_000, 10_000, 100_000, 1_000_000)
DEFAULT_PROMPTS = Path(__file__).resolve().parents[2] / "shared" / "data" / "prompts" / "heldout.jsonl"
FALLBACK_TEXTS = [
    "Explain how the warranty for the standing desk works and what it covers.",
    "¿Cuál es el horario de la sucursal del centro? Necesito saberlo antes de ir.",
    "Write a python function to find the last position of an element in a sorted array.",
    "Summarize the following paragraph in two sentences: The project must adhere to zoning codes.",
    "Analiza la estrategia de mercado del plan básico en Perú y compárala con la competencia.",
    "A group of 30 tourists sets out on a walking tour. How many tourists are left at the end?",
]


def load_texts(path: Path) -> list[str]:
    if not path.is_file():
        return FALLBACK_TEXTS
    with path.open(encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f if line.strip()]


def prompt_of(size: int, texts: list[str]) -> list[ChatMessage]:
    parts: list[str] = []
    length, i = 0, 0
    while length < size:
        parts.append(texts[i % len(texts)])
        length += len(parts[-1].encode()) + 1
        i += 1
    text = "\n".join(parts).encode()[:size].decode(errors="ignore")
    return [ChatMessage(Role.USER, text)]


def iterations_for(size: int, base: int) -> int:
    return max(20, min(base, base * 1_000 // size))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iterations", type=int, default=5000, help="runs at 100 B and 1 kB (fewer above)")
    parser.add_argument("--prompts", type=Path, default=DEFAULT_PROMPTS)
    parser.add_argument("--rules-only", action="store_true", help="time without the learned model")
    args = parser.parse_args()

    started = time.perf_counter()
    analyzer = Analyzer(AnalyzerSettings(use_model=not args.rules_only))
    load_ms = (time.perf_counter() - started) * 1e3
    mode = "rules only" if analyzer.model is None else f"rules + model ({len(analyzer.model.vocab)} tokens)"
    print(f"analyzer: {mode}, constructed in {load_ms:.0f} ms")
    texts = load_texts(args.prompts)
    print(f"{'size':>9s} {'runs':>6s} {'median µs':>10s} {'p99 µs':>10s} {'median µs/kB':>13s}")
    for size in SIZES:
        messages = prompt_of(size, texts)
        runs = iterations_for(size, args.iterations)
        for _ in range(min(runs, 50)):  # warm caches and the allocator
            analyzer.analyze(messages)
        samples = []
        gc.disable()  # a collection landing in one run says nothing about the analyzer
        try:
            for _ in range(runs):
                t0 = time.perf_counter_ns()
                analyzer.analyze(messages)
                samples.append(time.perf_counter_ns() - t0)
        finally:
            gc.enable()
        samples.sort()
        median = statistics.median(samples) / 1e3
        p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))] / 1e3
        print(f"{size:>9,d} {runs:>6d} {median:>10.1f} {p99:>10.1f} {median / (size / 1000):>13.2f}")


if __name__ == "__main__":
    main()
