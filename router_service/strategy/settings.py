"""The strategy router's configuration (the `routing` section of the YAML), validated at start-up.

Every choice lives here as data: which model tiers each user tier may reach, what each complexity
expects (model tier, quality floor, output length), the `rules` strategy's ordered lists, the weights,
an optional traffic-splitting experiment and the learning parameters. A section the file sets partly is
merged key by key with the defaults, so overriding `EXPERT` does not erase `TRIVIAL`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from router_service.domain import Complexity

StrategyName = Literal["cost_optimized", "quality_optimized", "balanced", "weighted", "cheapest_first", "rules"]
STRATEGY_NAMES: tuple[str, ...] = get_args(StrategyName)
TierName = Literal["fast", "balanced", "premium"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WeightSettings(_Strict):
    """Relative weights of the score parts; only their ratios matter."""

    quality: float = Field(default=1.0, ge=0)
    cost: float = Field(default=1.0, ge=0)
    latency: float = Field(default=1.0, ge=0)

    @model_validator(mode="after")
    def _not_all_zero(self) -> WeightSettings:
        if self.quality + self.cost + self.latency <= 0:
            raise ValueError("at least one weight must be positive")
        return self


class UserTierPolicy(_Strict):
    """What a user tier may reach: model tiers, and optionally only some providers (empty = any)."""

    model_tiers: frozenset[TierName]
    providers: frozenset[str] = frozenset()

    @field_validator("model_tiers")
    @classmethod
    def _some_tier(cls, value: frozenset[str]) -> frozenset[str]:
        if not value:
            raise ValueError("must list at least one model tier")
        return value


class ComplexityPolicy(_Strict):
    """What a prompt of one complexity expects from the model that answers it."""

    # The model tier `balanced` matches to this complexity.
    model_tier: TierName
    # The quality (for the analysed domain) `cost_optimized` requires.
    quality_floor: float = Field(ge=0, le=1)
    # Output tokens assumed for cost estimates when the caller sets no max_output_tokens.
    expected_output_tokens: int = Field(gt=0, le=1_000_000)


class ExperimentArm(_Strict):
    name: str = Field(min_length=1, max_length=64)
    # Relative share of traffic (0.9 / 0.1 and 90 / 10 mean the same).
    share: float = Field(gt=0)
    # The strategy this arm uses; None keeps the configured default.
    strategy: StrategyName | None = None
    # Weights this arm uses for balanced / weighted; None keeps the configured ones.
    weights: WeightSettings | None = None


class ExperimentSettings(_Strict):
    """Split requests that name no strategy between arms by a stable hash of the routing key."""

    name: str = Field(min_length=1, max_length=64)
    arms: list[ExperimentArm] = Field(min_length=1)

    @field_validator("arms")
    @classmethod
    def _unique_names(cls, value: list[ExperimentArm]) -> list[ExperimentArm]:
        names = [arm.name for arm in value]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"arm names must be unique: {', '.join(duplicated)}")
        return value


class LearningSettings(_Strict):
    """Online statistics from outcomes and feedback; old evidence fades with a half-life."""

    enabled: bool = True
    half_life_s: float = Field(default=3600.0, gt=0)
    # How many observations the catalog's prior is worth: fewer moves faster, more is steadier.
    prior_weight: float = Field(default=5.0, gt=0)
    # Bound on remembered (model, domain, complexity) cells; the least recently updated go first.
    max_cells: int = Field(default=4096, ge=16)
    # Share of balanced / weighted plans that try a runner-up, so a model that sank can show it
    # recovered. 0 (the default) keeps plans fully deterministic; otherwise `seed` fixes the sequence.
    exploration_rate: float = Field(default=0.0, ge=0, le=0.5)
    seed: int = 0
    # Adjusted scores are recomputed at most this often per (domain, complexity): under load every
    # request records an outcome, and recomputing for every model on every plan would dominate planning.
    refresh_s: float = Field(default=0.25, ge=0)


def default_user_tiers() -> dict[str, UserTierPolicy]:
    return {
        "free": UserTierPolicy(model_tiers=frozenset({"fast"})),
        "pro": UserTierPolicy(model_tiers=frozenset({"fast", "balanced"})),
        "enterprise": UserTierPolicy(model_tiers=frozenset({"fast", "balanced", "premium"})),
    }


def default_complexity_policies() -> dict[str, ComplexityPolicy]:
    # Editorial quality is about 0.72 for the fast tier, 0.84 balanced, 0.92 premium (tools/build_catalog.py).
    # The floors are what cost_optimized calls "good enough", one step below balanced's tier matching:
    # COMPLEX accepts a balanced-tier model, only EXPERT insists on premium quality, and easy domains
    # (where small models do nearly as well) let a cheaper tier through everywhere.
    table = {
        "TRIVIAL": ("fast", 0.60, 150),
        "SIMPLE": ("fast", 0.70, 400),
        "MEDIUM": ("balanced", 0.78, 800),
        "COMPLEX": ("premium", 0.82, 1500),
        "EXPERT": ("premium", 0.90, 3000),
    }
    return {
        name: ComplexityPolicy(model_tier=tier, quality_floor=floor, expected_output_tokens=out)  # type: ignore[arg-type]
        for name, (tier, floor, out) in table.items()
    }


def default_rules() -> dict[str, list[str]]:
    return {
        "TRIVIAL": ["ollama/llama3.1", "groq/llama-3.1-8b-instant", "gemini/gemini-2.5-flash-lite"],
        "SIMPLE": ["groq/openai/gpt-oss-20b", "gemini/gemini-2.5-flash", "openai/gpt-5-mini"],
        "MEDIUM": ["anthropic/claude-sonnet-4-6", "openai/gpt-5.4", "gemini/gemini-2.5-pro"],
        "COMPLEX": ["anthropic/claude-opus-4-6", "openai/gpt-5.5", "gemini/gemini-3.1-pro-preview"],
        "EXPERT": ["anthropic/claude-opus-4-6", "openai/gpt-5.5"],
    }


def _complexity_key(name: object) -> str:
    key = str(name).strip().upper()
    if key not in Complexity.__members__:
        raise ValueError(f"unknown complexity {name!r} (one of {', '.join(Complexity.__members__)})")
    return key


def merge_user_tiers(value: Any) -> Any:
    """Merge the file's user tiers over the defaults; `null` removes a built-in tier."""
    if not isinstance(value, Mapping):
        return value
    merged: dict[str, Any] = dict(default_user_tiers())
    for name, policy in value.items():
        if policy is None:
            merged.pop(str(name), None)
        else:
            merged[str(name)] = policy
    return merged


