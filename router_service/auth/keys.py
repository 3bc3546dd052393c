"""Caller keys: generation, hashing and lookup. Keys are 256-bit random, so SHA-256 is a safe digest."""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from router_service.auth.settings import CallerKeySpec
from router_service.domain import ModelRef
from router_service.ledger.limits import SpendLimits

KEY_PREFIX = "llmr_"


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: the tenant, and the key's id, allowance and limits when keys are configured."""

    tenant: str
    key_id: str = ""
    allowed_models: tuple[str, ...] = ()
    limits: SpendLimits | None = None
    admin: bool = True

    def may_use(self, ref: ModelRef) -> bool:
        if not self.allowed_models:
            return True
        text = f"{ref.provider}/{ref.model}"
        return any(fnmatch.fnmatchcase(text, pattern) for pattern in self.allowed_models)

    def may_use_provider(self, provider: str) -> bool:
        if not self.allowed_models:
            return True
        return any(fnmatch.fnmatchcase(provider, p.partition("/")[0]) for p in self.allowed_models)


class KeyRing:
    """The configured keys, looked up by digest."""

    def __init__(self, specs: Iterable[CallerKeySpec]) -> None:
        self._by_digest = {spec.sha256: spec for spec in specs}

    def __bool__(self) -> bool:
        return bool(self._by_digest)

    def find(self, key: str) -> CallerKeySpec | None:
        wanted = digest(key)
        spec = self._by_digest.get(wanted)
        # compare_digest keeps the final comparison constant-time even though the dict lookup is not.
        if spec is not None and hmac.compare_digest(spec.sha256, wanted):
            return spec
        return None
