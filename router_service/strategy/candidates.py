"""Per-catalog data computed once (`IndexedModel`) and one request's candidates as columns.

Planning runs on every call over 50+ models, so everything that depends only on the catalog (prices
as plain ints, quality per domain, the usable context window) is computed when the planner is built,
and a request's candidates are parallel lists rather than one object per model: strategies work on
whole columns, and the plan's scored records are built once, at the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from router_service.catalog import ModelEntry
from router_service.catalog.pricing import TOKENS_PER_PRICE_UNIT
from router_service.domain import Domain, Usage

_HALF_UNIT = TOKENS_PER_PRICE_UNIT // 2


class IndexedModel:
    """One catalog entry with the numbers planning reads on every request."""

    __slots__ = (
        "entry", "input_price", "latency_ms", "long_context_above", "max_output", "output_price", "provider",
        "quality", "ref", "tier", "usable_window", "window",
    )

    def __init__(self, entry: ModelEntry, context_margin: float) -> None:
        self.entry = entry
        self.ref = entry.ref
        self.provider = entry.ref.provider
        self.tier = entry.tier
        self.window = entry.context_window
        # The prompt estimate is approximate; keep a margin so "fits" means it really fits.
        self.usable_window = int(entry.context_window / (1.0 + context_margin))
        self.max_output = entry.max_output_tokens
        self.latency_ms = float(entry.latency_prior_ms)
        # Indexed by Domain value (0..12).
        self.quality: tuple[float, ...] = tuple(entry.quality_for(d) for d in Domain)
        base = entry.prices[0]
        self.input_price = base.input
        self.output_price = base.output
        # Above this many prompt tokens a long-context price applies (None: never).
        self.long_context_above = entry.prices[1].above_input_tokens if len(entry.prices) > 1 else None

    def cost(self, prompt_tokens: int, output_tokens: int) -> int:
        """Estimated nano-USD for this many uncached prompt tokens and output tokens (exact integers)."""
        if self.long_context_above is not None and prompt_tokens > self.long_context_above:
            return self.entry.cost_nano_usd(Usage(prompt_tokens, output_tokens))
        # Same arithmetic as PriceTier.cost_nano_usd without building a Usage on the hot path.
        return (prompt_tokens * self.input_price + output_tokens * self.output_price + _HALF_UNIT) // (
            TOKENS_PER_PRICE_UNIT
        )


@dataclass(slots=True)
class CandidateSet:
    """Models that passed every constraint for one request; column i describes entries[i].

    Columns are read-only: the planner shares all but `costs` between requests that reach the same
    models for the same domain and complexity, together with `memo`, where a strategy keeps what it
    derives from them alone (tier groups, latency and quality scores) so it computes that once.
    """

    entries: list[ModelEntry]
    # Estimated nano-USD of this request on each model.
    costs: list[int]
    # Quality for the analysed domain, adjusted by what the router has observed.
    quality: list[float]
    latency_ms: list[float]
    memo: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.entries)

    @classmethod
    def of(cls, rows: list[tuple[ModelEntry, int, float, float]]) -> CandidateSet:
        """From (entry, cost, quality, latency_ms) rows; convenient for tests and tools."""
        return cls([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows])
