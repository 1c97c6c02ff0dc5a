"""Answering reads: through the render cache when the body follows the change sequence, by content hash otherwise."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from aiohttp import web
from pydantic import BaseModel

from kisync.web import hot as hot_answers
from kisync.web.caching import Rendered, content_etag, etag_matches, make_etag, not_modified, send
from kisync.web.context import context

JSON = "application/json; charset=utf-8"
FEED_CACHE = "public, max-age=60"
# The API may change with every sync: revalidate each time (cheap: 304 by ETag).
API_CACHE = "no-cache"


def model_rendered(model: BaseModel, last_modified: datetime | None = None) -> Rendered:
    return Rendered(model.model_dump_json().encode(), JSON, last_modified)


def newest(*moments: datetime | None) -> datetime | None:
    known = [m for m in moments if m is not None]
    return max(known) if known else None


async def serve_cached(
    request: web.Request,
    canonical: str,
    render: Callable[[], Rendered],
    *,
    cache_control: str,
    hot: bool = True,
) -> web.Response:
    """Answer a read of the merged set: 304 without a query when the client is current, else the cached or a new body.

    ``render`` runs in a thread (it queries the database synchronously).
    The sequence is read before rendering, so a body is never older than
    the sequence it is cached under. ``hot``: the answer depends on nothing
    but the path, the query, the sequence and the variant, so that the
    next such request may get it again without running the handler
    (kisync.web.hot).
    """
    ctx = context(request)
    seq = await ctx.seq.current()
    etag = make_etag(seq, request.path, canonical, ctx.salt)
    key = (request.path, canonical, seq)
    if etag_matches(request.headers.get("If-None-Match"), etag):
        cached = ctx.cache.get(key)
        if cached is not None and hot:
            # Only with the entry: without it this 304 lacks the Last-Modified the next one has.
            request[hot_answers.MARK] = (key, etag)
        return not_modified(etag, cache_control, cached.last_modified if cached else None)

    async def rendered() -> Rendered:
        entry = await asyncio.to_thread(render)
        # Last-Modified: the later of the newest `modified` in the result and the moment this
        # process saw the store change. An item relayed late keeps its old `modified`, and
        # If-Modified-Since must not miss it. Never later than now (RFC 9110 §8.8.2.1),
        # though a `modified` may be up to a day ahead.
        entry.last_modified = min(newest(entry.last_modified, ctx.seq.changed_at), datetime.now(UTC))
        return entry

    entry = await ctx.cache.get_or_render(key, rendered)
    response = await send(request, entry, etag=etag, cache_control=cache_control, cache=ctx.cache, key=key)
    if hot:
        request[hot_answers.MARK] = (key, etag)
    return response


async def serve_fresh(
    request: web.Request, entry: Rendered, *, cache_control: str = API_CACHE, etag_basis: bytes | None = None
) -> web.Response:
    """Answer a body that does not follow the change sequence, with an ETag of its content.

    ``etag_basis`` stands in for the body when the body carries a time of
    its own (OPML's dateCreated) that would change the ETag on every request.
    """
    return await send(request, entry, etag=content_etag(etag_basis or entry.body), cache_control=cache_control)
