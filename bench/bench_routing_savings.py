"""Replay the labelled prompts through analyzer + planner under every strategy and price the plans.

    .venv/bin/python bench/bench_routing_savings.py [--splits heldout train] [--data ../shared/data/prompts]

Every catalog provider is available (the demo provider excluded), default settings, default user tier.
Per split and strategy it prints the estimated cost of the selected models against always using the
baseline model (same token estimates: prompt estimate + the per-complexity expected output), the share of
each model tier per analysed complexity, and the share of COMPLEX / EXPERT prompts planned on a premium
model. Nothing is sent anywhere: these are the planner's own estimates.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from router_service.analyzer import Analyzer
from router_service.catalog import format_usd, load_catalog
from router_service.config import RoutingSettings
from router_service.domain import ChatMessage, Complexity, GenerationParams, ModelRef, ModelTier, Role
from router_service.strategy import STRATEGY_NAMES, Planner, RoutingPreferences

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "prompts"
HARD = (Complexity.COMPLEX, Complexity.EXPERT)


def available(ref: ModelRef) -> bool:
    return ref.provider != "demo"


def replay(split: str, texts: list[str], analyzer: Analyzer) -> None:
    analyses = [(analyzer.analyze(m), m) for m in ((ChatMessage(Role.USER, t),) for t in texts)]
    mix = Counter(a.complexity for a, _ in analyses)
    print(f"\n== {split}: {len(texts)} prompts; analysed complexity: "
          + ", ".join(f"{c.name} {mix[c]}" for c in Complexity))
    print(f"{'strategy':18} {'estimated':>14} {'baseline':>14} {'saved':>7} {'hard→premium':>13}   "
          "tier shares per complexity (fast/balanced/premium %)")
    params = GenerationParams()
    for name in STRATEGY_NAMES:
        planner = Planner(load_catalog(), RoutingSettings())
        prefs = RoutingPreferences(strategy=name)
        cost = baseline = 0
        tiers: dict[Complexity, Counter[ModelTier]] = defaultdict(Counter)
        failed: Counter[str] = Counter()
        for analysis, messages in analyses:
            try:
                plan = planner.plan(analysis, messages, params, prefs, available)
            except Exception as exc:  # report, do not stop: a strategy may refuse some prompts
                failed[type(exc).__name__] += 1
                continue
            cost += plan.estimated_cost_nano_usd
            baseline += plan.baseline_cost_nano_usd
            tiers[analysis.complexity][plan.selected.tier] += 1
        hard = sum(sum(tiers[c].values()) for c in HARD)
        hard_premium = sum(tiers[c][ModelTier.PREMIUM] for c in HARD)
        saved = 100 * (baseline - cost) / baseline if baseline else 0.0
        shares = "  ".join(
            f"{c.name[:4]} " + "/".join(f"{100 * tiers[c][t] / max(sum(tiers[c].values()), 1):.0f}" for t in ModelTier)
            for c in Complexity if tiers[c]
        )
        hard_text = f"{hard_premium}/{hard} {100 * hard_premium / hard:.0f}%" if hard else "n/a"
        print(f"{name:18} {format_usd(cost):>14} {format_usd(baseline):>14} {saved:6.1f}% {hard_text:>13}   {shares}")
        if failed:
            print(f"{'':18} refused: " + ", ".join(f"{k} {v}" for k, v in failed.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", nargs="+", default=["heldout", "train"])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    settings = RoutingSettings()
    print(f"baseline: {settings.baseline_model}; every provider but demo available; default settings")
    analyzer = Analyzer()
    for split in args.splits:
        rows = (args.data / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
        replay(split, [json.loads(line)["text"] for line in rows], analyzer)


if __name__ == "__main__":
    main()
