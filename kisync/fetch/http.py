"""``Fetcher``: conditional GETs over one shared aiohttp session, with limits and the SSRF guard."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from types import TracebackType

import aiohttp
from yarl import URL

from kisync.config import FetchSettings
from kisync.errors import FetchError
from kisync.fetch import failures, hints
from kisync.fetch.body import read_capped
from kisync.fetch.files import fetch_file
from kisync.fetch.guard import AddressGuard, GuardedResolver
from kisync.fetch.headers import request_headers
from kisync.fetch.limits import ConcurrencyLimits, Timeouts
from kisync.fetch.types import FetchResult
from kisync.fetch.urls import redact, scrub, source_kind

log = logging.getLogger(__name__)

_REDIRECTS = {301, 302, 303, 307, 308}
# Statuses whose Retry-After tells the scheduler when to come back (RFC 9110 §10.2.3, RFC 6585 §4).
_RETRY_AFTER_STATUSES = {429, 503}


@dataclass
class _Hop:
    """Where a fetch is: the URL being requested and the chain that led there."""

    chain: list[URL]

    @property
    def url(self) -> URL:
        return self.chain[-1]

    def describe(self) -> str:
        if len(self.chain) == 1:
            return redact(self.url)
        return f"{redact(self.url)} (redirected from {redact(self.chain[0])})"

    def path(self, last: URL) -> str:
        return " -> ".join(redact(url) for url in [*self.chain, last])


class Fetcher:
    """Fetches sources: http(s) URLs with conditional GET, and files below ``fetch.file_root``.

    Use as ``async with Fetcher(settings, user_agent=...) as fetcher``; every
    fetch shares one session and its connection pool. ``allow_addresses``
    lets exact (address, port) pairs through the SSRF guard; it exists for
    tests, whose servers run on loopback.
    """

    def __init__(self, settings: FetchSettings, *, user_agent: str, allow_addresses: Iterable[tuple[str, int]] = ()) -> None:
        self._settings = settings
        self._user_agent = user_agent
        self._timeouts = Timeouts.from_settings(settings)
        self._guard = None if settings.allow_private_networks else AddressGuard(allow_addresses)
        self._limits = ConcurrencyLimits(settings.concurrency, settings.per_host_concurrency)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Fetcher:
        connector = aiohttp.TCPConnector(
            limit=self._settings.concurrency,
            limit_per_host=self._settings.per_host_concurrency,
            resolver=GuardedResolver(self._guard) if self._guard is not None else None,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            # The total is enforced around all hops of a fetch (see _fetch_http), not per request.
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=self._timeouts.connect, sock_read=self._timeouts.read),
            # Sources are independent: a cookie one sets must not travel to another.
            cookie_jar=aiohttp.DummyCookieJar(),
            # No proxies from the environment: a proxy resolves names itself, out of the guard's sight.
            trust_env=False,
        )
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> FetchResult:
        """Fetch one source. Raises FetchError (with status and retry_after where the server gave them)."""
        if source_kind(url) == "file":
            return await self._fetch_file(url, etag)
        return await self._fetch_http(url, etag, last_modified)

    async def _fetch_file(self, url: str, etag: str | None) -> FetchResult:
        # The same budget as for HTTP: a file on a hung network mount must not hold a worker forever.
        try:
            async with asyncio.timeout(self._timeouts.total):
                return await fetch_file(
                    url, file_root=self._settings.file_root, etag=etag, max_body_bytes=self._settings.max_body_bytes
                )
        except TimeoutError:
            raise FetchError(f"{scrub(url)}: {failures.total_timeout(self._timeouts)}") from None

    async def _fetch_http(self, url: str, etag: str | None, last_modified: str | None) -> FetchResult:
        try:
            start = URL(url)
        except (ValueError, TypeError) as error:
            raise FetchError(f"{redact(url)}: invalid URL: {scrub(str(error))}") from None
        if not start.host:
            raise FetchError(f"{redact(url)}: invalid URL: no host")
        async with self._limits.slot(f"{start.host}:{start.port}"):
            hop = _Hop([start])
            started = time.monotonic()
            try:
                # One budget for the whole fetch, redirects included.
                async with asyncio.timeout(self._timeouts.total):
                    result = await self._follow(hop, etag, last_modified)
            except TimeoutError:
                raise self._fail(hop, failures.total_timeout(self._timeouts)) from None
            except FetchError as error:
                raise self._fail(hop, error) from None
        elapsed = time.monotonic() - started
        log.debug(
            "fetched %s: HTTP %s in %.3f s",
            result.url,
            result.status,
            elapsed,
            extra={"url": result.url, "status": result.status, "duration": round(elapsed, 3)},
        )
        return replace(result, elapsed=elapsed)

    async def _follow(self, hop: _Hop, etag: str | None, last_modified: str | None) -> FetchResult:
        headers = request_headers(self._user_agent, etag=etag, last_modified=last_modified)
        while True:
            target = await self._request(hop.url, headers, etag, last_modified)
            if isinstance(target, FetchResult):
                return target
            self._check_redirect(hop, target)
            log.debug("redirect %s", hop.path(target), extra={"url": redact(hop.url), "location": redact(target)})
            hop.chain.append(target)

    def _check_redirect(self, hop: _Hop, target: URL) -> None:
        if target.scheme not in ("http", "https"):
            raise FetchError(f"redirect to a {target.scheme} URL refused: {redact(target)}")
        if target.with_fragment(None) in {url.with_fragment(None) for url in hop.chain}:
            raise FetchError(f"redirect loop: {hop.path(target)}")
        # A bound on hops, so a chain of redirects cannot keep a fetch busy; and a loop with
        # a changing query string (?n=1, ?n=2, …) ends here rather than at the timeout.
        if len(hop.chain) > self._settings.max_redirects:
            raise FetchError(f"more than {self._settings.max_redirects} redirects (fetch.max_redirects): {hop.path(target)}")

    async def _request(self, url: URL, headers: dict[str, str], etag: str | None, last_modified: str | None) -> FetchResult | URL:
        """One request: the result, or the URL a redirect points to."""
        if self._session is None:
            raise RuntimeError("Fetcher is not open: use `async with Fetcher(...) as fetcher`")
        if self._guard is not None:
            self._guard.check_url(url)  # IP literals never reach the resolver
        try:
            async with self._session.get(url, headers=headers, allow_redirects=False) as response:
                if response.status in _REDIRECTS:
                    return _location(response)
                if response.status == 304:
                    return self._result(response, None, etag=etag, last_modified=last_modified)
                if 200 <= response.status < 300:
                    body = await read_capped(response, self._settings.max_body_bytes)
                    return self._result(response, body, etag=None, last_modified=None)
                raise failures.status_error(response.status, retry_after=_retry_after(response))
        except aiohttp.ClientError as error:
            raise failures.network_error(error, self._timeouts) from None

    def _result(
        self, response: aiohttp.ClientResponse, body: bytes | None, *, etag: str | None, last_modified: str | None
    ) -> FetchResult:
        # On a 304 the server may send fresh validators; when it does not, the ones we sent still hold.
        now = datetime.now(UTC)
        return FetchResult(
            url=redact(response.url),
            status=response.status,
            body=body,
            etag=response.headers.get("ETag") or etag,
            last_modified=response.headers.get("Last-Modified") or last_modified,
            content_type=response.headers.get("Content-Type"),
            max_age=hints.max_age(response.headers, now),
            fetched_at=now,
        )

    def _fail(self, hop: _Hop, error: FetchError) -> FetchError:
        message = scrub(f"{hop.describe()}: {error}")
        return FetchError(message, status=error.status, retry_after=error.retry_after)


def _location(response: aiohttp.ClientResponse) -> URL:
    location = response.headers.get("Location")
    if not location:
        raise FetchError(f"redirect (HTTP {response.status}) without a Location header")
    try:
        return response.url.join(URL(location))
    except (ValueError, TypeError):
        raise FetchError(f"redirect to an invalid URL: {scrub(location)!r}") from None


def _retry_after(response: aiohttp.ClientResponse) -> float | None:
    if response.status not in _RETRY_AFTER_STATUSES:
        return None
    return hints.retry_after(response.headers.get("Retry-After"), datetime.now(UTC))
