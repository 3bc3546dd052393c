"""OpenTelemetry spans with a tracer provider per router (never the process-global one, so several routers,
e.g. in tests, do not share exporters). W3C trace context comes from the caller's gRPC metadata."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping, Sequence
from contextlib import suppress
from contextvars import Token
from types import TracebackType

from opentelemetry import context as otel_context
from opentelemetry.context import _RUNTIME_CONTEXT
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer, get_current_span, set_span_in_context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import AttributeValue

from router_service.observability.settings import TracingSettings

log = logging.getLogger(__name__)
_PROPAGATOR = TraceContextTextMapPropagator()
_CARRIER_KEYS = frozenset(_PROPAGATOR.fields)
Metadata = Sequence[tuple[str, str | bytes]]


_EMPTY = otel_context.Context()


class ChildSpan:
    """A span current for the `with` block (analyze, plan, cache.lookup, attempt); exceptions other than
    cancellation mark it as an error."""

    __slots__ = ("_attributes", "_name", "_span", "_token", "_tracer")

    def __init__(self, tracer: Tracer, name: str, attributes: Mapping[str, AttributeValue]) -> None:
        self._tracer = tracer
        self._name = name
        self._attributes = attributes

    def __enter__(self) -> Span:
        self._span = self._tracer.start_span(self._name, attributes=self._attributes)
        self._token = otel_context.attach(set_span_in_context(self._span))
        return self._span

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        span = self._span
        if exc is not None and not isinstance(exc, asyncio.CancelledError | GeneratorExit):
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
        span.end()
        _detach(self._token)


class TracingConfigError(Exception):
    """The configured exporter cannot be built (package missing, bad endpoint)."""


class Tracing:
    """Head sampling happens here, before the SDK is touched: an unsampled call costs a random draw
    instead of the ~20-30 µs the SDK spends on even a non-recording span inside a busy server. The
    provider should therefore sample everything it is handed (`new_provider`)."""

    def __init__(self, provider: TracerProvider, sample_ratio: float = 1.0) -> None:
        self.provider = provider
        self.tracer: Tracer = provider.get_tracer("router_service")
        self._ratio = sample_ratio

    def recording(self) -> bool:
        """Whether the current call is traced (child spans are skipped otherwise)."""
        return get_current_span().is_recording()

    def start_server_span(
        self, name: str, metadata: Metadata | None, attributes: Mapping[str, AttributeValue]
    ) -> tuple[Span, Token[otel_context.Context]] | None:
        """Start and make current the RPC's span, a child of the caller's `traceparent` when it sent one;
        None when this call is not sampled (the caller's sampled flag decides, else `sample_ratio`).
        The caller sets its status from the gRPC code (an abort is not an exception to record) and ends it
        with `end()`. Plain calls rather than a context manager: this runs on every RPC."""
        carrier = {}
        for key, value in metadata or ():
            if key in _CARRIER_KEYS:
                carrier[key] = value if isinstance(value, str) else value.decode("ascii", "replace")
        parent = _EMPTY
        caller = None
        if carrier:
            parent = _PROPAGATOR.extract(carrier)
            caller = get_current_span(parent).get_span_context()
        if caller is not None and caller.is_valid:
            if not caller.trace_flags.sampled:
                return None
        elif self._ratio < 1.0 and random.random() >= self._ratio:  # sampling, not security
            return None
        span = self.tracer.start_span(name, context=parent, kind=SpanKind.SERVER, attributes=attributes)
        return span, otel_context.attach(set_span_in_context(span, parent))

    @staticmethod
    def end(span: Span, token: Token[otel_context.Context]) -> None:
        span.end()
        _detach(token)

    def span(self, name: str, attributes: Mapping[str, AttributeValue]) -> ChildSpan:
        return ChildSpan(self.tracer, name, attributes)

    def shutdown(self) -> None:
        self.provider.shutdown()


def _detach(token: Token[otel_context.Context]) -> None:
    # A streaming call's generator can be finalised from another asyncio context (client gone); the
    # token then belongs to a context that is being thrown away, and there is nothing to restore.
    # The public detach() would log that as an error on every cancelled stream.
    with suppress(ValueError):
        _RUNTIME_CONTEXT.detach(token)


def mark_error(span: Span, description: str) -> None:
    span.set_status(Status(StatusCode.ERROR, description))


def new_provider(service_name: str) -> TracerProvider:
    """A provider that records whatever `Tracing` decided to sample (the decision is made there)."""
    return TracerProvider(resource=Resource.create({"service.name": service_name}), sampler=ParentBased(ALWAYS_ON))


def build_tracing(settings: TracingSettings, exporter: SpanExporter | None = None) -> Tracing | None:
    """None when tracing is off (no exporter configured or given): every span is then a shared no-op."""
    if exporter is None and settings.exporter == "none":
        return None
    provider = new_provider(settings.service_name)
    if exporter is not None:
        # Tests hand in an in-memory exporter and want spans as soon as they end.
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        # Batching exports from a background thread, off the event loop.
        provider.add_span_processor(BatchSpanProcessor(_otlp_exporter(settings)))
    return Tracing(provider, settings.sample_ratio)


def _otlp_exporter(settings: TracingSettings) -> SpanExporter:
    try:
        if settings.exporter == "otlp_grpc":
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter

            return GrpcExporter(endpoint=settings.endpoint, insecure=settings.insecure)
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

        return HttpExporter(endpoint=settings.endpoint)
    except ImportError as exc:
        package = "opentelemetry-exporter-otlp-proto-" + ("grpc" if settings.exporter == "otlp_grpc" else "http")
        raise TracingConfigError(f"admin.tracing.exporter {settings.exporter} needs the {package} package") from exc
