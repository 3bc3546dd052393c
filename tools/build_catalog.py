"""Builds the package's built-in catalog (router_service/catalog/models.yaml) from the public price data.

    python tools/build_catalog.py ../shared/data/prices/catalog.yaml router_service/catalog/models.yaml

Prices, limits and capabilities are copied unchanged (decimal strings, USD per 1M tokens). Quality scores
and latency priors are editorial priors, derived by the documented rules below so that every number can
be traced; observed latency, errors and feedback adjust them at run time. Quality: the tier's base
(local models lower), moved up to +-0.03 by list output price against the tier's median (so the
flagship "pro" models outrank their cheaper tier-mates), then per-domain bonuses.
"""

from __future__ import annotations

import math
import statistics
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

TIER_QUALITY = {"premium": 0.92, "balanced": 0.84, "fast": 0.72}
TIER_LATENCY_MS = {"premium": 3500, "balanced": 1800, "fast": 800}
# Tasks where a small model does nearly as well as a large one: every model gets closer to the top.
EASY_DOMAINS = ("chit_chat", "classification", "extraction", "translation", "summarization", "closed_qa")
REASONING_DOMAINS = {"math": 0.04, "analysis": 0.03, "coding": 0.03}
LOCAL_QUALITY = 0.62
# Largest quality step list price can earn or cost a model within its tier (see price_adjustment).
PRICE_STEP = 0.03

DEMO_MODELS: list[dict[str, Any]] = [
    {
        "model": "demo-fast",
        "tier": "fast",
        "input_per_mtok": "0.1",
        "output_per_mtok": "0.4",
        "cached_input_per_mtok": "0.025",
    },
    {
        "model": "demo-balanced",
        "tier": "balanced",
        "input_per_mtok": "1",
        "output_per_mtok": "4",
        "cached_input_per_mtok": "0.25",
    },
    {
        "model": "demo-premium",
        "tier": "premium",
        "input_per_mtok": "5",
        "output_per_mtok": "25",
        "cached_input_per_mtok": "0.5",
    },
]


def _output_price(entry: dict[str, Any]) -> Decimal:
    return Decimal(str(entry["output_per_mtok"]))


def tier_medians(models: list[dict[str, Any]]) -> dict[str, Decimal]:
    """Median list output price per tier over the priced (non-local, non-demo) models."""
    prices: dict[str, list[Decimal]] = {}
    for entry in models:
        if entry["provider"] not in ("ollama", "demo") and _output_price(entry) > 0:
            prices.setdefault(entry["tier"], []).append(_output_price(entry))
    return {tier: Decimal(str(statistics.median(values))) for tier, values in prices.items()}


def price_adjustment(entry: dict[str, Any], medians: dict[str, Decimal]) -> float:
    """Within a tier, providers price their stronger models higher: +-PRICE_STEP at 4x or 1/4 of the
    tier's median output price, linear in log price between, capped there."""
    median = medians.get(entry["tier"])
    price = _output_price(entry)
    if entry["provider"] in ("ollama", "demo") or median is None or price <= 0:
        return 0.0
    position = math.log(float(price / median)) / math.log(4)
    return PRICE_STEP * max(-1.0, min(1.0, position))


def quality(entry: dict[str, Any], medians: dict[str, Decimal]) -> dict[str, Any]:
    tier = entry["tier"]
    overall = LOCAL_QUALITY if entry["provider"] == "ollama" else TIER_QUALITY[tier]
    overall += price_adjustment(entry, medians)
    domains: dict[str, float] = {}
    if (entry.get("capabilities") or {}).get("reasoning"):
        for name, bonus in REASONING_DOMAINS.items():
            domains[name] = overall + bonus
    if any(word in entry["model"] for word in ("codex", "coder", "codegeex")):
        domains["coding"] = overall + 0.06
    for name in EASY_DOMAINS:
        domains[name] = overall + (0.97 - overall) * 0.6
    return {"overall": round(overall, 3), "domains": {k: round(min(v, 0.98), 3) for k, v in domains.items()}}


def latency_ms(entry: dict[str, Any]) -> int:
    value = TIER_LATENCY_MS[entry["tier"]]
    if entry["provider"] == "groq":
        value = int(value * 0.4)
    elif entry["provider"] == "ollama":
        value = 1500
    elif entry["provider"] == "demo":
        value = 50 * {"fast": 1, "balanced": 2, "premium": 4}[entry["tier"]]
    if (entry.get("capabilities") or {}).get("reasoning") and entry["provider"] not in ("groq", "demo"):
        value += 1000
    return value


def main(source: str, target: str) -> None:
    data = yaml.safe_load(Path(source).read_text())
    models: list[dict[str, Any]] = []
    for item in data["models"]:
        entry = {k: v for k, v in item.items() if k not in ("litellm_key",)}
        models.append(entry)
    for demo in DEMO_MODELS:
        models.append(
            {
                "provider": "demo",
                **demo,
                "context_window": 200000,
                "max_output_tokens": 8192,
                "capabilities": {
                    "streaming": True,
                    "tools": False,
                    "vision": False,
                    "json_mode": False,
                    "reasoning": False,
                    "prompt_caching": False,
                },
            }
        )
    medians = tier_medians(models)
    for entry in models:
        entry["quality"] = quality(entry, medians)
        entry["latency_prior_ms"] = latency_ms(entry)
    header = (
        "# Built-in model catalog. Generated by tools/build_catalog.py from shared/data/prices/catalog.yaml;\n"
        "# do not edit by hand: override entries in the router's YAML config (catalog.models / catalog.remove).\n"
        "# Prices: USD per 1,000,000 tokens as exact decimal strings. quality/latency_prior_ms: editorial\n"
        "# priors by the rules in tools/build_catalog.py, adjusted at run time by observed results.\n"
    )
    out = {"price_date": str(data["price_date"]), "source": data["source"], "models": models}
    Path(target).write_text(header + yaml.safe_dump(out, sort_keys=False, allow_unicode=True, width=120))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
