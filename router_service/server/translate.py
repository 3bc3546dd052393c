"""Protobuf <-> domain translation and request validation (INVALID_ARGUMENT names the field)."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence

from google.protobuf import duration_pb2
from llmrouter.v1 import router_pb2 as pb

from router_service.analyzer.analysis import Analysis
from router_service.catalog import ModelEntry
from router_service.config import LimitsSettings
from router_service.domain import Capability, ChatMessage, GenerationParams, ModelRef, Role, Usage
from router_service.executor import ExecutionTrace
from router_service.ledger.entry import AttemptRecord
from router_service.server.errors import invalid_argument
from router_service.server.request_ids import RequestIds
from router_service.strategy.plan import Constraints, RoutePlan, RoutingPreferences, Weights

STRATEGY_NAMES: dict[pb.Strategy.ValueType, str] = {
    pb.STRATEGY_COST_OPTIMIZED: "cost_optimized",
    pb.STRATEGY_QUALITY_OPTIMIZED: "quality_optimized",
    pb.STRATEGY_BALANCED: "balanced",
    pb.STRATEGY_WEIGHTED: "weighted",
    pb.STRATEGY_CHEAPEST_FIRST: "cheapest_first",
    pb.STRATEGY_RULES: "rules",
}
STRATEGY_ENUMS = {name: number for number, name in STRATEGY_NAMES.items()}
USER_TIERS: dict[pb.UserTier.ValueType, str] = {
    pb.USER_TIER_FREE: "free",
    pb.USER_TIER_PRO: "pro",
    pb.USER_TIER_ENTERPRISE: "enterprise",
}
_REQUEST_ID = re.compile(r"^[\x21-\x7e]{1,128}$")
MAX_STOP_SEQUENCES = 8


_REQUEST_IDS = RequestIds()


def request_id_of(raw: str) -> str:
    if not raw:
        return _REQUEST_IDS.new()
    if not _REQUEST_ID.match(raw):
        raise invalid_argument("request_id", "must be 1-128 printable ASCII characters without spaces")
    return raw


def messages_of(items: Sequence[pb.Message], limits: LimitsSettings) -> tuple[ChatMessage, ...]:
    if not items:
        raise invalid_argument("messages", "at least one message is required")
    if len(items) > limits.max_messages:
        raise invalid_argument("messages", f"{len(items)} messages; at most {limits.max_messages} allowed")
    out: list[ChatMessage] = []
    size = 0
    for i, item in enumerate(items):
        if item.role not in (pb.ROLE_SYSTEM, pb.ROLE_USER, pb.ROLE_ASSISTANT):
            what = "is not set" if item.role == pb.ROLE_UNSPECIFIED else f"has unknown value {item.role}"
            raise invalid_argument(f"messages[{i}].role", f"role {what}; use ROLE_SYSTEM, ROLE_USER or ROLE_ASSISTANT")
        if item.role == pb.ROLE_USER and not item.content.strip():
            raise invalid_argument(f"messages[{i}].content", "a user message must have content")
        size += len(item.content.encode("utf-8"))
        out.append(ChatMessage(Role(item.role), item.content, item.name))
    if size > limits.max_request_bytes:
        raise invalid_argument("messages", f"content is {size} bytes; at most {limits.max_request_bytes} bytes allowed")
    if out[-1].role != Role.USER:
        raise invalid_argument(f"messages[{len(out) - 1}].role", "the last message must be from the user")
    return tuple(out)


# What an unset message means; immutable, so every request that sets nothing shares one.
_NO_PARAMS = GenerationParams()
_NO_PREFERENCES = RoutingPreferences()


def params_of(params: pb.GenerationParams) -> GenerationParams:
    if not params.ByteSize():  # nothing set (fields with presence count when set, even to 0)
        return _NO_PARAMS
    max_tokens = params.max_output_tokens if params.HasField("max_output_tokens") else None
    if max_tokens is not None and not 1 <= max_tokens <= 1_000_000:
        raise invalid_argument("params.max_output_tokens", "must be between 1 and 1000000")
    temperature = params.temperature if params.HasField("temperature") else None
    if temperature is not None and not (math.isfinite(temperature) and 0 <= temperature <= 2):
        raise invalid_argument("params.temperature", "must be between 0 and 2")
    top_p = params.top_p if params.HasField("top_p") else None
    if top_p is not None and not (math.isfinite(top_p) and 0 < top_p <= 1):
        raise invalid_argument("params.top_p", "must be greater than 0 and at most 1")
    if len(params.stop) > MAX_STOP_SEQUENCES:
        raise invalid_argument("params.stop", f"at most {MAX_STOP_SEQUENCES} stop sequences")
    for i, stop in enumerate(params.stop):
        if not stop or len(stop) > 256:
            raise invalid_argument(f"params.stop[{i}]", "must be 1-256 characters")
    seed = params.seed if params.HasField("seed") else None
    return GenerationParams(max_tokens, temperature, top_p, tuple(params.stop), seed)


def preferences_of(prefs: pb.RoutingPreferences) -> RoutingPreferences:
    if not prefs.ByteSize():
        return _NO_PREFERENCES
    strategy: str | None = None
    if prefs.strategy != pb.STRATEGY_UNSPECIFIED:
        if prefs.strategy not in STRATEGY_NAMES:
            raise invalid_argument("preferences.strategy", f"unknown strategy value {prefs.strategy}")
        strategy = STRATEGY_NAMES[prefs.strategy]
    weights: Weights | None = None
    if prefs.HasField("weights"):
        w = prefs.weights
        for name in ("cost", "latency", "quality"):
            value = getattr(w, name)
            if not (math.isfinite(value) and value >= 0):
                raise invalid_argument(f"preferences.weights.{name}", "must be a finite number >= 0")
        if w.cost == w.latency == w.quality == 0:
            raise invalid_argument("preferences.weights", "at least one weight must be positive")
        weights = Weights(w.cost, w.latency, w.quality)
    c = prefs.constraints
    capabilities = set()
    for i, cap in enumerate(c.required_capabilities):
        if cap not in Capability._value2member_map_:
            raise invalid_argument(f"preferences.constraints.required_capabilities[{i}]", f"unknown capability {cap}")
        capabilities.add(Capability(cap))
    for name in ("max_cost_nano_usd", "max_cost_per_1k_tokens_nano_usd", "max_latency_ms", "min_context_tokens"):
        if c.HasField(name) and getattr(c, name) < 0:  # type: ignore[arg-type]
            raise invalid_argument(f"preferences.constraints.{name}", "must not be negative")
    constraints = Constraints(
        max_cost_nano_usd=c.max_cost_nano_usd if c.HasField("max_cost_nano_usd") else None,
        max_cost_per_1k_tokens_nano_usd=(
            c.max_cost_per_1k_tokens_nano_usd if c.HasField("max_cost_per_1k_tokens_nano_usd") else None
        ),
        max_latency_ms=c.max_latency_ms if c.HasField("max_latency_ms") else None,
        min_context_tokens=c.min_context_tokens if c.HasField("min_context_tokens") else None,
        required_capabilities=frozenset(capabilities),
    )
    tier: str | None = None
    if prefs.user_tier != pb.USER_TIER_UNSPECIFIED:
        if prefs.user_tier not in USER_TIERS:
            raise invalid_argument("preferences.user_tier", f"unknown user tier value {prefs.user_tier}")
        tier = USER_TIERS[prefs.user_tier]
    force: ModelRef | None = None
    if prefs.HasField("force_model"):
        if not prefs.force_model.provider:
            raise invalid_argument("preferences.force_model.provider", "a forced model needs its provider")
        force = ModelRef(prefs.force_model.provider, prefs.force_model.model)
    return RoutingPreferences(
        strategy=strategy,
        weights=weights,
        constraints=constraints,
        allowed_providers=frozenset(prefs.allowed_providers),
        denied_providers=frozenset(prefs.denied_providers),
        force_model=force,
        user_tier=tier,
        allow_context_trimming=prefs.allow_context_trimming,
        use_agent=prefs.use_agent,
        latency_sensitive=prefs.latency_sensitive,
    )


def model_ref_pb(ref: ModelRef) -> pb.ModelRef:
    return pb.ModelRef(provider=ref.provider, model=ref.model)


def duration_pb(seconds: float) -> duration_pb2.Duration:
    d = duration_pb2.Duration()
    d.FromNanoseconds(int(seconds * 1e9))
    return d


def usage_pb(usage: Usage) -> pb.Usage:
    return pb.Usage(
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cached_input_tokens=usage.cached_input_tokens,
        cache_write_input_tokens=usage.cache_write_input_tokens,
        estimated=usage.estimated,
    )


def analysis_pb(a: Analysis) -> pb.Analysis:
    message = pb.Analysis()
    analysis_into(message, a)
    return message


def analysis_into(message: pb.Analysis, a: Analysis) -> None:
    """Fill `message` (a field of a larger message, so nothing is copied) from the analysis."""
    f = a.features
    features = message.features
    features.token_estimate = f.token_estimate
    features.characters = f.characters
    features.words = f.words
    features.sentences = f.sentences
    features.questions = f.questions
    features.code_blocks = f.code_blocks
    features.code_lines = f.code_lines
    features.math_expressions = f.math_expressions
    features.list_items = f.list_items
    features.urls = f.urls
    features.turns = f.turns
    message.language = pb.Language.ValueType(a.language)
    message.language_confidence = a.language_confidence
    message.complexity = pb.ComplexityTier.ValueType(a.complexity)
    message.complexity_score = a.complexity_score
    message.complexity_confidence = a.complexity_confidence
    message.domain = pb.Domain.ValueType(a.domain)
    message.domain_confidence = a.domain_confidence
    message.intent = pb.Intent.ValueType(a.intent)
    message.intent_confidence = a.intent_confidence
    message.sources.extend(a.sources)


def decision_pb(
    plan: RoutePlan, analysis: Analysis, agent: str, *, alternatives: bool = True
) -> pb.RouteDecision:
    """The decision as a message of its own (see `decision_into`)."""
    decision = pb.RouteDecision()
    decision_into(decision, plan, analysis, agent, alternatives=alternatives)
    return decision


def decision_into(
    decision: pb.RouteDecision, plan: RoutePlan, analysis: Analysis, agent: str, *, alternatives: bool = True
) -> None:
    """Fill `decision` (an empty field of the response, so nothing is copied afterwards) with the plan and
    the scored alternatives: every model the plan considered, or with `alternatives` false only the
    planned ones (selected, then fallbacks).

    Each alternative starts as a copy of its model's cached template (model and tier) and gets its
    numbers by attribute: less than half the cost of building it from keyword arguments."""
    decision.reason = plan.reason
    decision.strategy = STRATEGY_ENUMS.get(plan.strategy, pb.STRATEGY_UNSPECIFIED)
    decision.estimated_cost_nano_usd = plan.estimated_cost_nano_usd
    decision.baseline_cost_nano_usd = plan.baseline_cost_nano_usd
    if agent:
        decision.agent = agent
    if plan.experiment_arm:
        decision.experiment_arm = plan.experiment_arm
    if plan.trimmed_messages:
        decision.trimmed_messages = plan.trimmed_messages
    if plan.warnings:
        decision.warnings.extend(plan.warnings)
    candidates = plan.candidates
    decision.selected.MergeFrom(cached_ref_pb(candidates[0].ref))
    if len(candidates) > 1:
        add_fallback = decision.fallbacks.add
        for entry in candidates[1:]:
            add_fallback().MergeFrom(cached_ref_pb(entry.ref))
    if plan.baseline is not None:
        decision.baseline_model.MergeFrom(cached_ref_pb(plan.baseline.ref))
    analysis_into(decision.analysis, analysis)
    c = plan.alternative_columns() if alternatives else plan.planned_columns()
    add = decision.alternatives.add
    eligible = c.eligible
    for i, (entry, score, quality, cost, latency, fit, nano_usd, reason) in enumerate(zip(
        c.entries, c.scores, c.quality, c.cost, c.latency, c.tier_fit, c.estimated_cost_nano_usd,
        c.excluded_reasons, strict=True,
    )):
        alternative = add()
        alternative.MergeFrom(_candidate_template(entry))
        alternative.score = score
        parts = alternative.parts
        parts.quality = quality
        parts.cost = cost
        parts.latency = latency
        parts.tier_fit = fit
        alternative.estimated_cost_nano_usd = nano_usd
        if i < eligible:
            alternative.eligible = True
        elif reason:
            alternative.excluded_reason = reason


# Catalog-sized in practice; the bound only guards against an unbounded stream of forced unknown names.
@functools.lru_cache(maxsize=4096)
def cached_ref_pb(ref: ModelRef) -> pb.ModelRef:
    """A shared, read-only ModelRef message (copy it into a field; never modify it)."""
    return model_ref_pb(ref)


def _candidate_template(entry: ModelEntry) -> pb.ScoredCandidate:
    return _template(entry.ref, int(entry.tier))


@functools.lru_cache(maxsize=4096)
def _template(ref: ModelRef, tier: int) -> pb.ScoredCandidate:
    """A shared, read-only ScoredCandidate with only the model and its tier set."""
    return pb.ScoredCandidate(model=model_ref_pb(ref), tier=pb.ModelTier.ValueType(tier))


def attempt_pb(a: AttemptRecord) -> pb.Attempt:
    return pb.Attempt(
        model=model_ref_pb(a.model),
        deployment=a.deployment,
        error_kind=pb.ErrorKind.ValueType(a.error_kind),
        error_message=a.error_message,
        http_status=a.http_status,
        latency=duration_pb(a.latency_s),
        usage=usage_pb(a.usage),
    )


def summary_pb(
    trace: ExecutionTrace, latency_s: float, ttft_s: float | None, cache: pb.CacheInfo | None = None
) -> pb.CompletionSummary:
    summary = pb.CompletionSummary(
        deployment=trace.deployment,
        finish_reason=pb.FinishReason.ValueType(trace.finish_reason),
        usage=usage_pb(trace.usage),
        cost_nano_usd=trace.cost_nano_usd,
        attempts=[attempt_pb(a) for a in trace.attempts],
        warnings=list(trace.warnings),
        latency=duration_pb(latency_s),
    )
    if trace.answering is not None:
        summary.model.CopyFrom(model_ref_pb(trace.answering))
    if ttft_s is not None:
        summary.time_to_first_token.CopyFrom(duration_pb(ttft_s))
    if cache is not None:
        summary.cache.CopyFrom(cache)
    return summary


def model_info_pb(entry: ModelEntry) -> pb.ModelInfo:
    def pricing(tier_index: int) -> pb.Pricing:
        p = entry.prices[tier_index]
        return pb.Pricing(
            input_nano_usd_per_mtok=p.input,
            output_nano_usd_per_mtok=p.output,
            cached_input_nano_usd_per_mtok=p.cached_input,
            cache_write_nano_usd_per_mtok=p.cache_write,
            above_input_tokens=p.above_input_tokens,
        )

    return pb.ModelInfo(
        model=model_ref_pb(entry.ref),
        tier=pb.ModelTier.ValueType(entry.tier),
        pricing=pricing(0),
        long_context_pricing=[pricing(i) for i in range(1, len(entry.prices))],
        context_window=entry.context_window,
        max_output_tokens=entry.max_output_tokens,
        capabilities=[pb.Capability.ValueType(c) for c in sorted(entry.capabilities)],
        quality=entry.quality,
        domain_quality=[
            pb.DomainQuality(domain=pb.Domain.ValueType(d), quality=q) for d, q in sorted(entry.domain_quality.items())
        ],
        latency_prior=duration_pb(entry.latency_prior_ms / 1000),
        price_date=entry.price_date,
    )
