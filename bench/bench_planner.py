"""Time analysis + planning per request for prompts of 100 B, 1 kB, 10 kB and 100 kB.

    .venv/bin/python bench/bench_planner.py [--iterations N] [--prompts ../shared/data/prompts/heldout.jsonl]

Built-in catalog (55 real models; the demo provider unavailable, as when keys are configured). Prompts are
real labelled prompts concatenated up to each size. Prints median / p90 / p99 of analyse, plan and both,
per size, with the planner's learned statistics empty (cold) and filled for every model (warm, the steady
state of a serving router), then plan time per strategy at 1 kB. With the compiled extension installed
(router_service.native), the same 1 kB figures with the pure-Python reference follow, measured in the
same run in a child process (LLM_ROUTER_NATIVE=0) as the baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from router_service import native
from router_service.analyzer.analysis import Analysis, PromptFeatures
from router_service.catalog import Catalog, load_catalog
from router_service.config import RoutingSettings
from router_service.domain import (
    ChatMessage,
    Complexity,
    Domain,
    GenerationParams,
    Intent,
    Language,
    ModelRef,
    Role,
)
from router_service.strategy import STRATEGY_NAMES, Planner, RoutingPreferences
from router_service.tokens import estimate_prompt_tokens

SIZES = (100, 1_000, 10_000, 100_000)
DEFAULT_PROMPTS = Path(__file__).resolve().parents[2] / "shared" / "data" / "prompts" / "heldout.jsonl"

try:
    from router_service.analyzer import Analyzer

    analyze: Callable[[tuple[ChatMessage, ...]], Analysis] | None = Analyzer().analyze
except ImportError:  # the analyzer is another component; time planning alone without it
    analyze = None


def stand_in(messages: tuple[ChatMessage, ...]) -> Analysis:
    return Analysis(PromptFeatures(token_estimate=estimate_prompt_tokens(messages)), Language.ENGLISH, 1.0,
                    Complexity.MEDIUM, 0.5, 1.0, Domain.CODING, 1.0, Intent.GENERAL, 1.0)


def prompt_of(size: int, texts: list[str]) -> tuple[ChatMessage, ...]:
    text, i = "", 0
    while len(text.encode()) < size:
        text += texts[i % len(texts)] + "\n"
        i += 1
    return (ChatMessage(Role.USER, text.encode()[:size].decode(errors="ignore")),)


def timed(fn: Callable[[], object], iterations: int) -> list[float]:
    fn()
    samples = []
    for _ in range(iterations):
        start = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - start) / 1000)
    return samples


def summary(samples: list[float]) -> str:
    q = statistics.quantiles(samples, n=100)
    return f"{statistics.median(samples):8.1f} {q[89]:8.1f} {q[98]:8.1f}"


def available(ref: ModelRef) -> bool:
    return ref.provider != "demo"


def available_set(catalog: Catalog) -> frozenset[ModelRef]:
    """What the server passes the planner: the set of available models, the same object while unchanged."""
    return frozenset(e.ref for e in catalog.entries if available(e.ref))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=3000)
    parser.add_argument("--prompts", type=Path, default=DEFAULT_PROMPTS)
    parser.add_argument("--one-kb-only", action="store_true", help="only the cold 1 kB line (the baseline run)")
    args = parser.parse_args()
    texts = [json.loads(line)["text"] for line in args.prompts.read_text(encoding="utf-8").splitlines()]
    catalog = load_catalog()
    reachable = [e for e in catalog.entries if available(e.ref)]
    up = available_set(catalog)
    analyzer = analyze or stand_in
    params, prefs = GenerationParams(), RoutingPreferences()
    if args.one_kb_only:
        print(one_kb_line(Planner(catalog, RoutingSettings()), analyzer, texts, params, prefs, up, args.iterations))
        return
    which = "router_service.analyzer.Analyzer" if analyze else "NOT importable - stand-in analysis, plan timed alone"
    print(f"catalog: {len(catalog)} models, {len(reachable)} reachable; analyzer: {which}")
    print(f"hot loops: {native.DESCRIPTION}")
    for state in ("cold", "warm"):
        planner = Planner(catalog, RoutingSettings())
        if state == "warm":
            sample = analyzer(prompt_of(1_000, texts))
            for entry in reachable:
                for complexity in Complexity:
                    for domain in Domain:
                        a = Analysis(sample.features, sample.language, 1.0, complexity, 0.5, 1.0, domain, 1.0,
                                     sample.intent, 1.0)
                        planner.record_outcome(entry.ref, a, success=True, latency_s=1.0)
        print(f"\n[{state}: learned statistics {'for every model' if state == 'warm' else 'empty'}] "
              "microseconds per request: median / p90 / p99")
        print(f"{'prompt':>8} {'analyse':>26} {'plan':>26} {'analyse+plan':>26}")
        for size in SIZES:
            messages = prompt_of(size, texts)
            analysis = analyzer(messages)
            def analyse_only(m: tuple[ChatMessage, ...] = messages) -> object:
                return analyzer(m)

            def plan_only(
                m: tuple[ChatMessage, ...] = messages, x: Analysis = analysis, p: Planner = planner
            ) -> object:
                return p.plan(x, m, params, prefs, up, "t")

            def both_steps(m: tuple[ChatMessage, ...] = messages, p: Planner = planner) -> object:
                return p.plan(analyzer(m), m, params, prefs, up, "t")

            a, p, both = (timed(fn, args.iterations) for fn in (analyse_only, plan_only, both_steps))
            print(f"{size:>7,}B {summary(a)} {summary(p)} {summary(both)}")
    planner = Planner(catalog, RoutingSettings())
    messages = prompt_of(1_000, texts)
    analysis = analyzer(messages)
    print("\nplan only, 1 kB prompt, per strategy (median / p90 / p99 us):")
    for name in STRATEGY_NAMES:
        named = RoutingPreferences(strategy=name)
        samples = timed(lambda n=named: planner.plan(analysis, messages, params, n, up, "t"),  # type: ignore[misc]
                        args.iterations)
        print(f"  {name:18} {summary(samples)}")
    # The plan's scored alternatives (one per reachable model) are built when first read: Route and the
    # decision of Complete read them (server/translate.py), a caller of the planner alone may not.
    read = timed(lambda: planner.plan(analysis, messages, params, prefs, up, "t").alternative_columns(),
                 args.iterations)
    records = timed(lambda: planner.plan(analysis, messages, params, prefs, up, "t").alternatives, args.iterations)
    print("\nplan then read its scored alternatives, 1 kB prompt, balanced (median / p90 / p99 us):")
    print(f"  {'as columns':18} {summary(read)}")
    print(f"  {'as records':18} {summary(records)}")
    if native.NATIVE is not None:
        print("\nsame run, 1 kB prompt, cold (median / p90 / p99 us):")
        print(f"{'':18} {'analyse':>26} {'plan':>26} {'analyse+plan':>26}")
        print(f"  {'compiled':16}" + one_kb_line(Planner(catalog, RoutingSettings()), analyzer, texts, params, prefs,
                                               up, args.iterations))
        env = {**os.environ, native.ENV: "0"}
        child = subprocess.run([sys.executable, __file__, "--one-kb-only", "--iterations", str(args.iterations),
                                "--prompts", str(args.prompts)], env=env, capture_output=True, text=True, check=True)
        print(f"  {'pure Python':16}" + child.stdout.rstrip("\n"))


def one_kb_line(
    planner: Planner, analyzer: Callable[[tuple[ChatMessage, ...]], Analysis], texts: list[str],
    params: GenerationParams, prefs: RoutingPreferences, up: frozenset[ModelRef], iterations: int,
) -> str:
    """analyse, plan and both for the 1 kB prompt, as the tables above print them."""
    messages = prompt_of(1_000, texts)
    analysis = analyzer(messages)
    a = timed(lambda: analyzer(messages), iterations)
    p = timed(lambda: planner.plan(analysis, messages, params, prefs, up, "t"), iterations)
    both = timed(lambda: planner.plan(analyzer(messages), messages, params, prefs, up, "t"), iterations)
    return f"{summary(a)} {summary(p)} {summary(both)}"


if __name__ == "__main__":
    main()
