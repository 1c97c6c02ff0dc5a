"""HTTP errors: small classes carrying their status, one JSON shape for all.

Every 4xx and 5xx the app answers, aiohttp's own 404 and 405 and unexpected
exceptions included, leaves through ``error_middleware`` as
``{"error": {"code", "message", "details"}}`` (STYLE.md, convention 4;
datasette's ``Forbidden``/``NotFound`` classes are the model).
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from aiohttp import web

from kisync.errors import KisyncError, StorageError

log = logging.getLogger("kisync.web")


class HttpError(Exception):
    """An error answer: status, machine-readable code, message for people, details."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}
        self.headers = headers or {}


class BadRequest(HttpError):
    status = 400
    code = "bad_request"


class InvalidParameter(BadRequest):
    """A query parameter is unknown or malformed; ``details.parameter`` names it."""

    code = "invalid_parameter"

    def __init__(self, parameter: str, problem: str):
        super().__init__(f"parameter {parameter!r}: {problem}", details={"parameter": parameter})
        self.parameter = parameter


class Unauthorized(HttpError):
    status = 401
    code = "unauthorized"


class Forbidden(HttpError):
    status = 403
    code = "forbidden"


class NotFound(HttpError):
    status = 404
    code = "not_found"


class MethodNotAllowed(HttpError):
    status = 405
    code = "method_not_allowed"


class Conflict(HttpError):
    status = 409
    code = "conflict"


class ResyncRequired(HttpError):
    """A changes-feed cursor older than the purged tombstones (DESIGN.md, changes feed)."""

    status = 410
    code = "resync_required"


class PayloadTooLarge(HttpError):
    status = 413
    code = "payload_too_large"


class ServiceUnavailable(HttpError):
    status = 503
    code = "service_unavailable"


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def error_response(error: HttpError) -> web.Response:
    response = web.json_response(error_body(error.code, error.message, error.details), status=error.status)
    response.headers.update(error.headers)
    response.headers["Cache-Control"] = "no-store"
    return response


# aiohttp's own exceptions, by status: (code, message).
_AIOHTTP: dict[int, tuple[str, str]] = {
    400: ("bad_request", "bad request"),
    404: ("not_found", "no such resource"),
    405: ("method_not_allowed", "method not allowed here"),
    413: ("payload_too_large", "request body too large"),
}


def _from_aiohttp(exc: web.HTTPException) -> HttpError:
    code, message = _AIOHTTP.get(exc.status, ("http_error", exc.reason or "error"))
    error = HttpError(message)
    error.status, error.code = exc.status, code
    if isinstance(exc, web.HTTPMethodNotAllowed):
        error.details = {"method": exc.method, "allowed": sorted(exc.allowed_methods)}
        error.headers = {"Allow": ", ".join(sorted(exc.allowed_methods))}
    return error


@web.middleware
async def error_middleware(request: web.Request, handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except HttpError as error:
        return error_response(error)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise  # redirects and the like are answers, not errors
        return error_response(_from_aiohttp(exc))
    except StorageError as exc:
        log.error("storage unavailable: %s", exc, extra={"path": request.path})
        return error_response(ServiceUnavailable("the database is not available", details={"reason": "storage"}))
    except sa.exc.OperationalError:
        # The driver's message may name hosts and users: log it, do not send it.
        log.exception("database error", extra={"method": request.method, "path": request.path})
        return error_response(ServiceUnavailable("the database is not available", details={"reason": "database"}))
    except KisyncError as exc:
        log.exception("unhandled kisync error", extra={"method": request.method, "path": request.path})
        error = HttpError("internal error", details={"kind": exc.code})
        return error_response(error)
    except Exception:
        # Never a traceback to the client; the log has it.
        log.exception("unhandled error", extra={"method": request.method, "path": request.path})
        return error_response(HttpError("internal error"))
