"""Caller keys and TLS, as configured."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from router_service.ledger.limits import SpendLimits


class CallerKeySpec(BaseModel):
    """One caller key, stored as the SHA-256 of the key (the key itself is shown once, at creation)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    tenant: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    # "provider/model" patterns with shell wildcards ("openai/*", "*/gpt-5*"); empty allows every model.
    allowed_models: tuple[str, ...] = ()
    limits: SpendLimits = SpendLimits()
    # May read every tenant's cost report (otherwise only its own tenant's).
    admin: bool = False


class TlsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    cert_file: Path
    key_file: Path
    # With a client CA the server asks for client certificates (mTLS).
    client_ca_file: Path | None = None
    require_client_cert: bool = False


class AuthSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    keys: tuple[CallerKeySpec, ...] = ()
    tls: TlsSettings | None = None
