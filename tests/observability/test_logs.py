"""One structured line per request; prompts only when asked for; secrets never."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from router_service.observability.logs import configure_logging, log_event, redact
from router_service.observability.observer import build_observer
from router_service.observability.settings import AdminSettings
from tests.observability.factories import entry


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    stream = io.StringIO()
    yield stream
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_one_json_line_per_request_with_the_decision_and_money(captured: io.StringIO) -> None:
    configure_logging("INFO", "json", captured)
    observer = build_observer(AdminSettings())
    observer.request_accounted(entry(), time_to_first_token_s=0.025, prompt="secret plans", answer="the answer")
    (line,) = lines(captured)
    assert line["logger"] == "llm_router.requests" and line["level"] == "INFO" and line["msg"] == "request"
    for key, value in {
        "request_id": "req-1",
        "tenant": "acme",
        "rpc": "Complete",
        "strategy": "balanced",
        "complexity": "simple",
        "model": "demo/demo-fast",
        "attempts": 1,
        "input_tokens": 10,
        "output_tokens": 20,
        "cost_nano_usd": 1234,
        "status": "ok",
        "latency_ms": 200.0,
        "ttft_ms": 25.0,
    }.items():
        assert line[key] == value, key
    assert "secret plans" not in captured.getvalue() and "the answer" not in captured.getvalue()


def test_prompt_and_answer_logged_only_when_the_config_asks(captured: io.StringIO) -> None:
    configure_logging("INFO", "json", captured)
    observer = build_observer(AdminSettings(show_prompts=True))
    observer.request_accounted(entry(), prompt="hello there", answer="general kenobi")
    (line,) = lines(captured)
    assert line["prompt"] == "hello there" and line["answer"] == "general kenobi"
    assert observer.request_texts()["req-1"].prompt == "hello there"


def test_level_from_config_silences_request_lines(captured: io.StringIO) -> None:
    configure_logging("WARNING", "json", captured)
    build_observer(AdminSettings()).request_accounted(entry())
    assert captured.getvalue() == ""


def test_text_format_is_readable_with_fields(captured: io.StringIO) -> None:
    configure_logging("INFO", "text", captured)
    build_observer(AdminSettings()).request_accounted(entry())
    line = captured.getvalue().strip()
    assert "INFO" in line and "llm_router.requests: request" in line
    assert "request_id=req-1" in line and "cost_nano_usd=1234" in line and "{" not in line.split("attempt_path=")[0]


def test_configure_logging_twice_keeps_one_handler(captured: io.StringIO) -> None:
    configure_logging("INFO", "json", captured)
    configure_logging("INFO", "json", captured)
    logging.getLogger("llm_router.test").info("once")
    assert len(lines(captured)) == 1


def test_keys_are_redacted_from_any_line(captured: io.StringIO) -> None:
    configure_logging("INFO", "json", captured)
    logging.getLogger("llm_router.test").error(
        "upstream said: bad key " + "sk-" + "abcdefghijklmnopqrstuvwx" + " (Bearer abcdef123456)"
    )
    text = captured.getvalue()
    assert "sk-abcdef" not in text and "abcdef123456" not in text and "[REDACTED]" in text
    assert redact("AIza" + "x" * 35) == "[REDACTED]"


def test_lifecycle_events_are_structured(captured: io.StringIO) -> None:
    configure_logging("INFO", "json", captured)
    log_event("config_reloaded", "generation 2 in use", generation=2)
    (line,) = lines(captured)
    assert line["event"] == "config_reloaded" and line["generation"] == 2



def test_exceptions_are_one_json_line(captured: io.StringIO) -> None:
    configure_logging("INFO", "json", captured)
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("llm_router.test").exception("failed")
    (line,) = lines(captured)
    assert line["msg"] == "failed" and "ValueError: boom" in str(line["exc"])
