"""The handlers of the HTML pages: /, /items/{id}, /zentren, /statistik, and the stylesheet.

Reads go through the API's code: parameters through kisync.web.params,
items through kisync.web.query, every item through publish_json (privacy
and ``via``), bodies through the render cache keyed by the change
sequence. What differs is the answer to a mistake: a German page with the
status (frame.py), not the JSON error body.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from markupsafe import Markup
from multidict import MultiDict, MultiMapping

from kisync.centres import registry
from kisync.config import is_local_path
from kisync.logs import safe_url
from kisync.model import Item
from kisync.sources import Source
from kisync.store.repository import Store
from kisync.vocab import FieldOfAction, Kind
from kisync.web import query as q
from kisync.web.caching import Rendered
from kisync.web.context import WebContext, context
from kisync.web.errors import InvalidParameter, NotFound
from kisync.web.html import templates
from kisync.web.html.charts import bar_chart
from kisync.web.html.content import display_html
from kisync.web.html.frame import HTML, PAGE_CACHE, STATIC_CACHE, Gone, cache_key, german_problem, page, site
from kisync.web.html.health import Health, health
from kisync.web.html.reads import count_items, filter_choices
from kisync.web.html.views import centre_name, language_name
from kisync.web.params import ItemFilter, ItemQuery, canonical_query, check_known, filter_pairs, parse_list_query
from kisync.web.public import publish_json
from kisync.web.respond import newest, serve_cached, serve_fresh
from kisync.web.syndication import describe_filter

PAGE_SIZE = 20

# -- the list of items -------------------------------------------------------------


@dataclass(frozen=True)
class FeedLink:
    label: str
    media_type: str
    href: str


def filter_query(flt: ItemFilter) -> str:
    """The filter alone as a query string, as the feeds and the CSV take it (no page, no limit)."""
    return canonical_query(filter_pairs(flt, time_range=False))


def feed_links(flt: ItemFilter) -> list[FeedLink]:
    query = filter_query(flt)
    suffix = f"?{query}" if query else ""
    return [
        FeedLink("RSS-Feed", "application/rss+xml", f"/feed.rss{suffix}"),
        FeedLink("Atom-Feed", "application/atom+xml", f"/feed.atom{suffix}"),
        FeedLink("JSON Feed", "application/feed+json", f"/feed.json{suffix}"),
        FeedLink("CSV-Tabelle", "text/csv", f"/api/v1/items.csv{suffix}"),
    ]


def form_query(query: MultiMapping[str]) -> MultiDict[str]:
    """The query without the empty values a form sends for "alle" (``?field=&q=``): they filter nothing."""
    return MultiDict((name, value) for name, value in query.items() if value.strip())


def describe(flt: ItemFilter) -> str:
    """The filter in German for people: names where the feeds' titles (describe_filter) have codes."""
    readable = replace(flt, centres=(), langs=())
    parts = [describe_filter(readable)] if not readable.empty else []
    if flt.centres:
        parts.append("Zentrum: " + ", ".join(centre_name(c) for c in flt.centres))
    if flt.langs:
        parts.append("Sprache: " + ", ".join(language_name(lang) for lang in flt.langs))
    return "; ".join(parts)


@page
async def overview(request: web.Request) -> web.StreamResponse:
    """Live items newest first, filtered by the form; keyset pages as in the API."""
    ctx = context(request)
    try:
        query = parse_list_query(form_query(request.query), default_limit=PAGE_SIZE)
    except InvalidParameter as error:
        body = await asyncio.to_thread(_render_filter_error, ctx, german_problem(error))
        return web.Response(body=body, status=400, headers={"Content-Type": HTML, "Cache-Control": "no-store"})
    return await serve_cached(request, cache_key(query.canonical), lambda: _render_overview(ctx, query), cache_control=PAGE_CACHE)


