"""The built-in catalog: it loads, its prices are the shared public prices, and bad entries are named."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from router_service.catalog import CatalogError, load_catalog
from router_service.catalog.catalog import builtin_catalog_data
from router_service.catalog.pricing import usd_per_mtok_to_nanos
from router_service.domain import Domain, ModelRef, ModelTier, Usage
from router_service.strategy.candidates import IndexedModel
from tests.conftest import SHARED_DATA

PRICES = SHARED_DATA / "prices" / "catalog.yaml"
PRICE_FIELDS = ("input_per_mtok", "output_per_mtok", "cached_input_per_mtok", "cache_write_per_mtok")


def shared_models() -> dict[ModelRef, dict[str, Any]]:
    if not Path(PRICES).exists():
        pytest.skip(f"shared price data not found at {PRICES}")
    data = yaml.safe_load(Path(PRICES).read_text(encoding="utf-8"))
    return {ModelRef(m["provider"], m["model"]): m for m in data["models"]}


def test_builtin_catalog_loads_with_50_plus_models_in_every_tier() -> None:
    catalog = load_catalog()
    real = [e for e in catalog.entries if e.ref.provider != "demo"]
    assert len(real) >= 50
    assert {e.tier for e in real} == set(ModelTier)
    assert {"openai", "anthropic", "gemini", "groq", "xai", "ollama"} <= catalog.providers()
    for entry in catalog.entries:
        assert 0 < entry.quality <= 1 and all(0 < q <= 1 for q in entry.domain_quality.values())
        assert entry.latency_prior_ms > 0 and entry.context_window > 0


def test_every_price_equals_the_shared_price_data() -> None:
    shared = shared_models()
    catalog = load_catalog()
    builtin = {ModelRef(m["provider"], m["model"]): m for m in builtin_catalog_data()["models"]}
    assert {r for r in builtin if r.provider != "demo"} == set(shared)
    for ref, source in shared.items():
        entry = catalog.get(ref)
        assert entry is not None, ref
        assert entry.tier is ModelTier[source["tier"].upper()], ref
        assert entry.context_window == source["context_window"], ref
        assert entry.max_output_tokens == source["max_output_tokens"], ref
        base = entry.prices[0]
        assert base.input == usd_per_mtok_to_nanos(source["input_per_mtok"]), ref
        assert base.output == usd_per_mtok_to_nanos(source["output_per_mtok"]), ref
        if source.get("cached_input_per_mtok") is not None:
            assert base.cached_input == usd_per_mtok_to_nanos(source["cached_input_per_mtok"]), ref
        if source.get("cache_write_per_mtok") is not None:
            assert base.cache_write == usd_per_mtok_to_nanos(source["cache_write_per_mtok"]), ref
        tiers = sorted(source.get("long_context_tiers") or [], key=lambda t: t["above_input_tokens"])
        assert len(entry.prices) == 1 + len(tiers), ref
        for price, tier in zip(entry.prices[1:], tiers, strict=True):
            assert price.above_input_tokens == tier["above_input_tokens"]
            assert price.input == usd_per_mtok_to_nanos(tier["input_per_mtok"])
            assert price.output == usd_per_mtok_to_nanos(tier["output_per_mtok"])
        # The copied YAML text is identical too (no float round trip on the way).
        for name in PRICE_FIELDS:
            assert builtin[ref].get(name) == source.get(name), (ref, name)


def test_flagships_rank_above_their_tier_mates() -> None:
    catalog = load_catalog()
    pro = catalog.get(ModelRef("openai", "gpt-5.5-pro"))
    grok = catalog.get(ModelRef("xai", "grok-4.5"))
    assert pro is not None and grok is not None
    assert pro.quality_for(Domain.CODING) > grok.quality_for(Domain.CODING)


@pytest.mark.parametrize(("entry", "field"), [
    ({"provider": "acme", "model": "m1", "tier": "gold", "input_per_mtok": "1", "output_per_mtok": "2",
      "context_window": 1000, "max_output_tokens": 100, "quality": {"overall": 0.5}, "latency_prior_ms": 10}, "tier"),
    ({"provider": "acme", "model": "m1", "tier": "fast", "input_per_mtok": "one", "output_per_mtok": "2",
      "context_window": 1000, "max_output_tokens": 100, "quality": {"overall": 0.5}, "latency_prior_ms": 10},
     "input_per_mtok"),
    ({"provider": "acme", "model": "m1", "tier": "fast", "input_per_mtok": "1", "output_per_mtok": "2",
      "context_window": 0, "max_output_tokens": 100, "quality": {"overall": 0.5}, "latency_prior_ms": 10},
     "context_window"),
    ({"provider": "acme", "model": "m1", "tier": "fast", "input_per_mtok": "1", "output_per_mtok": "2",
      "context_window": 1000, "max_output_tokens": 100, "quality": {"overall": 0.5, "domains": {"poetry": 1}},
      "latency_prior_ms": 10}, "quality.domains"),
])
def test_an_invalid_user_entry_names_the_entry_and_the_field(entry: dict[str, Any], field: str) -> None:
    good = {"provider": "acme", "model": "ok", "tier": "fast", "input_per_mtok": "1", "output_per_mtok": "2",
            "context_window": 1000, "max_output_tokens": 100, "quality": {"overall": 0.5}, "latency_prior_ms": 10}
    with pytest.raises(CatalogError) as caught:
        load_catalog([good, entry])
    message = str(caught.value)
    assert "models[1] (acme/m1)" in message
    assert field in message


def test_user_entries_add_override_and_remove() -> None:
    catalog = load_catalog(
        [{"provider": "openai", "model": "gpt-5", "latency_prior_ms": 123}],
        remove=["groq/llama-3.1-8b-instant"],
    )
    gpt5 = catalog.get(ModelRef("openai", "gpt-5"))
    assert gpt5 is not None and gpt5.latency_prior_ms == 123
    assert catalog.get(ModelRef("groq", "llama-3.1-8b-instant")) is None
    with pytest.raises(CatalogError, match="not in the catalog"):
        load_catalog(remove=["nobody/none"])


INDEXED = [IndexedModel(e, 0.05) for e in load_catalog().entries]


@given(prompt=st.integers(0, 2_000_000), output=st.integers(0, 200_000))
def test_planning_cost_equals_the_catalog_cost(prompt: int, output: int) -> None:
    # Including the long-context tiers (272k, 200k thresholds) the fast path hands over to the catalog.
    for m in INDEXED:
        assert m.cost(prompt, output) == m.entry.cost_nano_usd(Usage(prompt, output))
