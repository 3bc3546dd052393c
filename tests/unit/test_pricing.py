"""Exact integer money: property tests over any token counts and prices."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from router_service.catalog import PriceTier, format_usd, load_catalog
from router_service.catalog.pricing import usd_per_mtok_to_nanos
from router_service.domain import ModelRef, Usage
from tests.conftest import SHARED_DATA

tokens = st.integers(min_value=0, max_value=10**9)
prices = st.integers(min_value=0, max_value=10**12)  # up to $1000 per 1M tokens, in nano-USD


@given(tokens, tokens, tokens, tokens, prices, prices, prices, prices)
def test_cost_is_the_exact_rational_rounded_half_up(
    inp: int, out: int, cached: int, written: int, p_in: int, p_out: int, p_cached: int, p_write: int
) -> None:
    usage = Usage(inp, out, cached, written)
    tier = PriceTier(p_in, p_out, p_cached, p_write)
    c = min(cached, inp)
    w = min(written, inp - c)
    exact = Fraction((inp - c - w) * p_in + c * p_cached + w * p_write + out * p_out, 1_000_000)
    expected = int(exact + Fraction(1, 2))  # floor(x + 1/2) for x >= 0
    assert tier.cost_nano_usd(usage) == expected
    assert isinstance(tier.cost_nano_usd(usage), int)


@given(st.decimals(min_value=0, max_value=10_000, places=9, allow_nan=False, allow_infinity=False))
def test_decimal_prices_convert_exactly(value: Decimal) -> None:
    assert usd_per_mtok_to_nanos(str(value)) == int(value * 1_000_000_000)


def test_sub_nano_prices_are_rejected() -> None:
    with pytest.raises(ValueError, match="finer than one nano-USD"):
        usd_per_mtok_to_nanos("0.0000000001")


def test_builtin_prices_equal_the_public_price_data() -> None:
    data = yaml.safe_load((SHARED_DATA / "prices" / "catalog.yaml").read_text())
    catalog = load_catalog()
    for item in data["models"]:
        entry = catalog.get(ModelRef(item["provider"], item["model"]))
        assert entry is not None, item["model"]
        assert entry.prices[0].input == usd_per_mtok_to_nanos(item["input_per_mtok"])
        assert entry.prices[0].output == usd_per_mtok_to_nanos(item["output_per_mtok"])


def test_long_context_tier_prices_the_whole_request() -> None:
    entry = load_catalog().get(ModelRef("openai", "gpt-5.5"))
    assert entry is not None and len(entry.prices) == 2
    short = entry.cost_nano_usd(Usage(272_000, 0))
    long = entry.cost_nano_usd(Usage(272_001, 0))
    assert short == 272_000 * entry.prices[0].input // 1_000_000
    assert long == (272_001 * entry.prices[1].input + 500_000) // 1_000_000


def test_format_usd() -> None:
    assert format_usd(0) == "$0.00"
    assert format_usd(100_000_000) == "$0.10"
    assert format_usd(1_234_567) == "$0.001234567"
    assert format_usd(-5) == "-$0.000000005"
