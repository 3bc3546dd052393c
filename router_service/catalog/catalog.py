"""The model catalog as data: the built-in `models.yaml` plus the user's additions, overrides and removals.

Entries are validated with pydantic at start; an invalid one stops start-up naming the file, the entry
and the field. Inside the router an entry is a frozen `ModelEntry` with integer prices.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from router_service.catalog.pricing import PriceTier, usd_per_mtok_to_nanos
from router_service.domain import Capability, Domain, ModelRef, ModelTier, Usage


class CatalogError(Exception):
    """An invalid catalog entry."""


class _LongContextTier(BaseModel):
    model_config = ConfigDict(extra="ignore")
    above_input_tokens: int = Field(gt=0)
    input_per_mtok: str
    output_per_mtok: str
    cached_input_per_mtok: str | None = None
    cache_write_per_mtok: str | None = None


class _Quality(BaseModel):
    model_config = ConfigDict(extra="forbid")
    overall: float = Field(ge=0, le=1)
    domains: dict[str, float] = Field(default_factory=dict)

    @field_validator("domains")
    @classmethod
    def _known_domains(cls, value: dict[str, float]) -> dict[str, float]:
        for name, score in value.items():
            if name.upper() not in Domain.__members__ or name.upper() == "UNKNOWN":
                raise ValueError(f"unknown domain {name!r}")
            if not 0 <= score <= 1:
                raise ValueError(f"quality for {name!r} must be in [0, 1]")
        return value


class CatalogEntrySpec(BaseModel):
    """One catalog entry as written in YAML (USD per 1M tokens as decimal strings)."""

    model_config = ConfigDict(extra="ignore")
    provider: str = Field(min_length=1)
    model: str = Field(min_length=1)
    tier: Literal["fast", "balanced", "premium"]
    input_per_mtok: str
    output_per_mtok: str
    cached_input_per_mtok: str | None = None
    cache_write_per_mtok: str | None = None
    context_window: int = Field(gt=0)
    max_output_tokens: int = Field(gt=0)
    capabilities: dict[str, bool | None] = Field(default_factory=dict)
    long_context_tiers: list[_LongContextTier] = Field(default_factory=list)
    quality: _Quality
    latency_prior_ms: int = Field(gt=0)
    deprecation_date: str | None = None

    @field_validator("input_per_mtok", "output_per_mtok", "cached_input_per_mtok", "cache_write_per_mtok")
    @classmethod
    def _price(cls, value: str | None) -> str | None:
        if value is not None:
            usd_per_mtok_to_nanos(value)
        return value

    @field_validator("capabilities")
    @classmethod
    def _capabilities(cls, value: dict[str, bool | None]) -> dict[str, bool | None]:
        for name in value:
            if name.upper() not in Capability.__members__:
                raise ValueError(f"unknown capability {name!r}")
        return value


@dataclass(frozen=True, slots=True)
class ModelEntry:
    ref: ModelRef
    tier: ModelTier
    # Base prices first, then long-context tiers by ascending threshold.
    prices: tuple[PriceTier, ...]
    context_window: int
    max_output_tokens: int
    capabilities: frozenset[Capability]
    quality: float
    domain_quality: Mapping[Domain, float] = field(default_factory=dict)
    latency_prior_ms: int = 1000
    price_date: str = ""

    def price_for(self, input_tokens: int) -> PriceTier:
        chosen = self.prices[0]
        for tier in self.prices[1:]:
            if input_tokens > tier.above_input_tokens:
                chosen = tier
        return chosen

    def cost_nano_usd(self, usage: Usage) -> int:
        return self.price_for(usage.input_tokens).cost_nano_usd(usage)

    def quality_for(self, domain: Domain) -> float:
        return self.domain_quality.get(domain, self.quality)


def _to_entry(spec: CatalogEntrySpec, price_date: str) -> ModelEntry:
    def tier(src: CatalogEntrySpec | _LongContextTier, above: int) -> PriceTier:
        inp = usd_per_mtok_to_nanos(src.input_per_mtok)
        cached = src.cached_input_per_mtok
        write = src.cache_write_per_mtok
        return PriceTier(
            input=inp,
            output=usd_per_mtok_to_nanos(src.output_per_mtok),
            cached_input=usd_per_mtok_to_nanos(cached) if cached is not None else inp,
            cache_write=usd_per_mtok_to_nanos(write) if write is not None else inp,
            above_input_tokens=above,
        )

    prices = [tier(spec, 0)]
    long_tiers = sorted(spec.long_context_tiers, key=lambda t: t.above_input_tokens)
    prices += [tier(t, t.above_input_tokens) for t in long_tiers]
    return ModelEntry(
        ref=ModelRef(spec.provider, spec.model),
        tier=ModelTier[spec.tier.upper()],
        prices=tuple(prices),
        context_window=spec.context_window,
        max_output_tokens=spec.max_output_tokens,
        capabilities=frozenset(Capability[k.upper()] for k, v in spec.capabilities.items() if v),
        quality=spec.quality.overall,
        domain_quality={Domain[k.upper()]: v for k, v in spec.quality.domains.items()},
        latency_prior_ms=spec.latency_prior_ms,
        price_date=price_date,
    )


class Catalog:
    """Every known model, looked up by reference; immutable once built."""

    def __init__(self, entries: Iterable[ModelEntry]) -> None:
        self.entries: tuple[ModelEntry, ...] = tuple(sorted(entries, key=lambda e: e.ref))
        self._by_ref = {e.ref: e for e in self.entries}

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, ref: ModelRef) -> ModelEntry | None:
        return self._by_ref.get(ref)

    def providers(self) -> set[str]:
        return {e.ref.provider for e in self.entries}


def _validate(raw: Mapping[str, Any], where: str, index: int) -> CatalogEntrySpec:
    try:
        return CatalogEntrySpec.model_validate(raw)
    except ValidationError as exc:
        name = f"{raw.get('provider', '?')}/{raw.get('model', '?')}"
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors())
        raise CatalogError(f"{where}: models[{index}] ({name}): {problems}") from exc


def builtin_catalog_data() -> dict[str, Any]:
    text = resources.files("router_service.catalog").joinpath("models.yaml").read_text(encoding="utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def load_catalog(
    extra_models: Iterable[Mapping[str, Any]] = (),
    remove: Iterable[str] = (),
    where: str = "configuration catalog.models",
) -> Catalog:
    """The built-in catalog with the config's entries added or overriding, and `remove` ids dropped."""
    data = builtin_catalog_data()
    price_date = str(data.get("price_date", ""))
    entries: dict[ModelRef, ModelEntry] = {}
    for i, raw in enumerate(data["models"]):
        entry = _to_entry(_validate(raw, "built-in catalog", i), price_date)
        entries[entry.ref] = entry
    for i, raw in enumerate(extra_models):
        ref = ModelRef(str(raw.get("provider", "")), str(raw.get("model", "")))
        base = entries.get(ref)
        merged = dict(raw)
        if base is not None:
            # An override may give only the fields it changes.
            builtin_raw = next(m for m in data["models"] if ModelRef(m["provider"], m["model"]) == ref)
            merged = {**builtin_raw, **raw}
        entry = _to_entry(_validate(merged, where, i), str(raw.get("price_date", price_date)))
        entries[entry.ref] = entry
    for text in remove:
        ref = ModelRef.parse(text)
        if ref not in entries:
            raise CatalogError(f"catalog.remove: {text!r} is not in the catalog")
        del entries[ref]
    return Catalog(entries.values())
