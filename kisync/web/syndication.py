"""Feeds of the merged set (RSS, Atom, JSON Feed) and the source list as OPML."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime

from aiohttp import web

from kisync.config import is_local_path
from kisync.logs import safe_url
from kisync.model import Item
from kisync.opml import render_opml
from kisync.vocab import FieldOfAction, Kind, audience_label, programme_label
from kisync.web import query as q
from kisync.web.caching import Rendered
from kisync.web.context import WebContext, context
from kisync.web.feeds import atom, jsonfeed, rss
from kisync.web.feeds.common import FeedMeta
from kisync.web.params import ItemFilter, ItemQuery, parse_feed_query, parse_no_params
from kisync.web.public import publish_json
from kisync.web.respond import FEED_CACHE, newest, serve_cached, serve_fresh

Renderer = Callable[[FeedMeta, Sequence[Item]], bytes]
FORMATS: dict[str, tuple[Renderer, str]] = {
    "rss": (rss.render_rss, rss.MEDIA_TYPE),
    "atom": (atom.render_atom, atom.MEDIA_TYPE),
    "json": (jsonfeed.render_jsonfeed, jsonfeed.MEDIA_TYPE),
}
OPML_MEDIA_TYPE = "text/x-opml; charset=utf-8"


def describe_filter(flt: ItemFilter) -> str:
    """The filter in German, for the feed's title: subscribers tell their filtered feeds apart by it."""
    parts = []
    if flt.fields:
        parts.append("Handlungsfeld: " + ", ".join(FieldOfAction(f).label for f in flt.fields))
    if flt.centres:
        parts.append("Zentrum: " + ", ".join(flt.centres))
    if flt.kinds:
        parts.append("Art: " + ", ".join(Kind(k).label for k in flt.kinds))
    if flt.audiences:
        parts.append("Zielgruppe: " + ", ".join(audience_label(a) for a in flt.audiences))
    if flt.programmes:
        parts.append("Programm: " + ", ".join(programme_label(p) for p in flt.programmes))
    if flt.tags:
        parts.append("Schlagwort: " + ", ".join(flt.tags))
    if flt.langs:
        parts.append("Sprache: " + ", ".join(flt.langs))
    if flt.q:
        parts.append(f"Suche: „{flt.q}“")
    return "; ".join(parts)


def feed_meta(ctx: WebContext, path: str, query: ItemQuery, updated: datetime) -> FeedMeta:
    title = f"{ctx.settings.node.name}: Projekte der Kommunalen Integrationszentren"
    described = describe_filter(query.filter)
    if described:
        title += f" ({described})"
    return FeedMeta(
        title=title,
        description="Projekte, gute Praxis, Veranstaltungen und Meldungen der Kommunalen Integrationszentren in NRW, "
        f"zusammengeführt von {ctx.settings.node.name}.",
        self_url=ctx.url(path, query.canonical),
        home_url=ctx.url("/"),
        api_base=ctx.base_url,
        updated=updated,
        author=ctx.settings.node.name,
    )


def _feed_handler(name: str):
    render_feed, media_type = FORMATS[name]

    async def handler(request: web.Request) -> web.Response:
        ctx = context(request)
        query = parse_feed_query(request.query)
        path = request.path

        def render() -> Rendered:
            assert query.limit is not None
            with ctx.engine.connect() as conn:
                rows = list(q.stream_items(conn, query.filter, limit=query.limit))
                # One entry per report: the same page reported by several feeds (kisync.store.reports).
                published = q.collapse_reports(conn, [publish_json(row.data, ctx.publication) for row in rows])
            items = [Item.model_validate(item) for item in published]
            latest = newest(*(row.modified for row in rows))
            meta = feed_meta(ctx, path, query, latest or ctx.seq.changed_at)
            return Rendered(render_feed(meta, items), media_type, latest)

        return await serve_cached(request, query.canonical, render, cache_control=FEED_CACHE)

    handler.__name__ = f"feed_{name}"
    handler.__doc__ = f"The merged set of live items as a {name} feed, newest first."
    return handler


feed_rss = _feed_handler("rss")
feed_atom = _feed_handler("atom")
feed_json = _feed_handler("json")


async def sources_opml(request: web.Request) -> web.Response:
    """The sources as OPML 2.0, for feed readers and other nodes; without credentials in URLs."""
    ctx = context(request)
    parse_no_params(request.query)
    listed = await asyncio.to_thread(ctx.sources.list)
    # Local file sources are of no use to a reader elsewhere, and their paths are the server's business.
    public = [replace(source, url=safe_url(source.url)) for source in listed if not is_local_path(source.url)]
    body = render_opml(public, title=f"{ctx.settings.node.name}: Quellen")
    basis = repr([(s.id, s.url, s.format, s.centre, s.relay, s.enabled, s.interval) for s in public]).encode()
    return await serve_fresh(request, Rendered(body, OPML_MEDIA_TYPE), cache_control=FEED_CACHE, etag_basis=basis)
