"""A plan's scored alternatives: built on first read, the same as columns (the wire) and as records,
and the same whether availability comes as a predicate or as the set the server passes."""

from __future__ import annotations

from google.protobuf.json_format import MessageToDict
from llmrouter.v1 import router_pb2 as pb

from router_service.domain import ModelRef
from router_service.server.translate import analysis_pb, decision_pb, model_ref_pb
from router_service.strategy import Constraints
from router_service.strategy.plan import RoutePlan
from tests.strategy.factories import analysis, plan, planner, small_catalog


def _constrained() -> RoutePlan:
    # A cost cap excludes the dearest models for this request: they are listed, not eligible, with why.
    return plan(planner(), constraints=Constraints(max_cost_nano_usd=2_000))


def test_columns_and_records_agree_including_exclusions() -> None:
    result = _constrained()
    columns = result.alternative_columns()
    records = result.alternatives
    assert len(columns) == len(records) == len(small_catalog().entries)
    assert [r.entry for r in records] == list(columns.entries)
    assert [r.eligible for r in records].count(True) == columns.eligible
    assert any(not r.eligible and "estimated cost" in r.excluded_reason for r in records)
    for i, r in enumerate(records):
        assert (r.score, r.estimated_cost_nano_usd, r.excluded_reason) == (
            columns.scores[i], columns.estimated_cost_nano_usd[i], columns.excluded_reasons[i])
        assert tuple(r.parts) == (columns.quality[i], columns.cost[i], columns.latency[i], columns.tier_fit[i])
    # Read once, kept: the same objects on the next read.
    assert result.alternatives is records and result.alternative_columns() is columns


def test_availability_as_a_set_plans_like_the_predicate() -> None:
    p = planner()
    up = frozenset(e.ref for e in small_catalog().entries if e.ref.provider != "groq")

    def predicate(ref: ModelRef) -> bool:
        return ref in up

    by_set, by_predicate = plan(p, available=up), plan(p, available=predicate)
    assert by_set.candidates == by_predicate.candidates
    assert by_set.alternatives == by_predicate.alternatives
    # The set is re-read when a different one arrives (a provider came back).
    everything = frozenset(e.ref for e in small_catalog().entries)
    assert any(c.entry.ref.provider == "groq" for c in plan(p, available=everything).alternatives)


def test_decision_message_matches_the_records() -> None:
    result = _constrained()
    a = analysis()
    expected = pb.RouteDecision(
        selected=model_ref_pb(result.selected.ref),
        fallbacks=[model_ref_pb(e.ref) for e in result.candidates[1:]],
        alternatives=[
            pb.ScoredCandidate(
                model=model_ref_pb(c.entry.ref), tier=pb.ModelTier.ValueType(c.entry.tier), score=c.score,
                parts=pb.ScoreParts(quality=c.parts.quality, cost=c.parts.cost, latency=c.parts.latency,
                                    tier_fit=c.parts.tier_fit),
                estimated_cost_nano_usd=c.estimated_cost_nano_usd, eligible=c.eligible,
                excluded_reason=c.excluded_reason,
            )
            for c in result.alternatives
        ],
        analysis=analysis_pb(a), reason=result.reason, strategy=pb.STRATEGY_BALANCED,
        estimated_cost_nano_usd=result.estimated_cost_nano_usd, baseline_cost_nano_usd=result.baseline_cost_nano_usd,
        warnings=list(result.warnings),
    )
    if result.baseline is not None:
        expected.baseline_model.CopyFrom(model_ref_pb(result.baseline.ref))
    assert MessageToDict(decision_pb(result, a, "")) == MessageToDict(expected)


def test_planned_columns_are_the_plan_in_order_with_the_same_scores() -> None:
    result = _constrained()
    planned = result.planned_columns()
    assert list(planned.entries) == list(result.candidates)
    assert planned.eligible == len(planned) and not any(planned.excluded_reasons)
    by_entry = {id(r.entry): r for r in result.alternatives}
    for i, entry in enumerate(planned.entries):
        record = by_entry[id(entry)]
        assert (planned.scores[i], planned.estimated_cost_nano_usd[i]) == (record.score, record.estimated_cost_nano_usd)
        assert (planned.quality[i], planned.cost[i], planned.latency[i], planned.tier_fit[i]) == tuple(record.parts)
