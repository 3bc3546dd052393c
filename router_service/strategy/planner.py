"""The strategy router's entry point: analysis + preferences in, an ordered `RoutePlan` out.

Pipeline: choose the strategy (request, experiment arm or default) → the models the request may reach
(force, provider lists, user tier, static constraints; cached per combination) → availability →
context fit (trim only when allowed) → per-model estimates (cost, learned quality and latency) and the
remaining constraints → the strategy ranks → selected + fallbacks → reason. Pure and I/O free.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from operator import itemgetter
from typing import TYPE_CHECKING, Any, cast

from router_service.analyzer.analysis import Analysis
from router_service.catalog import Catalog, format_usd
from router_service.catalog.pricing import TOKENS_PER_PRICE_UNIT
from router_service.domain import ChatMessage, Complexity, Domain, GenerationParams, ModelRef, ModelTier
from router_service.strategy.balanced import Balanced
from router_service.strategy.base import Ranking, Strategy, StrategyInput
from router_service.strategy.candidates import CandidateSet, IndexedModel
from router_service.strategy.cheapest_first import CheapestFirst
from router_service.strategy.context_fit import trim_to_fit
from router_service.strategy.cost_optimized import CostOptimized
from router_service.strategy.experiments import Arm, Experiment
from router_service.strategy.learning import ModelStats
from router_service.strategy.plan import (
    AlternativeColumns,
    ContextTooLarge,
    InvalidPreference,
    NoCandidate,
    RoutePlan,
    RoutingPreferences,
    ScoredCandidate,
    ScoreParts,
    UnknownStrategy,
    UnknownUserTier,
    Weights,
)
from router_service.strategy.quality_optimized import QualityOptimized
from router_service.strategy.reason import describe_request, savings
from router_service.strategy.rules import Rules
from router_service.strategy.scope import (
    Exclusion,
    Reach,
    Scope,
    ScopeKey,
    build_reach,
    build_scope,
    exclusion_note,
    scope_key,
)
from router_service.strategy.weighted import Weighted
from router_service.tokens import estimate_prompt_tokens

if TYPE_CHECKING:
    # Only for types: config imports strategy.settings, so a runtime import here would be circular.
    from router_service.config import RoutingSettings
    from router_service.strategy.settings import WeightSettings

# Stages after the cached scope (which uses 1-5), in pipeline order.
_AVAILABILITY, _MAX_OUTPUT, _CONTEXT, _LATENCY, _COST, _COST_PER_1K = 6, 7, 8, 9, 10, 11
_SCOPE_CACHE_SIZE = 1024
_COLUMN_CACHE_SIZE = 4096


@dataclass(frozen=True, slots=True)
class _Columns:
    reach: Reach
    learned: Mapping[ModelRef, tuple[float, float]] | None
    quality: list[float]
    latency_ms: list[float]
    memo: dict[str, Any]


def all_strategies() -> tuple[Strategy, ...]:
    return (CostOptimized(), QualityOptimized(), Balanced(), Weighted(), CheapestFirst(), Rules())


def _weights(settings: WeightSettings) -> Weights:
    return Weights(cost=settings.cost, latency=settings.latency, quality=settings.quality)


class Planner:
    """Plans every request; also keeps the learned per-model statistics (call the record_* hooks)."""

    def __init__(
        self, catalog: Catalog, settings: RoutingSettings, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._settings = settings
        self._models = tuple(IndexedModel(e, settings.context_margin) for e in catalog.entries)
        self._by_ref = {m.ref: m for m in self._models}
        self._strategies: dict[str, Strategy] = {s.name: s for s in all_strategies()}
        warnings: list[str] = []
        self._baseline = self._by_ref.get(ModelRef.parse(settings.baseline_model))
        if self._baseline is None:
            warnings.append(f"baseline_model {settings.baseline_model} is not in the catalog; savings show as 0")
        self._rules: dict[Complexity, tuple[ModelRef, ...]] = {}
        for name, texts in settings.rules.items():
            refs = []
            for i, text in enumerate(texts):
                ref = ModelRef.parse(text)
                if ref in self._by_ref:
                    refs.append(ref)
                else:
                    warnings.append(f"rules.{name}[{i}]: {text} is not in the catalog; skipped")
            self._rules[Complexity[name]] = tuple(refs)
        self._policies = {Complexity[name]: p for name, p in settings.complexity.items()}
        self._preferred = {c: ModelTier[p.model_tier.upper()] for c, p in self._policies.items()}
        self._balanced_weights = _weights(settings.balanced_weights)
        self._weighted_weights = _weights(settings.weighted_weights)
        self._experiment = Experiment(settings.experiment) if settings.experiment else None
        self._stats = ModelStats(settings.learning, clock)
        self._rng = random.Random(settings.learning.seed)
        self._scopes: dict[ScopeKey, Scope] = {}
        self._reaches: dict[tuple[ScopeKey, tuple[bool, ...]], Reach] = {}
        self._reaches_by_set: dict[tuple[ScopeKey, frozenset[ModelRef]], Reach] = {}
        self._column_cache: dict[tuple[int, Domain, Complexity], _Columns] = {}
        self._unavailable = {
            m.ref: Exclusion(m, "provider disabled or circuit breaker open", "availability", _AVAILABILITY)
            for m in self._models
        }
        self.warnings: tuple[str, ...] = tuple(warnings)

    @property
    def strategy_names(self) -> tuple[str, ...]:
        return tuple(self._strategies)

    def plan(
        self, analysis: Analysis, messages: Sequence[ChatMessage], params: GenerationParams,
        prefs: RoutingPreferences, available: Callable[[ModelRef], bool] | frozenset[ModelRef],
        routing_key: str = "",
    ) -> RoutePlan:
        """`available`: the models whose provider can take a call now, as a predicate or a set (what a
        set implies is cached per scope and set, so pass the same set object while nothing changes)."""
        strategy, arm = self._strategy(prefs, routing_key)
        weights = self._resolve_weights(prefs, arm, strategy.name)
        user_tier = prefs.user_tier or self._settings.default_user_tier
        policy = self._settings.user_tiers.get(user_tier)
        if policy is None:
            raise UnknownUserTier(
                f"unknown user tier {user_tier!r} (configured: {', '.join(sorted(self._settings.user_tiers))})"
            )
        key = scope_key(prefs, user_tier)
        scope = self._scopes.get(key)
        if scope is None:
            if len(self._scopes) >= _SCOPE_CACHE_SIZE:
                self._scopes.clear()
            scope = self._scopes[key] = build_scope(self._models, prefs, user_tier, policy)
        if not scope.members:
            raise NoCandidate(_no_candidate_message(scope.excluded, scope.forced), scope.empty_constraint)

        complexity, domain = analysis.complexity, analysis.domain
        prompt_tokens = analysis.features.token_estimate or estimate_prompt_tokens(messages)
        output_tokens = params.max_output_tokens or self._policies[complexity].expected_output_tokens
        reach = self._reach(key, scope, available)
        if reach.largest is None:
            raise NoCandidate(_no_candidate_message(reach.excluded, scope.forced), "availability")

        out_messages, dropped, warnings = tuple(messages), 0, []
        largest = reach.largest
        if prompt_tokens > largest.usable_window:
            out_messages, dropped, prompt_tokens = self._fit_context(
                scope, largest, out_messages, prompt_tokens, prefs.allow_context_trimming)
            warnings.append(
                f"dropped the {dropped} oldest message(s) to fit the largest reachable context window "
                f"({largest.window:,} tokens of {largest.ref})")

        # Exclusions found for this request only (constraints that depend on its size and limits).
        excluded: list[Exclusion] = []
        candidates = self._candidates(
            reach, excluded, analysis, params=params, prefs=prefs, prompt_tokens=prompt_tokens,
            output_tokens=output_tokens)
        if not len(candidates):
            last = max(excluded, key=lambda e: e.stage)
            raise NoCandidate(_no_candidate_message([*reach.excluded, *excluded], scope.forced), last.constraint)

        request = StrategyInput(complexity, domain, weights, self._policies[complexity].quality_floor,
                                self._preferred[complexity], self._rules)
        ranking = strategy.rank(request, candidates)
        if not ranking.plannable:
            raise NoCandidate(f"{strategy.name}: {ranking.decided_by}", ranking.empty_constraint)
        notes = self._explore(ranking)
        chain = self._chain(ranking, candidates)
        selected = chain[0]
        selected_cost = candidates.costs[selected]

        baseline_cost = self._baseline.cost(prompt_tokens, output_tokens) if self._baseline else 0
        baseline_entry = self._baseline.entry if self._baseline else None
        reason = [f"{describe_request(analysis)}, {strategy.name}: {ranking.decided_by}", *notes,
                  savings(candidates.entries[selected], selected_cost, baseline_entry, baseline_cost)]
        if scope.forced:
            reason.append(scope.forced)
        note = exclusion_note([*reach.excluded, *excluded]) if excluded else reach.excluded_note
        if note:
            reason.append(note)
        if dropped:
            reason.append(f"trimmed {dropped} oldest message(s) to fit {largest.ref}")
        if arm is not None:
            reason.append(f"experiment arm {arm.label}")
        return RoutePlan(
            candidates=tuple(candidates.entries[i] for i in chain),
            scored=_Alternatives(ranking, candidates, chain, scope.excluded, excluded, prompt_tokens, output_tokens),
            reason="; ".join(reason),
            strategy=strategy.name,
            estimated_cost_nano_usd=selected_cost,
            baseline=baseline_entry,
            baseline_cost_nano_usd=baseline_cost,
            messages=out_messages,
            trimmed_messages=dropped,
            experiment_arm=arm.label if arm else "",
            warnings=tuple(warnings) + ranking.warnings,
        )

    def record_outcome(self, ref: ModelRef, analysis: Analysis, success: bool, latency_s: float) -> None:
        """After each attempt: whether the model answered and how long it took (wall time, seconds)."""
        if self._settings.learning.enabled and ref in self._by_ref:
            self._stats.record_outcome(ref, analysis.domain, analysis.complexity, success, latency_s)

    def record_feedback(self, ref: ModelRef, analysis: Analysis, rating: int) -> None:
        """A caller's rating (1-5) of the answer `ref` gave; ValueError outside 1-5."""
        if self._settings.learning.enabled and ref in self._by_ref:
            self._stats.record_rating(ref, analysis.domain, analysis.complexity, rating)

    def _reach(
        self, key: ScopeKey, scope: Scope, available: Callable[[ModelRef], bool] | frozenset[ModelRef]
    ) -> Reach:
        if type(available) is frozenset:
            by_set = self._reaches_by_set.get((key, available))
            if by_set is not None:
                return by_set
            reach = self._reach(key, scope, available.__contains__)
            if len(self._reaches_by_set) >= _SCOPE_CACHE_SIZE:
                self._reaches_by_set.clear()
            self._reaches_by_set[(key, available)] = reach
            return reach
        assert callable(available)
        flags = tuple([available(m.ref) for m in scope.members])
        found = self._reaches.get((key, flags))
        if found is None:
            if len(self._reaches) >= _SCOPE_CACHE_SIZE:
                self._reaches.clear()
            found = self._reaches[(key, flags)] = build_reach(scope, flags, self._unavailable)
        return found

    def _strategy(self, prefs: RoutingPreferences, routing_key: str) -> tuple[Strategy, Arm | None]:
        arm = None
        name = prefs.strategy
        if not name:
            if self._experiment is not None:
                arm = self._experiment.assign(routing_key)
            name = (arm.strategy if arm else None) or self._settings.default_strategy
        strategy = self._strategies.get(name.strip().lower().replace("-", "_"))
        if strategy is None:
            raise UnknownStrategy(f"unknown strategy {name!r} (one of {', '.join(self._strategies)})")
        return strategy, arm

    def _resolve_weights(self, prefs: RoutingPreferences, arm: Arm | None, strategy: str) -> Weights:
        w = prefs.weights
        if w is not None:
            if min(w.cost, w.latency, w.quality) < 0:
                raise InvalidPreference("weights must not be negative", "preferences.weights")
            # All zero is how an unset protobuf message arrives: it means "no preference".
            if w.cost + w.latency + w.quality > 0:
                return w
        if arm is not None and arm.weights is not None:
            return arm.weights
        return self._balanced_weights if strategy == "balanced" else self._weighted_weights

    def _fit_context(
        self, scope: Scope, largest: IndexedModel, messages: tuple[ChatMessage, ...], prompt_tokens: int,
        allow_trimming: bool,
    ) -> tuple[tuple[ChatMessage, ...], int, int]:
        widest = max(scope.members, key=lambda m: m.usable_window)
        if not allow_trimming:
            if prompt_tokens <= widest.usable_window:
                raise NoCandidate(
                    f"a prompt of about {prompt_tokens:,} tokens fits only models that are unavailable now "
                    f"(largest reachable window {largest.window:,} tokens)", "availability")
            raise ContextTooLarge(
                f"a prompt of about {prompt_tokens:,} tokens does not fit any model's context window (largest "
                f"{widest.window:,} tokens, {widest.ref}); allow_context_trimming drops the oldest turns",
                prompt_tokens, widest.window)
        trimmed = trim_to_fit(messages, prompt_tokens, largest.usable_window)
        if trimmed is None:
            raise ContextTooLarge(
                f"a prompt of about {prompt_tokens:,} tokens does not fit the largest reachable context window "
                f"({largest.window:,} tokens) even with only the system prompt and the last user turn",
                prompt_tokens, largest.window)
        return trimmed.messages, trimmed.dropped, trimmed.prompt_tokens

    def _candidates(
        self, reach: Reach, excluded: list[Exclusion], analysis: Analysis, *,
        params: GenerationParams, prefs: RoutingPreferences, prompt_tokens: int, output_tokens: int,
    ) -> CandidateSet:
        domain = analysis.domain
        learned = self._stats.view(domain, analysis.complexity, self._prior) if len(self._stats) else None
        c = prefs.constraints
        max_out = params.max_output_tokens
        max_latency, max_cost, per_1k = c.max_latency_ms, c.max_cost_nano_usd, c.max_cost_per_1k_tokens_nano_usd
        if (max_out is None and max_latency is None and max_cost is None and per_1k is None
                and prompt_tokens <= reach.smallest_window):
            # The common request: nothing to exclude, so the precomputed columns serve as they are,
            # patched only for the models the router has observed.
            costs: list[int] | None = None
            if prompt_tokens <= reach.base_prices_up_to:
                if reach.price_table is not None:
                    # OverflowError only beyond 128 bits: then the unbounded Python arithmetic below serves.
                    with contextlib.suppress(OverflowError):
                        costs = reach.price_table.costs(prompt_tokens, output_tokens)
                if costs is None:
                    # IndexedModel.cost's arithmetic, inlined: this runs for every model on every request.
                    half, unit = TOKENS_PER_PRICE_UNIT // 2, TOKENS_PER_PRICE_UNIT
                    costs = [(prompt_tokens * pin + output_tokens * pout + half) // unit
                             for pin, pout in reach.base_prices]
            else:
                costs = [m.cost(prompt_tokens, output_tokens) for m in reach.members]
            columns = self._columns(reach, domain, analysis.complexity, learned)
            return CandidateSet(reach.entries, costs, columns.quality, columns.latency_ms, columns.memo)
        total_tokens = prompt_tokens + output_tokens
        chosen = CandidateSet([], [], [], [])
        for m in reach.members:
            if max_out is not None and max_out > m.max_output:
                excluded.append(Exclusion(m, f"max output {m.max_output:,} < requested {max_out:,}",
                                          "params.max_output_tokens", _MAX_OUTPUT))
                continue
            if prompt_tokens > m.usable_window:
                excluded.append(Exclusion(m, f"context window {m.window:,} too small for ~{prompt_tokens:,} "
                                          "prompt tokens", "context_window", _CONTEXT))
                continue
            q, lat = (learned.get(m.ref) if learned else None) or (m.quality[domain], m.latency_ms)
            if max_latency is not None and lat > max_latency:
                excluded.append(Exclusion(m, f"expected latency {lat:,.0f} ms > {max_latency:,} ms",
                                          "constraints.max_latency_ms", _LATENCY))
                continue
            cost = m.cost(prompt_tokens, output_tokens)
            if max_cost is not None and cost > max_cost:
                excluded.append(Exclusion(m, f"estimated cost {format_usd(cost)} > {format_usd(max_cost)}",
                                          "constraints.max_cost_nano_usd", _COST))
                continue
            if per_1k is not None and cost * 1000 > per_1k * total_tokens:
                excluded.append(Exclusion(
                    m, f"{format_usd(cost * 1000 // max(total_tokens, 1))} per 1k tokens > {format_usd(per_1k)}",
                    "constraints.max_cost_per_1k_tokens_nano_usd", _COST_PER_1K))
                continue
            chosen.entries.append(m.entry)
            chosen.costs.append(cost)
            chosen.quality.append(q)
            chosen.latency_ms.append(lat)
        return chosen

    def _columns(
        self, reach: Reach, domain: Domain, complexity: Complexity,
        learned: Mapping[ModelRef, tuple[float, float]] | None,
    ) -> _Columns:
        """Quality and latency of the reachable models for this kind of prompt, shared until they change."""
        key = (id(reach), domain, complexity)
        columns = self._column_cache.get(key)
        # Identity checks: a recycled id() or a recomputed learned view must not serve stale columns.
        if columns is not None and columns.reach is reach and columns.learned is learned:
            return columns
        quality, latency = reach.quality_by_domain[domain], reach.latency_ms
        if learned:
            quality, latency = list(quality), list(latency)
            for ref, (q, lat) in learned.items():
                i = reach.index.get(ref)
                if i is not None:
                    quality[i], latency[i] = q, lat
        if len(self._column_cache) >= _COLUMN_CACHE_SIZE:
            self._column_cache.clear()
        columns = self._column_cache[key] = _Columns(reach, learned, quality, latency, {})
        return columns

    def _prior(self, ref: ModelRef, domain: Domain) -> tuple[float, float]:
        m = self._by_ref[ref]
        return m.quality[domain], m.latency_ms

    def _explore(self, ranking: Ranking) -> list[str]:
        rate = self._settings.learning.exploration_rate
        if rate <= 0 or not ranking.learns or ranking.plannable < 2 or self._rng.random() >= rate:
            return []
        # Only among the plan's own top few, so exploring never reaches a model that would not be a fallback.
        j = self._rng.randrange(1, min(ranking.plannable, 1 + self._settings.max_fallbacks))
        order = ranking.order
        order[0], order[j] = order[j], order[0]
        return [f"exploring the candidate ranked {j + 1} to refresh its statistics"]

    def _chain(self, ranking: Ranking, candidates: CandidateSet) -> list[int]:
        """Selected then fallbacks, as candidate indices."""
        plannable = ranking.order[: ranking.plannable]
        limit = len(plannable) if ranking.all_fallbacks else 1 + self._settings.max_fallbacks
        if ranking.keep_order or not self._settings.diverse_fallbacks:
            return plannable[:limit]
        providers = _providers(candidates)
        fits = ranking.tier_fit or [0.0] * len(candidates)
        chain, rest = [plannable[0]], plannable[1:]
        used = {providers[plannable[0]]}
        while rest and len(chain) < limit:
            # Within the best remaining tier fit, the best candidate of a provider not yet in the chain.
            fit = fits[rest[0]]
            pick = 0
            for k, i in enumerate(rest):
                if providers[i] not in used and fits[i] == fit:
                    pick = k
                    break
            chosen = rest.pop(pick)
            used.add(providers[chosen])
            chain.append(chosen)
        return chain