def _overview_page(ctx: WebContext, flt: ItemFilter, **page_context: Any) -> bytes:
    with ctx.engine.connect() as conn:
        choices = filter_choices(conn, flt)
    return templates.render_page(
        "overview.html",
        site=site(ctx, "overview"),
        filter=flt,
        choices=choices,
        described=describe(flt),
        feeds=feed_links(flt),
        **page_context,
    )


def _render_overview(ctx: WebContext, query: ItemQuery) -> Rendered:
    flt = query.filter
    assert query.limit is not None
    with ctx.engine.connect() as conn:
        total = count_items(conn, flt)
    result = q.read_page(ctx.engine, flt, query.limit, include_tombstones=False, after=query.cursor)
    first = filter_query(flt)
    body = _overview_page(
        ctx,
        flt,
        items=[Item.model_validate(publish_json(row.data, ctx.publication)) for row in result.rows],
        total=total,
        next_href="/?" + query.canonical_at(result.next) if result.next else None,
        first_href=(f"/?{first}" if first else "/") if query.cursor else None,
        error=None,
    )
    return Rendered(body, HTML, newest(*(row.modified for row in result.rows)))


def _render_filter_error(ctx: WebContext, error: str) -> bytes:
    """The form again, unfiltered, with what was wrong: a person corrects the choice and tries again."""
    return _overview_page(ctx, ItemFilter(), items=[], total=0, next_href=None, first_href=None, error=error)


# -- one item ----------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """One source that delivered the item (provenance)."""

    source_id: str
    centre: str | None
    first_seen: datetime
    last_seen: datetime
    reported_modified: datetime


def _deliveries(ctx: WebContext, item_id: str) -> list[Delivery]:
    centres = {s.id: s.centre for s in ctx.sources.list()}
    return [
        Delivery(
            row["source_id"],
            centre_name(centres[row["source_id"]]) if centres.get(row["source_id"]) else None,
            row["first_seen"],
            row["last_seen"],
            row["reported_modified"],
        )
        for row in Store(ctx.engine).provenance(item_id)
    ]


@page
async def item_page(request: web.Request) -> web.StreamResponse:
    """One item: its content, contact (as privacy allows), links, attachments and provenance."""
    ctx = context(request)
    check_known(request.query, ())
    item_id = request.match_info["id"]

    def render() -> Rendered:
        row = q.read_item(ctx.engine, item_id)
        if row is None:
            raise NotFound(f"no item {item_id!r}")
        data = publish_json(row.data, ctx.publication)
        if data.get("deleted"):
            by = data["origin"]["name"]
            raise Gone(f"item {item_id!r} was deleted", page_message=f"Dieser Eintrag wurde von {by} gelöscht.")
        item = Item.model_validate(data)
        route = [item.origin.id, *[c for c in item.via if c != item.origin.id]]
        body = templates.render_page(
            "item.html",
            site=site(ctx, None),
            item=item,
            # The one place markup from a feed goes into a page: rebuilt from the allowlist (content.py).
            content=Markup(display_html(item.content_html)),  # noqa: S704
            route=route,
            deliveries=_deliveries(ctx, item_id),
            publish_contacts=ctx.publication.publish_contacts,
        )
        return Rendered(body, HTML, row.modified)

    return await serve_cached(request, cache_key(""), render, cache_control=PAGE_CACHE)


# -- centres and sources -----------------------------------------------------------


@dataclass
class SourceView:
    source: Source
    health: Health
    url: str | None  # None for a local file: its path is the server's business
    centre_name: str | None
    due_now: bool


@dataclass
class CentreView:
    id: str
    name: str
    items: int
    sources: list[SourceView] = field(default_factory=list)


def _source_view(source: Source, now: datetime) -> SourceView:
    return SourceView(
        source=source,
        health=health(source),
        url=None if is_local_path(source.url) else safe_url(source.url),
        centre_name=centre_name(source.centre) if source.centre else None,
        due_now=source.next_due is not None and source.next_due <= now,
    )


