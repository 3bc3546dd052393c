"""Every RPC over a real loopback port with the generated stubs (embedded demo provider)."""

from __future__ import annotations

import grpc
import pytest
from llmrouter.v1 import router_pb2 as pb
from llmrouter.v1 import router_pb2_grpc as pb_grpc

from tests.conftest import ANALYTICAL, TRIVIAL, user


async def route(stub: pb_grpc.RouterServiceAsyncStub, text: str, strategy: int = 0) -> pb.RouteResponse:
    prefs = pb.RoutingPreferences(strategy=strategy)  # type: ignore[arg-type]
    return await stub.Route(pb.RouteRequest(messages=user(text), preferences=prefs))


async def test_route_returns_a_reasoned_plan_without_spending(stub: pb_grpc.RouterServiceAsyncStub) -> None:
    response = await route(stub, ANALYTICAL)
    decision = response.decision
    assert response.request_id
    assert decision.selected.provider == "demo"
    assert decision.reason
    assert decision.analysis.complexity >= pb.COMPLEXITY_TIER_COMPLEX
    assert decision.estimated_cost_nano_usd > 0
    assert decision.baseline_cost_nano_usd >= decision.estimated_cost_nano_usd
    assert {a.model.model for a in decision.alternatives} >= {decision.selected.model}
    report = await stub.CostReport(pb.CostReportRequest())
    assert report.totals.requests == 0, "Route must not write to the ledger"


async def test_trivial_and_analytical_prompts_route_differently(stub: pb_grpc.RouterServiceAsyncStub) -> None:
    trivial = (await route(stub, TRIVIAL)).decision
    hard = (await route(stub, ANALYTICAL)).decision
    assert trivial.analysis.complexity <= pb.COMPLEXITY_TIER_SIMPLE
    assert trivial.selected.model == "demo-fast"
    assert hard.selected.model == "demo-premium"
    assert trivial.estimated_cost_nano_usd < hard.estimated_cost_nano_usd


@pytest.mark.parametrize("strategy", [pb.STRATEGY_COST_OPTIMIZED, pb.STRATEGY_BALANCED, pb.STRATEGY_QUALITY_OPTIMIZED])
async def test_each_strategy_gives_a_readable_reason(stub: pb_grpc.RouterServiceAsyncStub, strategy: int) -> None:
    decision = (await route(stub, ANALYTICAL, strategy)).decision
    assert decision.strategy == strategy
    assert len(decision.reason) > 20


async def test_strategies_choose_differently(stub: pb_grpc.RouterServiceAsyncStub) -> None:
    chosen = {}
    for strategy in (pb.STRATEGY_COST_OPTIMIZED, pb.STRATEGY_BALANCED, pb.STRATEGY_QUALITY_OPTIMIZED):
        chosen[strategy] = (
            (await route(stub, TRIVIAL, strategy)).decision.selected.model,
            (await route(stub, ANALYTICAL, strategy)).decision.selected.model,
        )
    # Quality first takes the best model even for "hi"; cost first takes the cheapest for "hi".
    assert chosen[pb.STRATEGY_QUALITY_OPTIMIZED][0] == "demo-premium"
    assert chosen[pb.STRATEGY_COST_OPTIMIZED][0] == "demo-fast"
    assert chosen[pb.STRATEGY_BALANCED] == ("demo-fast", "demo-premium")
    assert len({c for c in chosen.values()}) == 3


async def test_complete_answers_accounts_and_reports(stub: pb_grpc.RouterServiceAsyncStub) -> None:
    response = await stub.Complete(pb.CompleteRequest(messages=user("hola, ¿cuál es el precio?"), request_id="req-1"))
    assert response.request_id == "req-1"
    assert response.text.startswith("[demo:")
    summary = response.summary
    assert summary.model.provider == "demo"
    assert summary.finish_reason == pb.FINISH_REASON_STOP
    assert summary.usage.input_tokens > 0 and summary.usage.output_tokens > 0
    assert summary.cost_nano_usd > 0
    assert len(summary.attempts) == 1 and summary.attempts[0].error_kind == pb.ERROR_KIND_UNSPECIFIED

    report = await stub.CostReport(pb.CostReportRequest(group_by=[pb.GROUP_BY_PROVIDER, pb.GROUP_BY_MODEL]))
    assert report.totals.requests == 1
    assert report.totals.cost_nano_usd == summary.cost_nano_usd
    assert report.totals.input_tokens == summary.usage.input_tokens
    assert report.totals.output_tokens == summary.usage.output_tokens
    assert report.totals.baseline_cost_nano_usd > report.totals.cost_nano_usd
    assert report.totals.savings_nano_usd == report.totals.baseline_cost_nano_usd - report.totals.cost_nano_usd
    [row] = report.rows
    assert (row.provider, row.model) == (summary.model.provider, summary.model.model)
    assert report.baseline_model.provider


async def test_stream_order_decision_deltas_summary(stub: pb_grpc.RouterServiceAsyncStub) -> None:
    events = [e async for e in stub.StreamComplete(pb.CompleteRequest(messages=user(ANALYTICAL)))]
    kinds = [e.WhichOneof("event") for e in events]
    assert kinds[0] == "decision"
    assert kinds[-1] == "summary"
    assert set(kinds[1:-1]) == {"delta"} and len(kinds) >= 3
    deltas = [e.delta for e in events[1:-1]]
    assert deltas[0].model.provider == "demo"
    assert all(not d.HasField("model") for d in deltas[1:])
    assert len({e.request_id for e in events}) == 1
    summary = events[-1].summary
    text = "".join(d.text for d in deltas)
    assert summary.usage.output_tokens == len(text.split())
    assert summary.cost_nano_usd > 0