_new = tuple.__new__


def _providers(candidates: CandidateSet) -> list[str]:
    """Each candidate's provider name, memoised with the candidate set's shared columns."""
    found = candidates.memo.get("providers")
    if found is None:
        found = candidates.memo["providers"] = [e.ref.provider for e in candidates.entries]
    return cast(list[str], found)


def _picker(order: list[int]) -> Callable[[Sequence[Any]], Sequence[Any]]:
    """values -> [values[i] for i in order], gathered in C by one itemgetter reused for every column."""
    if len(order) > 1:
        return itemgetter(*order)
    return lambda values: [values[i] for i in order]


class _Alternatives:
    """Every model considered: the strategy's order, then the ones a constraint excluded, with reasons.

    Built on first read, from what planning computed anyway (the ranking and the candidate columns),
    and kept: one request's plan reads them at most once or twice, and many never do.
    """

    __slots__ = (
        "_candidates", "_chain", "_columns", "_excluded", "_output_tokens", "_prompt_tokens", "_ranking", "_records",
    )

    def __init__(
        self, ranking: Ranking, candidates: CandidateSet, chain: list[int], by_preference: Sequence[Exclusion],
        by_request: list[Exclusion], prompt_tokens: int, output_tokens: int,
    ) -> None:
        self._ranking = ranking
        self._candidates = candidates
        self._chain = chain
        # Models a preference (the cached scope) or this request's size and limits excluded, with why.
        # Those excluded only because their provider is off or broken now are not this request's
        # alternatives (ListModels reports availability).
        self._excluded: Sequence[Exclusion] = [*by_preference, *by_request] if by_request else by_preference
        self._prompt_tokens = prompt_tokens
        self._output_tokens = output_tokens
        self._columns: AlternativeColumns | None = None
        self._records: tuple[ScoredCandidate, ...] | None = None

    def planned(self) -> AlternativeColumns:
        """Only the planned candidates (selected, then fallbacks), all eligible."""
        ranking, candidates, chain = self._ranking, self._candidates, self._chain
        zeros = [0.0] * len(chain)
        return AlternativeColumns(
            [candidates.entries[i] for i in chain],
            [ranking.scores[i] for i in chain],
            [candidates.quality[i] for i in chain],
            [ranking.cost_parts[i] for i in chain] if ranking.cost_parts else zeros,
            [ranking.latency_parts[i] for i in chain] if ranking.latency_parts else zeros,
            [ranking.tier_fit[i] for i in chain] if ranking.tier_fit else zeros,
            [candidates.costs[i] for i in chain],
            len(chain),
            [""] * len(chain),
        )

    def columns(self) -> AlternativeColumns:
        if self._columns is not None:
            return self._columns
        ranking, candidates = self._ranking, self._candidates
        order, plannable = ranking.order, ranking.plannable
        pick = _picker(order)
        n = len(order)
        zeros = [0.0] * len(candidates)
        declined = ranking.declined
        entries = list(pick(candidates.entries))
        scores = list(pick(ranking.scores))
        quality = list(pick(candidates.quality))
        cost = list(pick(ranking.cost_parts or zeros))
        latency = list(pick(ranking.latency_parts or zeros))
        fit = list(pick(ranking.tier_fit or zeros))
        costs = list(pick(candidates.costs))
        reasons = [""] * plannable + [declined.get(i, "") for i in order[plannable:]] if declined else [""] * n
        if self._excluded:
            extra = len(self._excluded)
            entries += [e.model.entry for e in self._excluded]
            costs += [e.model.cost(self._prompt_tokens, self._output_tokens) for e in self._excluded]
            reasons += [e.reason for e in self._excluded]
            for column in (scores, quality, cost, latency, fit):
                column.extend([0.0] * extra)
        self._columns = AlternativeColumns(entries, scores, quality, cost, latency, fit, costs, plannable, reasons)
        return self._columns

    def records(self) -> tuple[ScoredCandidate, ...]:
        """The columns as ScoredCandidate records (built column-wise, with tuple.__new__: the named
        tuples' own constructors are Python code)."""
        if self._records is not None:
            return self._records
        c = self.columns()
        n = len(c)
        parts = map(_new, repeat(ScoreParts), zip(c.quality, c.cost, c.latency, c.tier_fit, strict=True))
        eligible = [True] * c.eligible + [False] * (n - c.eligible)
        # An excluded model's score parts are all 0 (it was never scored).
        self._records = tuple(map(_new, repeat(ScoredCandidate), zip(
            c.entries, c.scores, parts, c.estimated_cost_nano_usd, eligible, c.excluded_reasons, strict=True)))
        return self._records


def _no_candidate_message(excluded: Sequence[Exclusion], forced: str) -> str:
    counts = Counter(e.constraint for e in excluded)
    detail = ", ".join(f"{name}: {n}" for name, n in counts.most_common()) or "empty catalog"
    prefix = f"{forced}: " if forced else ""
    return f"{prefix}no model satisfies the request's constraints (excluded by {detail})"
