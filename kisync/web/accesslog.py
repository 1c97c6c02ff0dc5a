"""The access log: one structured line per request; method, path, status, size, time, peer; never headers, so no token.

aiohttp calls ``AccessLogger.log`` after every answer, so it is on the hot
path of a cached read: a trip through ``logging`` (a LogRecord, the
formatter's dict and ``json.dumps``, a flush) costs more than answering
from the cache does. When every handler that would take the line writes
kisync's JSON lines to a stream (what ``kisync serve`` configures), the
line is built directly, in exactly ``JsonFormatter``'s shape, and the
lines of one turn of the event loop are written to those streams
together. Anything else (text on a terminal, pytest's caplog, filters,
other handlers) gets a normal log record.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time as clock
from datetime import UTC, datetime

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from kisync.logs import JsonFormatter

access_log = logging.getLogger("kisync.web.access")


def direct_json_handlers(logger: logging.Logger) -> list[logging.StreamHandler] | None:
    """The handlers an INFO line of ``logger`` reaches, when all of them are plain JSON stream handlers; else None.

    Walks the hierarchy as ``Logger.callHandlers`` does.
    """
    found: list[logging.StreamHandler] = []
    current: logging.Logger | None = logger
    while current is not None:
        if current.filters:
            return None
        for handler in current.handlers:
            # A subclass may emit differently (FileHandler opens lazily, RotatingFileHandler rolls over).
            if type(handler) is not logging.StreamHandler or type(handler.formatter) is not JsonFormatter or handler.filters:
                return None
            if handler.level <= logging.INFO:
                found.append(handler)
        if not current.propagate:
            break
        current = current.parent
    return found


# What json.dumps(..., ensure_ascii=False) quotes a string with.
_quote = json.encoder.encode_basestring  # type: ignore[attr-defined]


class _Seconds:
    """``2026-11-29T06:38:17`` of the current second, formatted once a second."""

    def __init__(self) -> None:
        self.second = -1
        self.text = ""

    def iso_millis(self, time_ns: int) -> str:
        """As JsonFormatter writes a record's time (UTC, milliseconds)."""
        second, rest = divmod(time_ns, 1_000_000_000)
        if second != self.second:
            self.second, self.text = second, datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return f"{self.text}.{rest // 1_000_000:03d}+00:00"


class _Batch:
    """The direct lines of one turn of the event loop, written at its end: one write and flush per stream, not per request.

    A line waits at most until the loop has run the callbacks that were
    ready with it; aiohttp makes one AccessLogger per connection, so the
    batch is shared.
    """

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.handlers: list[logging.StreamHandler] = []

    def add(self, line: str, handlers: list[logging.StreamHandler]) -> None:
        if not self.lines:
            self.handlers = handlers
            asyncio.get_running_loop().call_soon(self.write)
        self.lines.append(line)

    def write(self) -> None:
        lines, self.lines = self.lines, []
        for handler in self.handlers:
            with handler.lock:  # type: ignore[union-attr]
                handler.stream.write(handler.terminator.join(lines) + handler.terminator)
                handler.flush()


class AccessLogger(AbstractAccessLogger):
    """One structured line per request (fields: method, path, status, bytes, duration_ms, remote)."""

    _clock = _Seconds()
    _batch = _Batch()

    def __init__(self, logger: logging.Logger, log_format: str) -> None:
        super().__init__(logger, log_format)
        self._head = f'"level": "info", "logger": {_quote(logger.name)}'

    @property
    def enabled(self) -> bool:
        # False: aiohttp neither times the request nor calls ``log``.
        return self.logger.isEnabledFor(logging.INFO)

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        if not self.logger.isEnabledFor(logging.INFO):
            return
        method, path, status, size = request.method, request.path, response.status, response.body_length
        duration_ms, remote = round(time * 1000, 1), request.remote
        message = f"{method} {path} {status}"
        # Within a batch the handlers were found direct at its start.
        handlers = self._batch.handlers if self._batch.lines else direct_json_handlers(self.logger)
        if handlers is None:
            fields = {"method": method, "path": path, "status": status, "bytes": size}
            self.logger.info("%s", message, extra={**fields, "duration_ms": duration_ms, "remote": remote})
            return
        # JsonFormatter's line, written out: a dict and the json module's encoder cost three times as much.
        line = (
            f'{{"time": "{self._clock.iso_millis(clock.time_ns())}", {self._head}, "message": {_quote(message)}, '
            f'"method": {_quote(method)}, "path": {_quote(path)}, "status": {status:d}, "bytes": {size:d}, '
            f'"duration_ms": {duration_ms!r}, "remote": {"null" if remote is None else _quote(remote)}}}'
        )
        self._batch.add(line, handlers)


RUNNER_OPTIONS = {"access_log_class": AccessLogger, "access_log": access_log}
