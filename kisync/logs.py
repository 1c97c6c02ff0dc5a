"""Structured logs: one JSON object a line in production, readable lines on a terminal.

Fields given as ``extra={"source_id": …, "url": …, "duration_ms": …}``
appear as keys in JSON and as ``key=value`` in text. URLs are logged
through ``safe_url`` so credentials never reach a log.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import IO
from urllib.parse import urlsplit, urlunsplit

# Attributes every LogRecord has; everything else was passed in `extra`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


def safe_url(url: str) -> str:
    """The URL without user name and password."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid url>"
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def _extra(record: logging.LogRecord) -> dict:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


# Made once: json.dumps with options builds a new encoder per call, a third of a line's cost.
_ENCODER = json.JSONEncoder(ensure_ascii=False, default=str)


def json_line(logger: str, level: str, message: str, fields: dict, created: float) -> str:
    """One line of the JSON log: time, level, logger and message, then the line's own fields."""
    data = {
        "time": datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds"),
        "level": level,
        "logger": logger,
        "message": message,
        **fields,
    }
    return _ENCODER.encode(data)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = _extra(record)
        if record.exc_info:
            fields["exception"] = self.formatException(record.exc_info)
        return json_line(record.name, record.levelname.lower(), record.getMessage(), fields, record.created)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        time = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        fields = " ".join(f"{k}={v}" for k, v in _extra(record).items())
        line = f"{time} {record.levelname:<7} {record.getMessage()}" + (f"  {fields}" if fields else "")
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure_logging(level: str = "INFO", fmt: str = "auto", stream: IO[str] | None = None) -> None:
    stream = stream or sys.stderr
    if fmt == "auto":
        fmt = "text" if stream.isatty() else "json"
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    access = sys.modules.get("kisync.web.accesslog")
    if access is not None:
        access.flush()  # kept access lines go where they were logged to, not to the new handler
    root = logging.getLogger("kisync")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
