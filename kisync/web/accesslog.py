"""The access log: one structured line per request; method, path, status, size, time, peer; never headers, so no token.

aiohttp calls ``AccessLogger.log`` after every answer, so it is on the hot
path of a cached read: a trip through ``logging`` (a LogRecord, the
formatter's dict and ``json.dumps``, a flush) costs more than answering
from the cache does. When every handler that would take the line writes
kisync's JSON lines to a stream (what ``kisync serve`` configures), the
line is built directly, in exactly ``JsonFormatter``'s shape, and lines
are written to those streams together, at most a tenth of a second after
they were logged (``_Batch``). Anything else (text on a terminal, pytest's caplog, filters,
other handlers) gets a normal log record.
"""

from __future__ import annotations

import asyncio
import atexit
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


class _Millis:
    """``2026-11-29T06:38:17.123+00:00``: JsonFormatter's time (UTC, milliseconds), formatted once a millisecond.

    Under load many lines share a millisecond; the second is formatted once a second.
    """

    def __init__(self) -> None:
        self.milli = self.second = -1
        self.text = self.second_text = ""

    def iso(self, time_ns: int) -> str:
        milli = time_ns // 1_000_000
        if milli != self.milli:
            second, rest = divmod(milli, 1000)
            if second != self.second:
                self.second = second
                self.second_text = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
            self.milli, self.text = milli, f"{self.second_text}.{rest:03d}+00:00"
        return self.text


# What a direct line is made of, kept until the batch is written: (time_ns, quoted head, quoted middle,
# bytes, seconds, quoted remote).
Row = tuple[int, str, str, int, float, str]


class _Batch:
    """Direct lines kept briefly and written together: one write and flush per stream for many requests.

    A request only appends its fields (``Row``); the lines are formatted
    and written when ``FLUSH_LINES`` have come, ``FLUSH_SECONDS`` after the
    first of them (as nginx's ``access_log … buffer= flush=``), when the
    app shuts down, and at exit. Measured under load (bench/serve.py), a
    line formatted and flushed per request cost about twice as much as the
    same work done for a batch. aiohttp makes one AccessLogger per
    connection, so the batch is shared; it belongs to the event loop that
    started it.
    """

    FLUSH_SECONDS = 0.1
    FLUSH_LINES = 256
    _clock = _Millis()

    def __init__(self) -> None:
        self.rows: list[Row] = []
        self.handlers: list[logging.StreamHandler] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None

    def handlers_for(self, logger: logging.Logger) -> list[logging.StreamHandler] | None:
        """The streams a direct line goes to: the open batch's, else found anew (None: not direct).

        Call it just before ``add``: a batch left by an event loop that has ended is written here.
        """
        if self.rows:
            if self._loop is asyncio.get_running_loop():
                return self.handlers
            self.write()
        return direct_json_handlers(logger)

    def add(self, row: Row, handlers: list[logging.StreamHandler]) -> None:
        rows = self.rows
        if not rows:
            self.handlers = handlers
            self._loop = loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self.FLUSH_SECONDS, self.write)
        rows.append(row)
        if len(rows) >= self.FLUSH_LINES:
            self.write()

    def write(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        rows, self.rows = self.rows, []
        if not rows:
            return
        iso = self._clock.iso
        # JsonFormatter's line, written out: a dict and the json module's encoder cost three times as much.
        # The duration as ``round(ms, 1)`` prints it: both round the exact binary value to one decimal.
        lines = [
            f'{{"time": "{iso(time_ns)}", {head}, {middle}, "bytes": {size:d}, "duration_ms": {seconds * 1000:.1f}, '
            f'"remote": {remote}}}'
            for time_ns, head, middle, size, seconds, remote in rows
        ]
        for handler in self.handlers:
            with handler.lock:  # type: ignore[union-attr]
                handler.stream.write(handler.terminator.join(lines) + handler.terminator)
                handler.flush()


class AccessLogger(AbstractAccessLogger):
    """One structured line per request (fields: method, path, status, bytes, duration_ms, remote)."""

    _batch = _Batch()
    # (method, raw path and query, status) -> the line's quoted middle ("message" to "status"): a repeated
    # request is logged without decoding its path or quoting a string. Clients choose query strings: bounded.
    _middles: dict[tuple[str, str, int], str] = {}
    MAX_MIDDLES = 4096

    def __init__(self, logger: logging.Logger, log_format: str) -> None:
        super().__init__(logger, log_format)
        self._head = f'"level": "info", "logger": {_quote(logger.name)}'
        # One logger per connection: its peer's address, quoted once, and its last request's middle
        # (a keep-alive client mostly repeats itself: no key to build and hash then).
        self._remote: str | None = None
        self._last: tuple[str, str, int, str] = ("", "", 0, "")

    @property
    def enabled(self) -> bool:
        # False: aiohttp neither times the request nor calls ``log``.
        return self.logger.isEnabledFor(logging.INFO)

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        if not self.logger.isEnabledFor(logging.INFO):
            return
        handlers = self._batch.handlers_for(self.logger)
        if handlers is None:
            method, path, status, remote = request.method, request.path, response.status, request.remote
            fields = {"method": method, "path": path, "status": status, "bytes": response.body_length}
            extra = {**fields, "duration_ms": round(time * 1000, 1), "remote": remote}
            self.logger.info("%s %s %s", method, path, status, extra=extra)
            return
        method, raw_path, status = request.method, request.raw_path, response.status
        last = self._last
        if raw_path == last[1] and status == last[2] and method == last[0]:
            middle = last[3]
        else:
            middle = self._middle(method, raw_path, status, request)
            self._last = (method, raw_path, status, middle)
        remote = self._remote
        if remote is None:
            peer = request.remote
            self._remote = remote = "null" if peer is None else _quote(peer)
        self._batch.add((clock.time_ns(), self._head, middle, response.body_length, time, remote), handlers)

    def _middle(self, method: str, raw_path: str, status: int, request: web.BaseRequest) -> str:
        key = (method, raw_path, status)
        middle = self._middles.get(key)
        if middle is None:
            path = request.path
            middle = (
                f'"message": {_quote(f"{method} {path} {status}")}, '
                f'"method": {_quote(method)}, "path": {_quote(path)}, "status": {status:d}'
            )
            if len(self._middles) >= self.MAX_MIDDLES:
                self._middles.clear()
            self._middles[key] = middle
        return middle


def flush() -> None:
    """Write the access lines not yet written (kept at most ``_Batch.FLUSH_SECONDS``)."""
    AccessLogger._batch.write()


atexit.register(flush)

RUNNER_OPTIONS = {"access_log_class": AccessLogger, "access_log": access_log}
