"""The access log: one structured line per request; method, path, status, size, time, peer; never headers, so no token.

aiohttp calls ``AccessLogger.log`` after every answer, so it is on the hot
path of a cached read: a trip through ``logging`` (a LogRecord, the
formatter's dict and ``json.dumps``, a flush) costs more than answering
from the cache does. When every handler that would take the line writes
kisync's JSON lines to a stream (what ``kisync serve`` configures), the
line is built directly, in exactly ``JsonFormatter``'s shape, and lines
are written to those streams together, normally a tenth of a second
after they were logged at the latest (``_Batch``). Anything else (text on a terminal, pytest's caplog, filters,
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
        self._milli: tuple[int, str] = (-1, "")
        self._second: tuple[int, str] = (-1, "")

    def iso(self, time_ns: int) -> str:
        milli = time_ns // 1_000_000
        if milli != self._milli[0]:
            second, rest = divmod(milli, 1000)
            if second != self._second[0]:
                self._second = (second, datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S"))
            self._milli = (milli, f"{self._second[1]}.{rest:03d}+00:00")
        return self._milli[1]


# What a direct line is made of, kept until the batch is written: (time_ns, quoted head, quoted middle,
# bytes, seconds, quoted remote).
Row = tuple[int, str, str, int, float, str]


class _Batch:
    """One logger's direct lines on one event loop, kept briefly and written together: one write and flush per stream.

    A request only appends its fields (``Row``); the lines are formatted
    and written when ``FLUSH_LINES`` have come, ``FLUSH_SECONDS`` after the
    first of them (as nginx's ``access_log … buffer= flush=``), when the
    app shuts down, and at exit. So an access line may reach the stream up
    to a tenth of a second after log lines written meanwhile (its ``time``
    is when it was logged), and a filter or handler added to the logging
    configuration applies from the next batch (``configure_logging``
    writes the open batches first). Measured under load (bench/serve.py),
    a line formatted and flushed per request cost about twice as much as
    the same work done for a batch.

    All but ``flush`` run in the loop's thread.
    """

    FLUSH_SECONDS = 0.1
    FLUSH_LINES = 256

    def __init__(self, logger: logging.Logger, loop: asyncio.AbstractEventLoop) -> None:
        self.logger = logger
        self.loop = loop
        self.rows: list[Row] = []
        self.handlers: list[logging.StreamHandler] = []
        self._timer: asyncio.TimerHandle | None = None
        self._clock = _Millis()

    def streams(self) -> list[logging.StreamHandler] | None:
        """The handlers a direct line goes to: the open batch's, else found anew (None: the line is a log record)."""
        if self.rows:
            return self.handlers
        return direct_json_handlers(self.logger)

    def add(self, row: Row, handlers: list[logging.StreamHandler]) -> None:
        """Keep a line for ``handlers`` (what ``streams`` returned just before)."""
        if not self.rows:
            self.handlers = handlers
            self._timer = self.loop.call_later(self.FLUSH_SECONDS, self.write)
        self.rows.append(row)
        if len(self.rows) >= self.FLUSH_LINES:
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
            try:
                with handler.lock:  # type: ignore[union-attr]
                    handler.stream.write(handler.terminator.join(lines) + handler.terminator)
                    handler.flush()
            except Exception:
                # As StreamHandler.emit: the stream's failure is reported (logging.raiseExceptions), the
                # other handlers still get the lines, and the request that filled the batch is not failed.
                record = logging.makeLogRecord(
                    {"name": self.logger.name, "levelno": logging.INFO, "levelname": "INFO",
                     "msg": "%d access lines not written", "args": (len(lines),)}
                )
                handler.handleError(record)


# The open batches, by event loop and logger; a closed loop's batch is written and dropped when a new batch starts.
_batches: dict[tuple[asyncio.AbstractEventLoop, logging.Logger], _Batch] = {}


def _batch_for(logger: logging.Logger) -> _Batch:
    loop = asyncio.get_running_loop()
    batch = _batches.get((loop, logger))
    if batch is None:
        for key, old in list(_batches.items()):
            if old.loop.is_closed():
                old.write()
                del _batches[key]
        batch = _batches[(loop, logger)] = _Batch(logger, loop)
    return batch


class AccessLogger(AbstractAccessLogger):
    """One structured line per request (fields: method, path, status, bytes, duration_ms, remote)."""

    # (method, raw path and query, status) -> the line's quoted middle ("message" to "status"): a repeated
    # request is logged without decoding its path or quoting a string. Clients choose query strings: bounded.
    _middles: dict[tuple[str, str, int], str] = {}
    MAX_MIDDLES = 4096
    MAX_MEMO_PATH = 256

    def __init__(self, logger: logging.Logger, log_format: str) -> None:
        super().__init__(logger, log_format)
        self._head = f'"level": "info", "logger": {_quote(logger.name)}'
        # One logger per connection: its peer's address, quoted once, and its last request's middle
        # (a keep-alive client mostly repeats itself: no key to build and hash then).
        self._remote: str | None = None
        self._last: tuple[str, str, int, str] = ("", "", 0, "")
        self._batch: _Batch | None = None  # found at the first line: aiohttp may make the logger outside the loop

    @property
    def enabled(self) -> bool:
        # False: aiohttp neither times the request nor calls ``log``.
        return self.logger.isEnabledFor(logging.INFO)

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        if not self.logger.isEnabledFor(logging.INFO):
            return
        batch = self._batch
        if batch is None:
            batch = self._batch = _batch_for(self.logger)
        handlers = batch.streams()
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
        batch.add((clock.time_ns(), self._head, middle, response.body_length, time, remote), handlers)

    def _middle(self, method: str, raw_path: str, status: int, request: web.BaseRequest) -> str:
        key = (method, raw_path, status)
        middle = self._middles.get(key)
        if middle is None:
            path = request.path
            middle = (
                f'"message": {_quote(f"{method} {path} {status}")}, '
                f'"method": {_quote(method)}, "path": {_quote(path)}, "status": {status:d}'
            )
            if len(raw_path) <= self.MAX_MEMO_PATH:  # a long path is rare, and would make the memo big
                if len(self._middles) >= self.MAX_MIDDLES:
                    self._middles.clear()
                self._middles[key] = middle
        return middle


def flush() -> None:
    """Write the access lines not yet written; from another thread, ask a running loop to write its own."""
    for batch in list(_batches.values()):
        if batch.loop.is_running() and not _runs(batch.loop):
            batch.loop.call_soon_threadsafe(batch.write)
        else:
            batch.write()


def _runs(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


atexit.register(flush)

RUNNER_OPTIONS = {"access_log_class": AccessLogger, "access_log": access_log}
