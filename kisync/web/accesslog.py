"""The access log: one structured line per request; method, path, status, size, time, peer; never headers, so no token.

aiohttp calls ``AccessLogger.log`` after every answer, so it is on the hot
path of a cached read: a trip through ``logging`` (a LogRecord, the
formatter's dict and ``json.dumps``, a flush) costs more than answering
from the cache does. When every handler that would take the line writes
kisync's JSON lines to a stream (what ``kisync serve`` configures), the
line is built directly, in exactly ``JsonFormatter``'s shape, and written
to those streams. Anything else (text on a terminal, pytest's caplog,
filters, other handlers) gets a normal log record.
"""

from __future__ import annotations

import logging
import time as clock

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from kisync.logs import JsonFormatter, json_line

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


class AccessLogger(AbstractAccessLogger):
    """One structured line per request (fields: method, path, status, bytes, duration_ms, remote)."""

    @property
    def enabled(self) -> bool:
        # False: aiohttp neither times the request nor calls ``log``.
        return self.logger.isEnabledFor(logging.INFO)

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        if not self.logger.isEnabledFor(logging.INFO):
            return
        method, path, status = request.method, request.path, response.status
        message = f"{method} {path} {status}"
        fields = {
            "method": method,
            "path": path,
            "status": status,
            "bytes": response.body_length,
            "duration_ms": round(time * 1000, 1),
            "remote": request.remote,
        }
        handlers = direct_json_handlers(self.logger)
        if handlers is None:
            self.logger.info("%s", message, extra=fields)
            return
        line = json_line(self.logger.name, "info", message, fields, clock.time())
        for handler in handlers:
            with handler.lock:  # type: ignore[union-attr]
                handler.stream.write(line + handler.terminator)
                handler.flush()


RUNNER_OPTIONS = {"access_log_class": AccessLogger, "access_log": access_log}
