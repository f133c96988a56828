"""Logging for every Doorstep process (serve, worker, dev): one format, context, redaction.

``DOORSTEP_LOG_FORMAT=json`` writes one JSON object a line with the timestamp, level,
logger and message, and the context known where the line was logged: the request id, the
GraphQL operation and the user id in the API; the job and the outbox row in a worker.
Lines never carry request bodies or variables, and email addresses and phone numbers in
any line are replaced by ``[email]`` and ``[phone]`` as a backstop.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TextIO

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

from server.core.settings import Settings

request_id: ContextVar[str] = ContextVar("request_id", default="-")
operation: ContextVar[str | None] = ContextVar("operation", default=None)
user_id: ContextVar[str | None] = ContextVar("user_id", default=None)
job: ContextVar[str | None] = ContextVar("job", default=None)
job_id: ContextVar[str | None] = ContextVar("job_id", default=None)
outbox_id: ContextVar[str | None] = ContextVar("outbox_id", default=None)

# The context each line carries, by field name.
CONTEXT: dict[str, ContextVar[Any]] = {
    "request_id": request_id,
    "operation": operation,
    "user_id": user_id,
    "job": job,
    "job_id": job_id,
    "outbox_id": outbox_id,
}

_EMAIL = re.compile(r"[\w.%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# International (+44 7700 900123, 0044...) or national with a leading 0 (07700 900123,
# 020 7946 0958): 10 to 15 digits with spaces, dots or dashes between. Timestamps, ids and
# counts do not start that way.
_PHONE = re.compile(r"(?<![\w+/.-])(?:\+|00|0)\d(?:[ ().-]{0,2}\d){8,13}(?![\w/-])")


def redact(text: str) -> str:
    """``text`` with email addresses and phone numbers replaced."""
    return _PHONE.sub("[phone]", _EMAIL.sub("[email]", text))


@contextmanager
def log_context(**values: str | None) -> Iterator[None]:
    """Set these context fields for the code inside, and restore them afterwards."""
    tokens = [(CONTEXT[name], CONTEXT[name].set(value)) for name, value in values.items()]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


class ContextFilter(logging.Filter):
    """Puts the context fields on every record the handler formats."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, var in CONTEXT.items():
            setattr(record, name, var.get())
        return True


class UvicornLineFilter(logging.Filter):
    """uvicorn's access and websocket lines without the client's address or query string.

    The query string can hold a GraphQL query's variables (GET) or an emailed token
    (``/set-password?token=``); the address is a resident's personal data.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if (
            isinstance(record.msg, str)
            and record.msg.startswith('%s - "')
            and isinstance(record.args, tuple)
        ):
            record.msg = record.msg.removeprefix("%s - ")
            record.args = tuple(
                a.partition("?")[0] if isinstance(a, str) and a.startswith("/") else a
                for a in record.args[1:]
            )
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(context)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        fields = [f"{name}={getattr(record, name)}" for name in CONTEXT if name != "request_id"]
        record.context = " ".join(
            [getattr(record, "request_id", "-")] + [f for f in fields if not f.endswith("=None")]
        )
        return redact(super().format(record))


class JsonLineFormatter(JsonFormatter):
    """timestamp, level, logger, message, then the context fields that are known."""

    def __init__(self) -> None:
        super().__init__(
            "%(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp=True,
            reserved_attrs=[*RESERVED_ATTRS, "color_message"],  # uvicorn's coloured copy
        )

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        ordered = {"timestamp": log_data.pop("timestamp")}
        for key, value in log_data.items():
            if value is None or (key == "request_id" and value == "-"):
                continue
            ordered[key] = value
        return ordered

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def build_handler(settings: Settings, stream: TextIO | None = None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonLineFormatter() if settings.log_format == "json" else TextFormatter())
    return handler


def configure_logging(settings: Settings) -> None:
    """The one logging set-up of ``doorstep serve``, ``worker`` and ``dev``, uvicorn's too."""
    root = logging.getLogger()
    root.handlers[:] = [build_handler(settings)]
    root.setLevel(settings.log_level)
    for name in ("uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, UvicornLineFilter) for f in logger.filters):
            logger.addFilter(UvicornLineFilter())