def merge_complexity(value: Any) -> Any:
    """Merge the file's per-complexity settings field by field over the defaults."""
    if not isinstance(value, Mapping):
        return value
    merged: dict[str, Any] = {k: v.model_dump() for k, v in default_complexity_policies().items()}
    for name, policy in value.items():
        key = _complexity_key(name)
        merged[key] = {**merged[key], **policy} if isinstance(policy, Mapping) else policy
    return merged


def merge_rules(value: Any) -> Any:
    """Replace the default list of each complexity the file names; keys are case-insensitive."""
    if not isinstance(value, Mapping):
        return value
    merged: dict[str, Any] = dict(default_rules())
    for name, refs in value.items():
        merged[_complexity_key(name)] = refs
    return merged


def check_rules(value: dict[str, list[str]]) -> dict[str, list[str]]:
    for name, refs in value.items():
        for i, text in enumerate(refs):
            provider, _, model = text.partition("/")
            if not provider.strip() or not model.strip():
                raise ValueError(f"{name}[{i}]: {text!r} is not 'provider/model'")
    return value


def check_routing(default_user_tier: str, user_tiers: Mapping[str, UserTierPolicy]) -> None:
    """Cross-field checks for RoutingSettings."""
    if default_user_tier not in user_tiers:
        raise ValueError(
            f"default_user_tier {default_user_tier!r} is not one of user_tiers ({', '.join(sorted(user_tiers))})"
        )
