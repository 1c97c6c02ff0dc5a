"""The read API under /api/v1: items, changes, snapshot, centres, sources, stats, CSV."""

from __future__ import annotations

import asyncio

from aiohttp import web

from kisync.centres import centre_for, registry
from kisync.logs import safe_url
from kisync.model import Item
from kisync.sources import Source
from kisync.vocab import AUDIENCES, PROGRAMMES, FieldOfAction, Kind
from kisync.web import query as q
from kisync.web.caching import Rendered, read_counters
from kisync.web.context import WebContext, context
from kisync.web.csvexport import FILENAME, render_csv
from kisync.web.csvexport import MEDIA_TYPE as CSV_MEDIA_TYPE
from kisync.web.errors import NotFound, ResyncRequired
from kisync.web.exchange import dump, links, node_publisher, render_document
from kisync.web.models import CentreEntry, CentreList, CountEntry, SourceCounts, SourceList, SourceStatus, Stats
from kisync.web.params import (
    changes_canonical,
    parse_changes_query,
    parse_list_query,
    parse_no_params,
    parse_snapshot_query,
)
from kisync.web.public import publish_json
from kisync.web.respond import API_CACHE, JSON, model_rendered, newest, serve_cached, serve_fresh

# -- items ---------------------------------------------------------------------


async def list_items(request: web.Request) -> web.Response:
    """Live items newest first; with ``modified_since`` tombstones too (OParl 1.1 §2.8, "modified_since")."""
    ctx = context(request)
    query = parse_list_query(request.query)
    include_tombstones = query.filter.modified_since is not None
    path = request.path

    def render() -> Rendered:
        assert query.limit is not None
        page = q.read_page(ctx.engine, query.filter, query.limit, include_tombstones=include_tombstones, after=query.cursor)
        published = [publish_json(row.data, ctx.publication) for row in page.rows]
        with ctx.engine.connect() as conn:
            q.add_also_reported_by(conn, published)
        items = [dump(item) for item in published]
        next_url = ctx.url(path, query.canonical_at(page.next)) if page.next else None
        body = render_document(
            publisher=node_publisher(ctx),
            items=items,
            links=links(ctx.url(path, query.canonical), next_url),
            extensions={"_pagination": {"limit": query.limit, "next_cursor": page.next.encode() if page.next else None}},
        )
        return Rendered(body, JSON, newest(*(row.modified for row in page.rows)))

    return await serve_cached(request, query.canonical, render, cache_control=API_CACHE)


async def get_item(request: web.Request) -> web.Response:
    """One item (or its tombstone) by id; the id is a URI, percent-encoded in the path."""
    ctx = context(request)
    parse_no_params(request.query)
    item_id = request.match_info["id"]

    def render() -> Rendered:
        row = q.read_item(ctx.engine, item_id)
        if row is None:
            raise NotFound(f"no item {item_id!r}", details={"id": item_id})
        item = publish_json(row.data, ctx.publication)
        with ctx.engine.connect() as conn:
            q.add_also_reported_by(conn, [item])
        return Rendered(dump(item).encode(), JSON, row.modified)

    return await serve_cached(request, "", render, cache_control=API_CACHE)


# -- exchange ------------------------------------------------------------------


async def changes(request: web.Request) -> web.Response:
    """Every change after ``since`` in the order of the local change sequence (DESIGN.md, changes feed)."""
    ctx = context(request)
    query = parse_changes_query(request.query)
    # A purge does not move the change sequence, so a cached page cannot
    # know of it: read the counters fresh (one row lookup) before any cache.
    if query.since > 0:
        await ctx.seq.refresh()
    _check_resync(ctx, query.since, ctx.seq.purged, query.origin)
    path = request.path

    def render() -> Rendered:
        rows, purged = q.read_changes(ctx.engine, query.since, query.limit, query.origin)
        _check_resync(ctx, query.since, purged, query.origin)
        cursor = rows[-1][0] if rows else query.since
        # A full page: more may follow. A short one: the client is current.
        next_url = ctx.url(path, changes_canonical(cursor, query.limit, query.origin)) if len(rows) == query.limit else None
        body = render_document(
            publisher=node_publisher(ctx),
            items=(dump(publish_json(data, ctx.publication)) for _, data, _ in rows),
            links=links(ctx.url(path, query.canonical), next_url),
            cursor=str(cursor),
        )
        return Rendered(body, JSON, newest(*(modified for _, _, modified in rows)))

    # After a cursor every request checks the purges (above): never answered without the handler.
    return await serve_cached(request, query.canonical, render, cache_control=API_CACHE, hot=query.since == 0)


def _check_resync(ctx: WebContext, since: int, purged: int, origin: str | None) -> None:
    if 0 < since < purged:
        snapshot = ctx.url("/api/v1/snapshot", f"origin={origin}" if origin else "")
        raise ResyncRequired(
            f"tombstones after change {since} were purged (up to change {purged}): "
            "fetch the snapshot, then follow the changes from its cursor",
            details={"since": since, "purged_seq": purged, "snapshot": snapshot},
        )


