"""Configuration generations: the gRPC server keeps one set of method handlers for its whole life, and
each call is forwarded to the servicer of the generation current when it arrived. A reload swaps the
generation atomically; calls already running finish on the old one, whose provider clients are closed
once its last call ends. The forwarder is also where every call is observed (`Observer.rpc`)."""

from __future__ import annotations

import asyncio
import logging
import types
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import grpc
from google.protobuf.descriptor import ServiceDescriptor

from router_service.observability.observer import Observer

if TYPE_CHECKING:  # the server imports this module; the composition root must not be imported back at run time
    from router_service.server.composition import RouterApp

log = logging.getLogger(__name__)


class Generation:
    __slots__ = ("app", "in_flight", "number", "retired")

    def __init__(self, app: RouterApp, number: int) -> None:
        self.app = app
        self.number = number
        self.in_flight = 0
        self.retired = False


class AppHolder:
    """The current generation, the calls in flight, and whether the router is draining."""

    def __init__(self, app: RouterApp) -> None:
        self.current = Generation(app, 1)
        self.in_flight = 0
        self.draining = False
        self.reject_new = False
        self._idle = asyncio.Event()
        self._idle.set()
        self._closing: set[asyncio.Task[None]] = set()

    @property
    def app(self) -> RouterApp:
        return self.current.app

    def enter(self) -> Generation:
        generation = self.current
        generation.in_flight += 1
        self.in_flight += 1
        self._idle.clear()
        return generation

    def leave(self, generation: Generation) -> None:
        generation.in_flight -= 1
        self.in_flight -= 1
        if self.in_flight == 0:
            self._idle.set()
        if generation.retired and generation.in_flight == 0:
            self._close(generation)

    def swap(self, app: RouterApp) -> Generation:
        """Make `app` current; the old generation closes its provider clients when its last call ends."""
        old = self.current
        self.current = Generation(app, old.number + 1)
        old.retired = True
        if old.in_flight == 0:
            self._close(old)
        return self.current

    async def wait_idle(self, within_s: float) -> bool:
        try:
            await asyncio.wait_for(self._idle.wait(), within_s)
        except TimeoutError:
            return False
        return True

    def _close(self, generation: Generation) -> None:
        # Only the provider clients belong to one generation; ledger and journal are shared by all.
        task = asyncio.get_running_loop().create_task(generation.app.registry.aclose())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def aclose(self) -> None:
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)


Handler = Callable[[Any, Any], Any]


def forwarding_servicer(
    service: ServiceDescriptor,
    target: Callable[[Generation | None], object],
    observer: Observer,
    holder: AppHolder | None,
) -> object:
    """An object with one method per RPC of `service`, usable with the generated add_*_to_server().

    `target(generation)` returns the servicer to call; with a holder, each call runs on the generation
    current at its arrival and counts as in flight (for drain and for closing retired generations)."""
    methods: dict[str, Handler] = {}
    for method in service.methods:
        full = f"/{service.full_name}/{method.name}"
        make = _stream_handler if method.server_streaming else _unary_handler
        methods[method.name] = make(method.name, full, target, observer, holder)
    return types.SimpleNamespace(**methods)


async def _refuse_while_draining(holder: AppHolder | None, context: Any) -> None:
    if holder is not None and holder.reject_new:
        await context.abort(grpc.StatusCode.UNAVAILABLE, "this replica is draining; retry on another")


def _unary_handler(
    name: str,
    full: str,
    target: Callable[[Generation | None], object],
    observer: Observer,
    holder: AppHolder | None,
) -> Handler:
    async def call(request: Any, context: Any) -> Any:
        await _refuse_while_draining(holder, context)
        generation = holder.enter() if holder is not None else None
        try:
            with observer.rpc(full, context):
                method: Callable[[Any, Any], Awaitable[Any]] = getattr(target(generation), name)
                return await method(request, context)
        finally:
            if generation is not None and holder is not None:
                holder.leave(generation)

    call.__name__ = name
    return call


def _stream_handler(
    name: str,
    full: str,
    target: Callable[[Generation | None], object],
    observer: Observer,
    holder: AppHolder | None,
) -> Handler:
    async def call(request: Any, context: Any) -> AsyncIterator[Any]:
        await _refuse_while_draining(holder, context)
        generation = holder.enter() if holder is not None else None
        try:
            with observer.rpc(full, context):
                method: Callable[[Any, Any], AsyncIterator[Any]] = getattr(target(generation), name)
                responses = method(request, context)
                try:
                    async for response in responses:
                        yield response
                finally:
                    # Close the servicer's generator here, in this task, so its cleanup (accounting) runs
                    # before the call counts as finished.
                    aclose = getattr(responses, "aclose", None)
                    if aclose is not None:
                        await aclose()
        finally:
            if generation is not None and holder is not None:
                holder.leave(generation)

    call.__name__ = name
    return call
