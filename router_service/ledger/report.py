"""The query and result shapes of a cost report."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from router_service.domain import Complexity, Domain


class Dimension(Enum):
    PROVIDER = "provider"
    MODEL = "model"
    TENANT = "tenant"
    AGENT = "agent"
    DOMAIN = "domain"
    COMPLEXITY = "complexity"
    STRATEGY = "strategy"
    EXPERIMENT_ARM = "experiment_arm"
    HOUR = "hour"
    DAY = "day"


@dataclass(frozen=True, slots=True)
class ReportQuery:
    start: float | None = None
    end: float | None = None
    tenants: frozenset[str] = frozenset()
    providers: frozenset[str] = frozenset()
    # "provider/model" or bare model ids.
    models: frozenset[str] = frozenset()
    group_by: tuple[Dimension, ...] = ()


@dataclass(frozen=True, slots=True)
class GroupKey:
    provider: str = ""
    model: str = ""
    tenant: str = ""
    agent: str = ""
    domain: Domain = Domain.UNKNOWN
    complexity: Complexity | None = None
    strategy: str = ""
    experiment_arm: str = ""
    bucket_start: float | None = None


@dataclass(slots=True)
class ReportRow:
    key: GroupKey
    requests: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cost_nano_usd: int = 0
    baseline_cost_nano_usd: int = 0
    cache_hits: int = 0
    cache_saved_nano_usd: int = 0
    ratings: int = 0
    rating_sum: int = 0
    latency_p50_s: float = 0.0
    latency_p95_s: float = 0.0
    latency_p99_s: float = 0.0

    @property
    def savings_nano_usd(self) -> int:
        return self.baseline_cost_nano_usd - self.cost_nano_usd

    @property
    def savings_percent(self) -> float:
        if self.baseline_cost_nano_usd <= 0:
            return 0.0
        return 100.0 * self.savings_nano_usd / self.baseline_cost_nano_usd

    @property
    def average_rating(self) -> float:
        return self.rating_sum / self.ratings if self.ratings else 0.0


@dataclass(frozen=True, slots=True)
class Report:
    totals: ReportRow
    rows: tuple[ReportRow, ...]
    start: float
    end: float
