"""Turning HTTP statuses and network failures into FetchErrors a person can act on.

The messages here say what went wrong, not where: the fetcher puts the URL
(without userinfo) in front.
"""

from __future__ import annotations

import asyncio
import errno
import ssl
from http import HTTPStatus

import aiohttp

from kisync.errors import FetchError
from kisync.fetch.limits import Timeouts
from kisync.fetch.urls import scrub

_STATUS_WORDS = {
    400: "bad request",
    401: "unauthorized: the source needs credentials",
    403: "forbidden",
    404: "not found",
    406: "not acceptable",
    408: "request timeout",
    410: "gone: the source was removed for good",
    429: "too many requests",
    451: "unavailable for legal reasons",
}


def status_error(status: int, *, retry_after: float | None = None) -> FetchError:
    """FetchError for a final status that is neither 2xx nor 304."""
    if status in _STATUS_WORDS:
        what = _STATUS_WORDS[status]
    elif 500 <= status < 600:
        what = "server error"
    elif 400 <= status < 500:
        what = "client error"
    elif 300 <= status < 400:
        what = "redirect kisync cannot follow"
    else:
        what = "unexpected status"
    message = f"{what} (HTTP {status}{_phrase(status)})"
    if retry_after is not None:
        message += f"; the server asks to retry after {_seconds(retry_after)} s"
    return FetchError(message, status=status, retry_after=retry_after)


def network_error(error: Exception, timeouts: Timeouts) -> FetchError:
    """FetchError for what aiohttp raised while connecting or reading."""
    return FetchError(scrub(_describe(error, timeouts)))


def total_timeout(timeouts: Timeouts) -> FetchError:
    return FetchError(f"timed out after {_seconds(timeouts.total)} s in all (fetch.total_timeout)")


def _describe(error: Exception, timeouts: Timeouts) -> str:
    # Order matters: the timeout errors are also OSErrors and connection errors.
    if isinstance(error, aiohttp.ConnectionTimeoutError):
        return f"connect timeout after {_seconds(timeouts.connect)} s (fetch.connect_timeout)"
    if isinstance(error, aiohttp.SocketTimeoutError):
        return f"read timed out after {_seconds(timeouts.read)} s: the server stopped sending"
    if isinstance(error, aiohttp.ServerTimeoutError | asyncio.TimeoutError):
        return "timed out"
    if isinstance(error, aiohttp.ClientConnectorCertificateError):
        return f"TLS certificate not accepted: {_certificate_problem(error.certificate_error)}"
    if isinstance(error, aiohttp.ClientSSLError):
        return f"TLS error: {_ssl_problem(error.os_error)}"
    if isinstance(error, aiohttp.ClientConnectorDNSError):
        return f"host name {error.host} not found (DNS)"
    if isinstance(error, aiohttp.ClientConnectorError):
        return f"cannot connect to {error.host}:{error.port}: {_os_problem(error.os_error)}"
    if isinstance(error, aiohttp.ServerDisconnectedError):
        return "the server closed the connection without a complete answer"
    if isinstance(error, aiohttp.ClientPayloadError):
        text = str(error)
        if "content-encoding" in text.lower():
            return "body cannot be decompressed: the server's gzip/deflate data is corrupt"
        return "body incomplete: the connection ended before the whole body arrived"
    if isinstance(error, aiohttp.InvalidURL):
        return f"invalid URL: {error}"
    if isinstance(error, aiohttp.ClientResponseError):
        return f"invalid HTTP response: {error.message}"
    if isinstance(error, aiohttp.ClientOSError):
        return f"network error: {_os_problem(error)}"
    return f"{type(error).__name__}: {error}"


def _os_problem(error: OSError) -> str:
    if error.errno == errno.ECONNREFUSED:
        return "connection refused (nothing listens on that port)"
    if error.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return "network unreachable"
    if error.errno == errno.ECONNRESET:
        return "connection reset by the server"
    return error.strerror or str(error) or type(error).__name__


def _certificate_problem(error: Exception) -> str:
    if isinstance(error, ssl.SSLCertVerificationError):
        return error.verify_message or str(error)
    return str(error)


def _ssl_problem(error: OSError) -> str:
    if isinstance(error, ssl.SSLError):
        if error.reason == "WRONG_VERSION_NUMBER":
            # The classic: https:// in the config, but the server speaks plain HTTP on that port.
            return "the server does not speak TLS on this port (WRONG_VERSION_NUMBER); is the URL http://?"
        return error.reason or str(error)
    return str(error)


def _phrase(status: int) -> str:
    try:
        return f" {HTTPStatus(status).phrase}"
    except ValueError:
        return ""


def _seconds(value: float) -> str:
    return f"{value:g}"