async def snapshot(request: web.Request) -> web.Response:
    """Every live item (of one origin) in one complete exchange document."""
    ctx = context(request)
    origin, canonical = parse_snapshot_query(request.query)
    path = request.path

    def render() -> Rendered:
        items: list[str] = []
        latest, latest_origin = None, None
        # Read before the items: following the changes from here may repeat
        # a version the snapshot has (harmless), but never miss one.
        seq, _ = read_counters(ctx.engine)
        with ctx.engine.connect() as conn:
            for data, modified in q.stream_snapshot(conn, origin):
                item = publish_json(data, ctx.publication)
                items.append(dump(item))
                if latest is None or modified > latest:
                    latest, latest_origin = modified, item["origin"]
        publisher = node_publisher(ctx)
        if origin is not None:
            # The origin's own complete snapshot (an importer may sweep that origin's items by it),
            # published under the origin's newest description of itself.
            publisher = dict(latest_origin) if latest_origin else centre_for(origin).model_dump(mode="json", exclude_none=True)
        body = render_document(
            publisher=publisher, items=items, complete=True, links=links(ctx.url(path, canonical)), cursor=str(seq)
        )
        return Rendered(body, JSON, latest)

    return await serve_cached(request, canonical, render, cache_control=API_CACHE)


# -- centres, sources, stats ---------------------------------------------------


async def centres(request: web.Request) -> web.Response:
    """The registry of the centres of NRW with their live items; other origins after it."""
    ctx = context(request)
    parse_no_params(request.query)

    def render() -> Rendered:
        with ctx.engine.connect() as conn:
            counts = q.live_counts_by_origin(conn)
        known = registry()
        data = [
            CentreEntry(
                id=e.id, name=f"KI {e.name}", key=e.key, kind=e.kind, region=e.region, registered=True, items=counts.get(e.id, 0)
            )
            for e in known.values()
        ]
        data += [CentreEntry(id=o, name=o, registered=False, items=n) for o, n in sorted(counts.items()) if o not in known]
        return model_rendered(CentreList(data=data))

    return await serve_cached(request, "", render, cache_control=API_CACHE)


def source_status(source: Source) -> SourceStatus:
    if not source.enabled:
        status = "disabled"
    elif source.on_hold:
        status = "on_hold"
    elif source.consecutive_failures:
        status = "failing"
    elif source.last_attempt is None:
        status = "never_fetched"
    else:
        status = "ok"
    return SourceStatus(
        id=source.id,
        url=safe_url(source.url),
        format=source.format,
        centre=source.centre,
        relay=source.relay,
        enabled=source.enabled,
        disabled_by=source.disabled_by,
        managed_by=source.managed_by,
        interval=source.interval,
        status=status,
        healthy=source.healthy,
        last_attempt=source.last_attempt,
        last_success=source.last_success,
        http_status=source.http_status,
        error=source.error,
        consecutive_failures=source.consecutive_failures,
        next_due=source.next_due,
        counts=SourceCounts(seen=source.seen, new=source.new, updated=source.updated, deleted=source.deleted),
        warnings=source.warnings,
        on_hold=source.on_hold,
    )


async def sources(request: web.Request) -> web.Response:
    """State and health of every source. Source state does not move the change sequence: ETag by content."""
    ctx = context(request)
    parse_no_params(request.query)
    listed = await asyncio.to_thread(ctx.sources.list)
    return await serve_fresh(request, model_rendered(SourceList(data=[source_status(s) for s in listed])))


def _entries(counts: dict[str, int], labels: dict[str, str], *, all_codes: bool = False) -> list[CountEntry]:
    codes = set(counts) | (set(labels) if all_codes else set())
    entries = [CountEntry(code=c, label=labels.get(c, c), count=counts.get(c, 0)) for c in codes]
    return sorted(entries, key=lambda e: (-e.count, e.code))


async def stats(request: web.Request) -> web.Response:
    ctx = context(request)
    parse_no_params(request.query)
    seq = await ctx.seq.current()

    def render() -> Rendered:
        with ctx.engine.connect() as conn:
            by_origin = q.live_counts_by_origin(conn)
            by_kind = q.live_counts_by_kind(conn)
            deleted = q.tombstone_count(conn)
            by_field = q.facet_counts(conn, "field")
            by_programme = q.facet_counts(conn, "programme")
            by_audience = q.facet_counts(conn, "audience")
        centre_labels = {c: f"KI {e.name}" for c, e in registry().items()}
        result = Stats(
            total=sum(by_kind.values()),
            deleted=deleted,
            change_seq=seq,
            by_field=_entries(by_field, {f.value: f.label for f in FieldOfAction}, all_codes=True),
            by_centre=_entries(by_origin, centre_labels),
            by_kind=_entries(by_kind, {k.value: k.label for k in Kind}, all_codes=True),
            by_programme=_entries(by_programme, PROGRAMMES),
            by_audience=_entries(by_audience, AUDIENCES),
        )
        return model_rendered(result)

    return await serve_cached(request, "", render, cache_control=API_CACHE)


# -- CSV -----------------------------------------------------------------------


async def items_csv(request: web.Request) -> web.Response:
    """The filtered live items as CSV; all of them unless ``limit`` is given."""
    ctx = context(request)
    query = parse_list_query(request.query, default_limit=None)

    def render() -> Rendered:
        items: list[Item] = []
        latest = None
        with ctx.engine.connect() as conn:
            for row in q.stream_items(conn, query.filter, limit=query.limit, after=query.cursor):
                items.append(Item.model_validate(publish_json(row.data, ctx.publication)))
                latest = newest(latest, row.modified)
        body = render_csv(items, personal=ctx.publication.publish_contacts)
        return Rendered(body, CSV_MEDIA_TYPE, latest, {"Content-Disposition": f'attachment; filename="{FILENAME}"'})

    return await serve_cached(request, query.canonical, render, cache_control=API_CACHE)

