"""Fixtures for the analyzer tests: one shared Analyzer, and the shared prompts data when present."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from router_service.analyzer import Analyzer
from router_service.domain import ChatMessage, Role

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = Path(os.environ.get("LLM_ROUTER_SHARED_DATA", REPO.parent / "shared" / "data"))
PROMPTS = SHARED_DATA / "prompts"


@pytest.fixture(scope="session")
def analyzer() -> Analyzer:
    return Analyzer()


@pytest.fixture(scope="session")
def prompts_dir() -> Path:
    if not (PROMPTS / "train.jsonl").is_file():
        pytest.skip(f"shared prompts data not found in {PROMPTS} (set LLM_ROUTER_SHARED_DATA)")
    return PROMPTS


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def user(text: str) -> list[ChatMessage]:
    return [ChatMessage(Role.USER, text)]
