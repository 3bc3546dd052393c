"""Turns call metadata into a Caller: the key's tenant and limits, or the anonymous tenant."""

from __future__ import annotations

import re
from collections.abc import Mapping

from router_service.auth.keys import Caller, KeyRing
from router_service.auth.settings import AuthSettings
from router_service.ledger.limits import SpendLimits, TenantSettings

_TENANT = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class AuthError(Exception):
    """Missing or wrong caller key (UNAUTHENTICATED)."""


class BadTenant(Exception):
    """An x-tenant-id that is not a valid tenant name (INVALID_ARGUMENT)."""


class Authenticator:
    def __init__(self, settings: AuthSettings, tenants: Mapping[str, TenantSettings]) -> None:
        self._keys = KeyRing(settings.keys)
        self._tenants = tenants

    @property
    def required(self) -> bool:
        return bool(self._keys)

    def tenant_limits(self, tenant: str) -> SpendLimits | None:
        settings = self._tenants.get(tenant)
        return settings.limits if settings is not None else None

    def caller(self, authorization: str, tenant_header: str) -> Caller:
        if not self._keys:
            tenant = tenant_header or "default"
            if not _TENANT.match(tenant):
                raise BadTenant("x-tenant-id must be 1-64 characters of [A-Za-z0-9._-]")
            return Caller(tenant=tenant)
        scheme, _, key = authorization.partition(" ")
        if not authorization:
            raise AuthError("missing caller key: send metadata 'authorization: Bearer <key>'")
        if scheme.lower() != "bearer" or not key.strip():
            raise AuthError("the authorization metadata must be 'Bearer <key>'")
        spec = self._keys.find(key.strip())
        if spec is None:
            raise AuthError("the caller key is not valid")
        return Caller(
            tenant=spec.tenant, key_id=spec.id, allowed_models=spec.allowed_models, limits=spec.limits, admin=spec.admin
        )
