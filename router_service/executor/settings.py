"""Executor policy as configured: deployments per model, balancing, breakers, retries, limits, hedging."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DeploymentSpec(_Strict):
    """One way to reach a catalog model: a configured provider endpoint and the model id it expects."""

    # A name from the config's `providers` map (e.g. "openai", "openai-eu", "vllm").
    provider: str
    # The model id at that endpoint; defaults to the catalog model's id.
    model: str | None = None
    name: str | None = None
    weight: float = Field(default=1.0, gt=0)
    max_concurrency: int | None = Field(default=None, ge=1)
    max_queue: int | None = Field(default=None, ge=0)
    timeout_s: float | None = Field(default=None, gt=0)


class BreakerSettings(_Strict):
    # Open after this many failures in a row...
    consecutive_failures: int = Field(default=5, ge=1)
    # ...or when the error rate over the window reaches this share (with at least `min_requests`).
    error_rate: float = Field(default=0.5, gt=0, le=1)
    window_s: float = Field(default=30.0, gt=0)
    min_requests: int = Field(default=20, ge=1)
    # How long an open breaker stays open before half-open probes; doubles on each re-open, up to max.
    open_s: float = Field(default=5.0, gt=0)
    max_open_s: float = Field(default=120.0, gt=0)
    half_open_probes: int = Field(default=1, ge=1)


class RetrySettings(_Strict):
    # Rounds over the whole target list: 1 = every deployment once; 2 = one more round for retryable errors.
    rounds: int = Field(default=2, ge=1, le=5)
    base_delay_s: float = Field(default=0.1, ge=0)
    max_delay_s: float = Field(default=2.0, ge=0)
    # A Retry-After longer than this is not waited for (the deployment cools down instead).
    max_retry_after_s: float = Field(default=5.0, ge=0)


class HedgingSettings(_Strict):
    enabled: bool = True
    # Start the second candidate when the first has not produced its first token by this percentile of
    # the first candidate's observed time to first token (or `min_delay_s` before enough observations).
    percentile: float = Field(default=0.9, gt=0, lt=1)
    min_delay_s: float = Field(default=0.25, ge=0)
    max_delay_s: float = Field(default=5.0, ge=0)


class ExecutorSettings(_Strict):
    balancing: Literal["weighted", "least_in_flight", "lowest_latency"] = "least_in_flight"
    # Per-deployment defaults (a deployment spec may override them).
    max_concurrency: int = Field(default=256, ge=1)
    max_queue: int = Field(default=512, ge=0)
    timeout_s: float | None = Field(default=None, gt=0)
    breaker: BreakerSettings = BreakerSettings()
    retry: RetrySettings = RetrySettings()
    hedging: HedgingSettings = HedgingSettings()
    # Probe (no tokens spent) a deployment that has seen no traffic for this long; 0 disables probing.
    probe_idle_s: float = Field(default=60.0, ge=0)
    # Rolling window of outcomes kept per deployment for success rate and latency percentiles.
    stats_window: int = Field(default=256, ge=16, le=100_000)
    # Extra deployments per catalog model ("provider/model" -> list). A model without an entry is
    # served by the provider of the same name.
    deployments: dict[str, list[DeploymentSpec]] = Field(default_factory=dict)
    # Seed for weighted balancing and backoff jitter (None: random).
    seed: int | None = None