async def test_completions_return_alternatives_only_when_asked(stub: pb_grpc.RouterServiceAsyncStub) -> None:
    # A cost cap excludes the premium demo model: an alternative, never a planned one.
    prefs = pb.RoutingPreferences(constraints=pb.Constraints(max_cost_nano_usd=10_000_000))
    routed = await stub.Route(pb.RouteRequest(messages=user(ANALYTICAL), preferences=prefs))
    assert any(not a.eligible for a in routed.decision.alternatives)
    plain = await stub.Complete(pb.CompleteRequest(messages=user(ANALYTICAL), preferences=prefs))
    # The decision itself is whole without them: model, fallbacks, reason, costs, analysis.
    assert plain.decision.selected == routed.decision.selected
    assert plain.decision.reason and plain.decision.estimated_cost_nano_usd > 0
    assert plain.decision.HasField("analysis")
    # Without asking, only the planned models are scored (selected and fallbacks).
    planned = [plain.decision.selected, *plain.decision.fallbacks]
    assert [a.model for a in plain.decision.alternatives] == planned
    assert all(a.eligible for a in plain.decision.alternatives)
    asked = await stub.Complete(
        pb.CompleteRequest(messages=user(ANALYTICAL), preferences=prefs, include_alternatives=True)
    )
    assert [a.model for a in asked.decision.alternatives] == [a.model for a in routed.decision.alternatives]
    assert len(asked.decision.alternatives) > len(planned)
    sizes = []
    for include in (False, True):
        request = pb.CompleteRequest(messages=user(ANALYTICAL), preferences=prefs, include_alternatives=include)
        first = await anext(aiter(stub.StreamComplete(request)))
        sizes.append(len(first.decision.alternatives))
    assert sizes[0] == 1 + len(first.decision.fallbacks) < sizes[1]


async def test_stream_priced_exactly_like_whole_answer(stub: pb_grpc.RouterServiceAsyncStub) -> None:
    whole = await stub.Complete(pb.CompleteRequest(messages=user("describe the return process")))
    events = [e async for e in stub.StreamComplete(pb.CompleteRequest(messages=user("describe the return process")))]
    streamed = events[-1].summary
    assert streamed.usage == whole.summary.usage
    assert streamed.cost_nano_usd == whole.summary.cost_nano_usd > 0
    report = await stub.CostReport(pb.CostReportRequest())
    assert report.totals.requests == 2
    assert report.totals.cost_nano_usd == 2 * whole.summary.cost_nano_usd


async def test_list_models_filters_and_shows_availability(stub: pb_grpc.RouterServiceAsyncStub) -> None:
    everything = await stub.ListModels(pb.ListModelsRequest())
    assert len(everything.models) > 40
    demo = [m for m in everything.models if m.model.provider == "demo"]
    assert len(demo) == 3 and all(m.available for m in demo)
    openai = [m for m in everything.models if m.model.provider == "openai"]
    assert openai and not any(m.available for m in openai)
    assert "OPENAI_API_KEY" in openai[0].unavailable_reason
    available = await stub.ListModels(pb.ListModelsRequest(available_only=True))
    assert {m.model.provider for m in available.models} == {"demo"}
    premium = await stub.ListModels(pb.ListModelsRequest(tier=pb.MODEL_TIER_PREMIUM, provider="anthropic"))
    assert premium.models and all(m.tier == pb.MODEL_TIER_PREMIUM for m in premium.models)
    opus = next(m for m in everything.models if m.model.model == "claude-opus-4-6")
    assert opus.pricing.input_nano_usd_per_mtok == 5_000_000_000
    assert opus.pricing.output_nano_usd_per_mtok == 25_000_000_000


async def test_feedback_is_recorded_and_reported(stub: pb_grpc.RouterServiceAsyncStub) -> None:
    done = await stub.Complete(pb.CompleteRequest(messages=user("hello there"), request_id="rate-me"))
    first = await stub.SubmitFeedback(pb.SubmitFeedbackRequest(request_id="rate-me", rating=2))
    assert first.model == done.summary.model and not first.replaced
    again = await stub.SubmitFeedback(pb.SubmitFeedbackRequest(request_id="rate-me", rating=4))
    assert again.replaced
    report = await stub.CostReport(pb.CostReportRequest())
    assert report.totals.ratings == 1 and report.totals.average_rating == 4.0
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await stub.SubmitFeedback(pb.SubmitFeedbackRequest(request_id="nope", rating=3))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND


async def test_reused_request_id_is_not_charged_twice(stub: pb_grpc.RouterServiceAsyncStub) -> None:
    await stub.Complete(pb.CompleteRequest(messages=user("hello"), request_id="once"))
    with pytest.raises(grpc.aio.AioRpcError) as again:
        await stub.Complete(pb.CompleteRequest(messages=user("hello"), request_id="once"))
    assert again.value.code() == grpc.StatusCode.ALREADY_EXISTS
    report = await stub.CostReport(pb.CostReportRequest())
    assert report.totals.requests == 1


async def test_tenant_metadata_groups_the_report(stub: pb_grpc.RouterServiceAsyncStub) -> None:
    for tenant in ("acme", "acme", "globex"):
        await stub.Complete(pb.CompleteRequest(messages=user("hi")), metadata=[("x-tenant-id", tenant)])
    report = await stub.CostReport(pb.CostReportRequest(group_by=[pb.GROUP_BY_TENANT]))
    assert {r.tenant: r.requests for r in report.rows} == {"acme": 2, "globex": 1}
    only = await stub.CostReport(pb.CostReportRequest(tenants=["globex"]))
    assert only.totals.requests == 1
