"""Process logging: one JSON object per line (for log shippers) or a readable line (for a terminal).

Structured fields travel in `extra={"fields": {...}}` and become JSON keys (or `key=value` in text).
Every line passes a redaction step, so a key pasted into an error message is masked before it is written.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import sys
import time
from typing import Any, Literal, TextIO

LogFormat = Literal["json", "text"]
REQUEST_LOGGER = "llm_router.requests"
EVENT_LOGGER = "llm_router.events"

# Shapes of secrets that must never reach a log line, whatever message carried them.
_SECRETS = re.compile(
    r"(?i:bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"
    r"|sk-(?:ant-)?[A-Za-z0-9_-]{16,}"
    r"|AIza[0-9A-Za-z_-]{30,}"
    r"|(?:gsk|xai)[_-][A-Za-z0-9]{20,}"
)


# Cheap substring checks first: the regex runs only on lines that could hold a secret (most never do).
_TRIGGERS = ("sk-", "aiza", "bearer", "basic", "gsk_", "gsk-", "xai-", "xai_")


def redact(text: str) -> str:
    lowered = text.lower()
    if not any(trigger in lowered for trigger in _TRIGGERS):
        return text
    return _SECRETS.sub("[REDACTED]", text)


class _Timestamps:
    """ISO-8601 UTC with milliseconds; the seconds part is formatted once per second, not per line."""

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def format(self, created: float, msecs: float) -> str:
        second = int(created)
        if second != self._second:
            self._second = second
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._prefix}.{int(msecs):03d}Z"


class JsonFormatter(logging.Formatter):
    """`{"ts", "level", "logger", "msg", ...fields}`; timestamps in UTC with milliseconds."""

    def __init__(self) -> None:
        super().__init__()
        self._timestamps = _Timestamps()

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": self._timestamps.format(record.created, record.msecs),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            for key, value in fields.items():
                out.setdefault(key, value)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return redact(json.dumps(out, ensure_ascii=False, default=str, separators=(",", ":")))


class TextFormatter(logging.Formatter):
    """The classic line, plus the structured fields as `key=value` for people reading a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict) and fields:
            line += " " + " ".join(f"{k}={_text_value(v)}" for k, v in fields.items() if v not in (None, ""))
        return redact(line)


def _text_value(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))
    text = str(value)
    return json.dumps(text, ensure_ascii=False) if " " in text else text


class _OwnHandler(logging.StreamHandler[TextIO]):
    """Lines logged on the event loop within one loop iteration are written together by one call scheduled
    right after it (one system call instead of one per request line); lines from other threads, or with no
    loop running, are written at once. Also marks the handler configure_logging installed, so a second
    call replaces it instead of adding one."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self._pending: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + self.terminator
        except Exception:
            self.handleError(record)
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None:
            self._write(line)
            return
        if not self._pending:
            loop.call_soon(self._write_pending)
        self._pending.append(line)

    def _write_pending(self) -> None:
        lines, self._pending = self._pending, []
        self._write("".join(lines))

    def _write(self, text: str) -> None:
        with self.lock or contextlib.nullcontext():
            try:
                self.stream.write(text)
                self.flush()
            except (OSError, ValueError):  # closed or broken stream: logging must never take the router down
                pass

    def close(self) -> None:
        if self._pending:
            self._write_pending()
        super().close()


def configure_logging(level: str = "INFO", fmt: LogFormat = "text", stream: TextIO | None = None) -> None:
    """Install one handler on the root logger writing `fmt` lines to stderr (or `stream`); safe to call
    again. Lines are written synchronously: a writer thread was measured to cost more CPU per request
    (a thread wake-up per line) than it took off the event loop."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _OwnHandler)]:
        root.removeHandler(handler)
    # Nothing here logs thread or process names; skipping their lookup makes every record cheaper.
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = _OwnHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level)


def set_log_level(level: str) -> None:
    """Change the level at run time (config reload)."""
    logging.getLogger().setLevel(level)


def log_fields(logger: logging.Logger, level: int, message: str, fields: dict[str, Any]) -> None:
    """Emit one structured line without logging's caller lookup (a stack walk per record), which the
    per-request line does not need: its logger name says where it comes from."""
    record = logger.makeRecord(logger.name, level, "", 0, message, (), None, extra={"fields": fields})
    logger.handle(record)


def log_event(event: str, message: str, level: int = logging.INFO, **fields: object) -> None:
    """A lifecycle event (started, reloaded, draining, stopped) as one structured line."""
    logging.getLogger(EVENT_LOGGER).log(level, message, extra={"fields": {"event": event, **fields}})
