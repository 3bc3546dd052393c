"""Exact money: prices as integer nano-USD per million tokens, costs as integer nano-USD.

No float ever takes part. A cost is the exact rational sum of tokens x price / 1e6, rounded once, half
up, to a whole nano-USD.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from router_service.domain import Usage

NANO_USD_PER_USD = 1_000_000_000
TOKENS_PER_PRICE_UNIT = 1_000_000


def usd_per_mtok_to_nanos(text: str | int) -> int:
    """'0.0375' (USD per 1M tokens) -> 37_500_000 nano-USD per 1M tokens. Rejects sub-nano prices."""
    try:
        value = Decimal(str(text))
    except InvalidOperation as exc:
        raise ValueError(f"not a decimal price: {text!r}") from exc
    if not value.is_finite() or value < 0:
        raise ValueError(f"price must be a finite, non-negative decimal: {text!r}")
    nanos = value * NANO_USD_PER_USD
    if nanos != nanos.to_integral_value():
        raise ValueError(f"price {text!r} is finer than one nano-USD per million tokens")
    return int(nanos)


@dataclass(frozen=True, slots=True)
class PriceTier:
    """Prices in nano-USD per 1M tokens, applying when input tokens exceed `above_input_tokens`."""

    input: int
    output: int
    cached_input: int
    cache_write: int
    above_input_tokens: int = 0

    def cost_nano_usd(self, usage: Usage) -> int:
        cached = min(usage.cached_input_tokens, usage.input_tokens)
        written = min(usage.cache_write_input_tokens, usage.input_tokens - cached)
        uncached = usage.input_tokens - cached - written
        numerator = (
            uncached * self.input
            + cached * self.cached_input
            + written * self.cache_write
            + usage.output_tokens * self.output
        )
        return (numerator + TOKENS_PER_PRICE_UNIT // 2) // TOKENS_PER_PRICE_UNIT


def format_usd(nano_usd: int) -> str:
    """Exact decimal dollars for people, at least cents: 1234567 -> '$0.001234567', 10**8 -> '$0.10'."""
    sign = "-" if nano_usd < 0 else ""
    whole, frac = divmod(abs(nano_usd), NANO_USD_PER_USD)
    text = f"{frac:09d}".rstrip("0").ljust(2, "0")
    return f"{sign}${whole:,}.{text}"