def _render_centres(ctx: WebContext) -> bytes:
    now = datetime.now(UTC)
    listed = [_source_view(s, now) for s in ctx.sources.list()]
    with ctx.engine.connect() as conn:
        counts = q.live_counts_by_origin(conn)
    known = registry()
    centres: dict[str, CentreView] = {
        entry.id: CentreView(entry.id, f"KI {entry.name}", counts.get(entry.id, 0)) for entry in known.values()
    }
    for origin, n in counts.items():
        centres.setdefault(origin, CentreView(origin, origin, n))
    relays: list[SourceView] = []
    for view in listed:
        if view.source.centre:
            centres.setdefault(view.source.centre, CentreView(view.source.centre, view.source.centre, 0))
            centres[view.source.centre].sources.append(view)
        else:
            relays.append(view)
    active = sorted((c for c in centres.values() if c.items or c.sources), key=lambda c: c.name.casefold())
    quiet = sorted((c for c in centres.values() if not c.items and not c.sources), key=lambda c: c.name.casefold())
    return templates.render_page(
        "centres.html",
        site=site(ctx, "centres"),
        active=active,
        quiet=quiet,
        # Trouble first: that is what a reader of this page is looking for.
        sources=sorted(listed, key=lambda v: (v.health.code not in ("failing", "on_hold"), v.source.id)),
        unassigned=relays,
        failing=sum(1 for v in listed if v.health.code in ("failing", "on_hold")),
    )


@page
async def centres_page(request: web.Request) -> web.StreamResponse:
    """The centres with their items and sources, and each source's health. Source state does not follow the change
    sequence: an ETag of the content, as /api/v1/sources has."""
    ctx = context(request)
    check_known(request.query, ())
    body = await asyncio.to_thread(_render_centres, ctx)
    return await serve_fresh(request, Rendered(body, HTML), cache_control=PAGE_CACHE)


# -- statistics --------------------------------------------------------------------


@page
async def stats_page(request: web.Request) -> web.StreamResponse:
    """Counts per field of action and per centre: tables, and the same numbers as SVG bar charts."""
    ctx = context(request)
    check_known(request.query, ())

    def render() -> Rendered:
        with ctx.engine.connect() as conn:
            by_field = q.facet_counts(conn, "field")
            by_origin = q.live_counts_by_origin(conn)
            by_kind = q.live_counts_by_kind(conn)
        fields = sorted(((f.label, by_field.get(f.value, 0), f.value) for f in FieldOfAction), key=lambda r: (-r[1], r[0]))
        centres = sorted(((centre_name(c), n, c) for c, n in by_origin.items()), key=lambda r: (-r[1], r[0].casefold()))
        kinds = sorted(((k.label, by_kind.get(k.value, 0), k.value) for k in Kind), key=lambda r: (-r[1], r[0]))
        body = templates.render_page(
            "stats.html",
            site=site(ctx, "stats"),
            total=sum(by_kind.values()),
            fields=fields,
            centres=centres,
            kinds=kinds,
            field_chart=bar_chart("handlungsfelder", "Einträge je Handlungsfeld", [(r[0], r[1]) for r in fields]),
            centre_chart=bar_chart("zentren", "Einträge je Zentrum", [(r[0], r[1]) for r in centres]),
        )
        return Rendered(body, HTML)

    return await serve_cached(request, cache_key(""), render, cache_control=PAGE_CACHE)


# -- the stylesheet ----------------------------------------------------------------


async def stylesheet(request: web.Request) -> web.StreamResponse:
    """The pages' one stylesheet; its URL carries its version (``?v=``), so it may be kept for a year."""
    check_known(request.query, ("v",))
    fresh = request.query.get("v") == templates.STYLESHEET_VERSION
    entry = Rendered(templates.STYLESHEET, "text/css; charset=utf-8")
    return await serve_fresh(request, entry, cache_control=STATIC_CACHE if fresh else PAGE_CACHE)
