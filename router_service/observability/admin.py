"""AdminService: reload the configuration and drain, for operators holding the admin key."""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from llmrouter.v1 import admin_pb2 as pb
from llmrouter.v1 import admin_pb2_grpc as pb_grpc

from router_service.auth.authenticator import AuthError
from router_service.observability.generations import AppHolder
from router_service.observability.logs import log_event
from router_service.observability.reload import Reloader, ReloadRejected

log = logging.getLogger(__name__)
Context = grpc.aio.ServicerContext[Any, Any]
ADMIN_SERVICE_NAME: str = pb.DESCRIPTOR.services_by_name["AdminService"].full_name


def key_matches(key: str, sha256_hex: str) -> bool:
    return hmac.compare_digest(hashlib.sha256(key.encode("utf-8")).hexdigest(), sha256_hex)


def is_loopback_peer(peer: str) -> bool:
    """grpc peer strings: "ipv4:127.0.0.1:5000", "ipv6:[::1]:5000", "unix:/path"."""
    return peer.startswith(("ipv4:127.", "ipv6:[::1]", "unix:"))


class AdminGuard:
    """Who may call the admin RPCs, read from the configuration in use (so a reload can change the key):
    the admin key when one is configured; else an admin caller key; else only loopback callers."""

    def __init__(self, holder: AppHolder) -> None:
        self._holder = holder

    def refusal(self, authorization: str, peer: str) -> tuple[grpc.StatusCode, str] | None:
        app = self._holder.app
        scheme, _, key = authorization.partition(" ")
        bearer = key.strip() if scheme.lower() == "bearer" else ""
        admin_key = app.config.admin.admin_key_sha256
        if admin_key is not None:
            if bearer and key_matches(bearer, admin_key):
                return None
            return grpc.StatusCode.UNAUTHENTICATED, "admin calls need the admin key (authorization: Bearer <key>)"
        if any(spec.admin for spec in app.config.auth.keys):
            try:
                caller = app.authenticator.caller(authorization, "")
            except AuthError:
                return grpc.StatusCode.UNAUTHENTICATED, "admin calls need an admin caller key"
            return None if caller.admin else (grpc.StatusCode.PERMISSION_DENIED, "this caller key is not an admin key")
        if is_loopback_peer(peer):
            return None
        return (
            grpc.StatusCode.PERMISSION_DENIED,
            "no admin key is configured (admin.admin_key_sha256): admin calls are accepted from loopback only",
        )


class AdminServicer(pb_grpc.AdminServiceServicer):
    def __init__(
        self,
        holder: AppHolder,
        reloader: Reloader,
        stop_serving: Callable[[], Awaitable[None]],
    ) -> None:
        self._holder = holder
        self._reloader = reloader
        self._guard = AdminGuard(holder)
        # Turns every health status NOT_SERVING for good (the same step graceful shutdown starts with).
        self._stop_serving = stop_serving

    async def _authorize(self, context: Context) -> None:
        authorization = ""
        for key, value in context.invocation_metadata() or ():
            if key == "authorization":
                authorization = value if isinstance(value, str) else value.decode("utf-8", "replace")
        refusal = self._guard.refusal(authorization, context.peer())
        if refusal is not None:
            log.warning("admin call refused from %s: %s", context.peer(), refusal[1])
            await context.abort(*refusal)

    async def ReloadConfig(self, request: pb.ReloadConfigRequest, context: Context) -> pb.ReloadConfigResponse:
        await self._authorize(context)
        try:
            result = await self._reloader.reload(request.dry_run)
        except ReloadRejected as exc:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, f"configuration rejected, old one kept: {exc}")
        return pb.ReloadConfigResponse(
            applied=result.applied,
            generation=result.generation,
            changed=result.changed,
            restart_required=result.restart_required,
            message=result.message,
        )

    async def Drain(self, request: pb.DrainRequest, context: Context) -> pb.DrainResponse:
        await self._authorize(context)
        holder = self._holder
        timeout = request.timeout.ToTimedelta().total_seconds() if request.HasField("timeout") else 0.0
        if timeout <= 0:
            timeout = holder.app.config.server.grace_period_s
        if not holder.draining:
            log_event(
                "draining",
                "draining: health NOT_SERVING, waiting for in-flight calls",
                in_flight=holder.in_flight,
                reject_new_calls=request.reject_new_calls,
            )
        holder.draining = True
        holder.reject_new = holder.reject_new or request.reject_new_calls
        await self._stop_serving()
        drained = await holder.wait_idle(timeout)
        log_event(
            "drained" if drained else "drain_timeout",
            "drained" if drained else f"drain timed out with {holder.in_flight} calls in flight",
            in_flight=holder.in_flight,
        )
        return pb.DrainResponse(drained=drained, in_flight=holder.in_flight)
