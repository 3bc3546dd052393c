"""router_service.native: which implementation serves, and the switches that choose it."""

from __future__ import annotations

import subprocess
import sys
import types

import pytest

from router_service import native
from tests.native_support import require_native


def _description(env: dict[str, str]) -> str:
    code = "from router_service import native; print(native.NATIVE is not None, native.DESCRIPTION)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return done.stdout.strip()


def test_the_environment_switch_turns_the_extension_off() -> None:
    require_native()
    import os

    base = {k: v for k, v in os.environ.items() if k != native.ENV}
    assert _description(base).startswith("True compiled")
    assert _description({**base, native.ENV: "0"}) == f"False pure Python ({native.ENV}=0)"


def test_a_build_with_another_interface_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    stale = types.ModuleType("llm_router_native")
    stale.INTERFACE = native.INTERFACE + 1  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "llm_router_native", stale)
    monkeypatch.delenv(native.ENV, raising=False)
    module, description = native._load()
    assert module is None
    assert "rebuild it" in description


def test_without_the_extension_the_reference_serves(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "llm_router_native", None)  # makes the import fail
    monkeypatch.delenv(native.ENV, raising=False)
    module, description = native._load()
    assert module is None
    assert description.startswith("pure Python (llm_router_native is not installed")


def test_a_build_from_other_sources_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """In a checkout, an extension built before its sources changed never serves."""
    if native.source_digest(native.SOURCES) is None:
        pytest.skip("no native/ sources beside this router (an installed wheel)")
    stale = types.ModuleType("llm_router_native")
    stale.INTERFACE = native.INTERFACE  # type: ignore[attr-defined]
    stale.SOURCE_DIGEST = "0000000000000000"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "llm_router_native", stale)
    monkeypatch.delenv(native.ENV, raising=False)
    module, description = native._load()
    assert module is None
    assert "built from other sources" in description


def test_the_installed_build_matches_the_sources() -> None:
    require_native()
    assert native.NATIVE is not None
    assert native.source_digest(native.SOURCES) == native.NATIVE.SOURCE_DIGEST
