"""The synchronous client."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Self, TypeVar

import grpc
from llmrouter.v1 import router_pb2 as pb
from llmrouter.v1 import router_pb2_grpc as pb_grpc

from llmrouter_client._common import (
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_TARGET,
    DEFAULT_TIMEOUT,
    Metadata,
    Prompt,
    StreamState,
    call_metadata,
    channel_options,
    complete_request,
    cost_report_request,
    route_request,
)
from llmrouter_client.errors import RouterError, from_rpc_error

__all__ = ["CompletionStream", "RouterClient"]

_Req = TypeVar("_Req")
_Res = TypeVar("_Res")


class CompletionStream(Iterator[str]):
    """A StreamComplete call: iterate it for the text deltas; afterwards `summary` has usage and cost.

        with client.stream("Tell me a story") as stream:
            for text in stream:
                print(text, end="")
        print(stream.summary.cost_nano_usd)

    Leaving the `with` block (or calling `cancel()`) before the end cancels the call and the upstream
    provider call. Errors are raised from the iteration as RouterError subclasses.
    """

    def __init__(self, call: grpc.CallIterator[pb.StreamCompleteResponse]) -> None:
        self._call = call
        self._events = iter(call)
        self._state = StreamState()

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> str:
        state = self._state
        while not state.done:
            try:
                event = next(self._events)
            except StopIteration:
                state.done = True
                if state.summary is None:
                    raise RouterError(grpc.StatusCode.DATA_LOSS, "the stream ended without a summary") from None
                break
            except grpc.RpcError as exc:
                state.done = True
                raise from_rpc_error(exc) from None
            text = state.take(event)
            if text is not None:
                return text
        raise StopIteration

    def finish(self) -> pb.CompletionSummary:
        """Reads the rest of the stream and returns the summary."""
        for _ in self:
            pass
        assert self._state.summary is not None
        return self._state.summary

    def cancel(self) -> None:
        """Cancels the call if it is still running."""
        if not self._state.done:
            self._state.done = True
            self._call.cancel()  # type: ignore[no-untyped-call]  # untyped in grpc-stubs

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cancel()

    @property
    def request_id(self) -> str:
        return self._state.request_id

    @property
    def decision(self) -> pb.RouteDecision | None:
        """The routing decision (the first event)."""
        return self._state.decision

    @property
    def summary(self) -> pb.CompletionSummary | None:
        """Model, usage, cost and attempts (the last event); None until the stream has ended well."""
        return self._state.summary

    @property
    def model(self) -> pb.ModelRef | None:
        """The model producing the text (from the first delta)."""
        return self._state.model

    @property
    def text(self) -> str:
        """All the text so far."""
        return self._state.text

    @property
    def usage(self) -> pb.Usage | None:
        return self._state.usage

    @property
    def cost_nano_usd(self) -> int | None:
        return self._state.cost_nano_usd


class RouterClient:
    """A blocking client for RouterService.

        with RouterClient("127.0.0.1:50051", tenant="acme") as client:
            answer = client.complete("What is a router?")
            print(answer.text, answer.summary.cost_nano_usd)

    Every call takes `timeout` (seconds; None uses the client's default, which None disables), `tenant`
    and `api_key` (instead of the client's) and extra `metadata`. Calls that fail with UNAVAILABLE are
    retried by gRPC up to `max_attempts` tries (1 turns retries off). Failures raise RouterError
    subclasses (InvalidArgument, NotFound, QuotaExceeded, Unavailable, ...).
    """

    def __init__(
        self,
        target: str = DEFAULT_TARGET,
        *,
        tenant: str | None = None,
        api_key: str | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        credentials: grpc.ChannelCredentials | None = None,
        options: Iterable[tuple[str, Any]] = (),
        channel: grpc.Channel | None = None,
    ) -> None:
        opts = channel_options(max_attempts, options)
        if channel is not None:
            self._channel = channel
        elif credentials is not None:
            self._channel = grpc.secure_channel(target, credentials, opts)
        else:
            self._channel = grpc.insecure_channel(target, opts)
        self._owns_channel = channel is None
        self._stub = pb_grpc.RouterServiceStub(self._channel)
        self._tenant = tenant
        self._api_key = api_key
        self._timeout = timeout

    @property
    def channel(self) -> grpc.Channel:
        """The channel, for other services on the same server (health, reflection)."""
        return self._channel

    @property
    def stub(self) -> pb_grpc.RouterServiceStub:
        """The generated stub, for calls this client does not cover."""
        return self._stub

    def close(self) -> None:
        if self._owns_channel:
            self._channel.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _call(
        self,
        method: grpc.UnaryUnaryMultiCallable[_Req, _Res],
        request: _Req,
        timeout: float | None,
        tenant: str | None,
        api_key: str | None,
        metadata: Metadata,
    ) -> _Res:
        md = call_metadata(tenant or self._tenant, api_key or self._api_key, metadata)
        try:
            return method(request, timeout=self._timeout if timeout is None else timeout, metadata=md)
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None

    def route(
        self,
        prompt: Prompt | pb.RouteRequest,
        *,
        model: str | None = None,
        strategy: pb.Strategy.ValueType | None = None,
        preferences: pb.RoutingPreferences | None = None,
        params: pb.GenerationParams | None = None,
        request_id: str | None = None,
        timeout: float | None = None,
        tenant: str | None = None,
        api_key: str | None = None,
        metadata: Metadata = (),
    ) -> pb.RouteResponse:
        """The routing decision only; nothing is called or recorded. `model` forces "provider/model"."""
        request = route_request(prompt, model=model, strategy=strategy, preferences=preferences, params=params,
                                request_id=request_id)
        return self._call(self._stub.Route, request, timeout, tenant, api_key, metadata)

    def complete(
        self,
        prompt: Prompt | pb.CompleteRequest,
        *,
        model: str | None = None,
        strategy: pb.Strategy.ValueType | None = None,
        preferences: pb.RoutingPreferences | None = None,
        params: pb.GenerationParams | None = None,
        request_id: str | None = None,
        cache: pb.CacheControl | None = None,
        timeout: float | None = None,
        tenant: str | None = None,
        api_key: str | None = None,
        metadata: Metadata = (),
    ) -> pb.CompleteResponse:
        """Routes and executes; the whole answer with usage, cost and attempts."""
        request = complete_request(prompt, model=model, strategy=strategy, preferences=preferences, params=params,
                                   request_id=request_id, cache=cache)
        return self._call(self._stub.Complete, request, timeout, tenant, api_key, metadata)

    def stream(
        self,
        prompt: Prompt | pb.CompleteRequest,
        *,
        model: str | None = None,
        strategy: pb.Strategy.ValueType | None = None,
        preferences: pb.RoutingPreferences | None = None,
        params: pb.GenerationParams | None = None,
        request_id: str | None = None,
        cache: pb.CacheControl | None = None,
        timeout: float | None = None,
        tenant: str | None = None,
        api_key: str | None = None,
        metadata: Metadata = (),
    ) -> CompletionStream:
        """Starts a StreamComplete; iterate the result for text. The timeout covers the whole stream."""
        request = complete_request(prompt, model=model, strategy=strategy, preferences=preferences, params=params,
                                   request_id=request_id, cache=cache)
        md = call_metadata(tenant or self._tenant, api_key or self._api_key, metadata)
        call = self._stub.StreamComplete(request, timeout=self._timeout if timeout is None else timeout, metadata=md)
        return CompletionStream(call)

    def cost_report(
        self,
        request: pb.CostReportRequest | None = None,
        *,
        group_by: Sequence[pb.GroupBy.ValueType] = (),
        tenants: Sequence[str] = (),
        providers: Sequence[str] = (),
        models: Sequence[str] = (),
        start: datetime | None = None,
        end: datetime | None = None,
        timeout: float | None = None,
        tenant: str | None = None,
        api_key: str | None = None,
        metadata: Metadata = (),
    ) -> pb.CostReportResponse:
        """Ledger totals (and rows per `group_by`) over [start, end); the whole ledger by default."""
        req = cost_report_request(request, group_by=group_by, tenants=tenants, providers=providers, models=models,
                                  start=start, end=end)
        return self._call(self._stub.CostReport, req, timeout, tenant, api_key, metadata)

    def models(
        self,
        *,
        provider: str = "",
        capability: pb.Capability.ValueType = pb.CAPABILITY_UNSPECIFIED,
        tier: pb.ModelTier.ValueType = pb.MODEL_TIER_UNSPECIFIED,
        available_only: bool = False,
        timeout: float | None = None,
        tenant: str | None = None,
        api_key: str | None = None,
        metadata: Metadata = (),
    ) -> list[pb.ModelInfo]:
        """The model catalog with prices, capabilities and live availability."""
        req = pb.ListModelsRequest(provider=provider, capability=capability, tier=tier, available_only=available_only)
        return list(self._call(self._stub.ListModels, req, timeout, tenant, api_key, metadata).models)

    def feedback(
        self,
        request_id: str,
        rating: int,
        comment: str = "",
        *,
        timeout: float | None = None,
        tenant: str | None = None,
        api_key: str | None = None,
        metadata: Metadata = (),
    ) -> pb.SubmitFeedbackResponse:
        """Rates (1-5) an earlier request by its request id."""
        req = pb.SubmitFeedbackRequest(request_id=request_id, rating=rating, comment=comment)
        return self._call(self._stub.SubmitFeedback, req, timeout, tenant, api_key, metadata)
