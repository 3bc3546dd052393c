"""Spending limits and rate limits as configured (per tenant and per caller key)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from router_service.catalog.pricing import NANO_USD_PER_USD


class SpendLimits(BaseModel):
    """Limits for one tenant or one caller key; every field is optional."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    daily_usd: Decimal | None = Field(default=None, ge=0)
    monthly_usd: Decimal | None = Field(default=None, ge=0)
    requests_per_minute: int | None = Field(default=None, ge=1)
    tokens_per_minute: int | None = Field(default=None, ge=1)
    # Share of a budget past which a warning is logged and the report shows SOFT_LIMIT.
    soft_threshold: float = Field(default=0.8, gt=0, le=1)

    @property
    def daily_nano_usd(self) -> int | None:
        return None if self.daily_usd is None else int(self.daily_usd * NANO_USD_PER_USD)

    @property
    def monthly_nano_usd(self) -> int | None:
        return None if self.monthly_usd is None else int(self.monthly_usd * NANO_USD_PER_USD)


class TenantSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    limits: SpendLimits = SpendLimits()
