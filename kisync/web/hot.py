"""Repeated reads answered before the handler and its middlewares run: the answer as it left them last time.

A read of the merged set is a function of (path and query, change
sequence) and of the request's variant: 304 (its If-None-Match matches),
gzip or plain. The first request of each variant runs the whole chain
(parameters, render cache, security headers, CORS) and the outermost
middleware (kisync.web.app) keeps what came out (status, headers, body)
on the render cache's entry. Later GETs of the same raw path and query at the same
change sequence and variant get a copy of it without parsing the query or
running a middleware: the headers are the chain's own, by construction.
What the fast path does not know it leaves to the chain: HEAD, a
sequence due for a refresh, If-Modified-Since without If-None-Match,
handlers that do not mark their answer (``serve_fresh``, the changes feed
after a cursor, which checks purges on every request).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

from kisync.web.caching import CacheKey, ChangeSeq, RenderCache, accepts_gzip, etag_matches

# Set on the request by serve_cached: (cache key, ETag) of an answer the fast path may keep.
MARK = web.RequestKey("kisync.hot", tuple)
NOT_MODIFIED, GZIP, PLAIN = "304", "gzip", "plain"
# Distinct raw paths remembered; past this the index starts again (query strings are the client's choice).
MAX_PATHS = 1024


@lru_cache(maxsize=64)
def _wants_gzip(accept_encoding: str | None) -> bool:
    # Clients send a handful of distinct Accept-Encoding values: parse each once.
    return accepts_gzip(accept_encoding)


def variant_of(headers, etag: str) -> str | None:
    """Which prepared answer the request gets, as ``send`` decides it; None when only the chain can tell."""
    if_none_match = headers.get("If-None-Match")
    if if_none_match is not None:
        # The exact tag is what a client repeating our answer sends: skip the parsing then.
        if if_none_match == etag or etag_matches(if_none_match, etag):
            return NOT_MODIFIED
    elif "If-Modified-Since" in headers:
        return None  # depends on the date; If-None-Match, when given, overrides it (RFC 9110 §13.1.3)
    return GZIP if _wants_gzip(headers.get("Accept-Encoding")) else PLAIN


@dataclass(frozen=True)
class Prepared:
    status: int
    headers: CIMultiDict[str]
    body: bytes | None
    # The request counter and time histogram its answers count in (kisync.web.metrics.request_metrics).
    metrics: tuple[Any, Any]

    def response(self) -> web.Response:
        return web.Response(status=self.status, body=self.body, headers=self.headers)


@dataclass(frozen=True)
class HotPath:
    key: CacheKey
    etag: str


class HotAnswers:
    """Raw path and query -> the render cache entry whose prepared answers serve it."""

    def __init__(self, seq: ChangeSeq, cache: RenderCache):
        self._seq = seq
        self._cache = cache
        self._paths: dict[str, HotPath] = {}
        self.hits = 0

    def answer(self, request: web.Request) -> tuple[web.Response, tuple[Any, Any]] | None:
        """The prepared answer and the metrics it counts in; None when the chain must answer."""
        if request.method != "GET":
            return None
        hot = self._paths.get(request.raw_path)
        if hot is None or self._seq.known() != hot.key[2]:
            return None
        variant = variant_of(request.headers, hot.etag)
        entry = self._cache.get(hot.key) if variant is not None else None
        prepared = entry.prepared.get(variant) if entry is not None else None
        if prepared is None:
            return None
        self.hits += 1
        self._cache.hits += 1
        return prepared.response(), prepared.metrics

    def learn(self, request: web.Request, response: web.StreamResponse, metrics: tuple[Any, Any]) -> None:
        """Keep a marked answer, and the metrics it counted in, for the next request of its variant."""
        mark = request.get(MARK)
        if mark is None or request.method != "GET" or type(response) is not web.Response:
            return
        key, etag = mark
        variant = variant_of(request.headers, etag)
        if variant is None or response.status != (304 if variant == NOT_MODIFIED else 200):
            return
        entry = self._cache.get(key)
        body = response.body
        if entry is None or not (body is None or isinstance(body, bytes)):
            return
        entry.prepared[variant] = Prepared(response.status, CIMultiDict(response.headers), body, metrics)
        if len(self._paths) >= MAX_PATHS:
            self._paths.clear()
        self._paths[request.raw_path] = HotPath(key, etag)


# The app's HotAnswers (its ``hits``: answers given without the handler).
HOT = web.AppKey("kisync.hot_answers", HotAnswers)
