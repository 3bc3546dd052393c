"""Caller authentication: keys (stored hashed) mapped to tenants, allowances and limits; TLS settings."""

from router_service.auth.keys import Caller, KeyRing, digest, new_key
from router_service.auth.settings import AuthSettings, CallerKeySpec, TlsSettings

__all__ = ["AuthSettings", "Caller", "CallerKeySpec", "KeyRing", "TlsSettings", "digest", "new_key"]
