"""Spans: the RPC span continues the caller's W3C trace; analysis, planning, cache and attempts nest under it."""

from __future__ import annotations

from typing import Any

import grpc
from llmrouter.v1 import router_pb2 as pb
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from router_service.observability.observer import build_observer
from router_service.observability.settings import AdminSettings
from tests.conftest import user
from tests.observability.conftest import Observed

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"


class FakeContext:
    def __init__(self, metadata: tuple[tuple[str, str], ...], code: Any = None) -> None:
        self._metadata = metadata
        self._code = code

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self._metadata

    def code(self) -> Any:
        return self._code


def by_name(spans: tuple[ReadableSpan, ...]) -> dict[str, ReadableSpan]:
    return {span.name: span for span in spans}


def test_span_tree_from_the_observer() -> None:
    exporter = InMemorySpanExporter()
    observer = build_observer(AdminSettings(), span_exporter=exporter)
    with observer.rpc("/llmrouter.v1.RouterService/Complete", FakeContext((("traceparent", TRACEPARENT),))):
        with observer.span("analyze"):
            pass
        with observer.span("plan", strategy="balanced"):
            pass
        with observer.span("cache.lookup"):
            pass
        with observer.span("attempt", provider="demo", model="demo-fast") as span:
            span.set_attribute("error_kind", "none")
        with observer.span("attempt", provider="demo", model="demo-premium"):
            pass
    spans = exporter.get_finished_spans()
    rpc = by_name(spans)["llmrouter.v1.RouterService/Complete"]
    assert rpc.kind == SpanKind.SERVER
    assert rpc.context is not None and rpc.parent is not None
    assert f"{rpc.context.trace_id:032x}" == TRACE_ID and f"{rpc.parent.span_id:016x}" == PARENT_ID
    children = [s for s in spans if s is not rpc]
    assert sorted(s.name for s in children) == ["analyze", "attempt", "attempt", "cache.lookup", "plan"]
    for child in children:
        assert child.parent is not None and child.parent.span_id == rpc.context.span_id
    assert by_name(spans)["plan"].attributes == {"strategy": "balanced"}
    assert rpc.attributes is not None and rpc.attributes["rpc.grpc.status_code"] == 0


def test_failed_rpc_span_is_marked_with_the_grpc_code() -> None:
    exporter = InMemorySpanExporter()
    observer = build_observer(AdminSettings.model_validate({"tracing": {"sample_ratio": 1.0}}), span_exporter=exporter)
    with observer.rpc("/llmrouter.v1.RouterService/Route", FakeContext((), grpc.StatusCode.INVALID_ARGUMENT)):
        pass
    (span,) = exporter.get_finished_spans()
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes is not None and span.attributes["rpc.grpc.status_code"] == 3
    assert span.parent is None  # no traceparent: a new trace


def test_tracing_off_by_default() -> None:
    observer = build_observer(AdminSettings())
    assert observer.tracing is None


def test_unsampled_calls_record_nothing_but_a_sampled_parent_is_followed() -> None:
    exporter = InMemorySpanExporter()
    observer = build_observer(AdminSettings.model_validate({"tracing": {"sample_ratio": 0.0}}), span_exporter=exporter)
    with observer.rpc("/llmrouter.v1.RouterService/Route", FakeContext(())), observer.span("plan"):
        pass
    assert exporter.get_finished_spans() == ()
    sampled = FakeContext((("traceparent", TRACEPARENT),))
    with observer.rpc("/llmrouter.v1.RouterService/Route", sampled), observer.span("plan"):
        pass
    assert len(exporter.get_finished_spans()) == 2


def test_outside_a_call_the_current_span_decides_and_a_call_leaves_no_decision_behind() -> None:
    exporter = InMemorySpanExporter()
    observer = build_observer(AdminSettings.model_validate({"tracing": {"sample_ratio": 0.0}}), span_exporter=exporter)
    assert observer.tracing is not None
    with observer.rpc("/llmrouter.v1.RouterService/Route", FakeContext(())):
        pass
    # Code run under the embedding application's own span (no gRPC call around it) is traced.
    with observer.tracing.tracer.start_as_current_span("app"), observer.span("plan"):
        pass
    assert sorted(s.name for s in exporter.get_finished_spans()) == ["app", "plan"]
    with observer.span("analyze"):  # no current span, no call: nothing
        pass
    assert len(exporter.get_finished_spans()) == 2


def test_otlp_exporters_are_built_from_settings() -> None:
    for exporter in ("otlp_grpc", "otlp_http"):
        settings = AdminSettings.model_validate(
            {"tracing": {"exporter": exporter, "endpoint": "http://127.0.0.1:1/v1/traces"}}
        )
        observer = build_observer(settings)
        assert observer.tracing is not None
        observer.shutdown()


async def test_real_server_rpc_span_continues_the_callers_trace(observed: Observed) -> None:
    metadata = (("traceparent", TRACEPARENT),)
    await observed.stub.Complete(pb.CompleteRequest(messages=user("hola")), metadata=metadata)
    stream = observed.stub.StreamComplete(pb.CompleteRequest(messages=user("hi")), metadata=metadata)
    async for _ in stream:
        pass
    spans = observed.spans.get_finished_spans()
    rpcs = [s for s in spans if s.kind == SpanKind.SERVER]
    assert sorted(s.name for s in rpcs) == [
        "llmrouter.v1.RouterService/Complete",
        "llmrouter.v1.RouterService/StreamComplete",
    ]
    rpc_ids = {s.context.span_id for s in rpcs if s.context is not None}
    for span in spans:
        assert span.context is not None and f"{span.context.trace_id:032x}" == TRACE_ID
    for span in rpcs:
        assert span.parent is not None and f"{span.parent.span_id:016x}" == PARENT_ID
    # Whatever the request path adds (analyze, plan, attempt...) hangs under an RPC span.
    by_id = {s.context.span_id: s for s in spans if s.context is not None}
    for span in spans:
        if span in rpcs:
            continue
        node = span
        while node.parent is not None and node.parent.span_id in by_id:
            node = by_id[node.parent.span_id]
        assert node.context is not None and node.context.span_id in rpc_ids, span.name
