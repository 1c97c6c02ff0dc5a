"""Read queries of the web side, in sets (STYLE.md, convention 6).

Filters are indexed lookups: facets through the ``item_facet`` primary key
(facet, value, item_id), centres through ``ix_item_origin_seq``, full text
through FTS5 (SQLite) or the GIN-indexed ``item.search`` tsvector
(PostgreSQL). Lists page by keyset on ``(modified, id)`` newest first,
which ``ix_item_modified_id`` serves in index order: no OFFSET.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from kisync.store.reports import Report, also_reported_by, collapse, report_key
from kisync.store.tables import PURGED_SEQ, CounterRow, ItemFacetRow, ItemRow
from kisync.web.params import Cursor, ItemFilter

_ITEM = ItemRow.__table__
_FACET = ItemFacetRow.__table__
_COUNTER = CounterRow.__table__

_WORD = re.compile(r"\w+")
# More words than this make a slow query and no better answer.
_MAX_WORDS = 16
# Rows fetched per round trip when a whole set is streamed (snapshot, CSV).
STREAM_CHUNK = 1000


@dataclass(frozen=True)
class ItemRowData:
    id: str
    modified: datetime
    data: str


@dataclass(frozen=True)
class Page:
    rows: list[ItemRowData]
    next: Cursor | None


def fts5_query(text: str) -> str:
    """User text as an FTS5 query that cannot be a syntax error.

    Every word becomes a quoted string (FTS5 syntax inside quotes is just
    text) with a prefix star, so ``Schul`` finds ``Schule``; the words are
    ANDed. ``\\w`` never matches a double quote, so no escaping is needed.
    """
    words = _WORD.findall(text)[:_MAX_WORDS]
    return " ".join(f'"{word}"*' for word in words)


def _conditions(flt: ItemFilter, dialect: str, *, include_tombstones: bool) -> list:
    conds: list = []
    if not include_tombstones:
        conds.append(_ITEM.c.deleted.is_(False))
    for facet, values in flt.facets():
        if values:
            conds.append(
                _ITEM.c.id.in_(sa.select(_FACET.c.item_id).where(_FACET.c.facet == facet, _FACET.c.value.in_(values)))
            )
    if flt.centres:
        conds.append(_ITEM.c.origin_id.in_(flt.centres))
    if flt.kinds:
        conds.append(_ITEM.c.kind.in_(flt.kinds))
    if flt.langs:
        # `de` also finds `de-AT`: a language range, as in Accept-Language.
        language = sa.func.lower(_ITEM.c.language)
        conds.append(sa.or_(*[sa.or_(language == lang, language.like(f"{lang}-%")) for lang in flt.langs]))
    if flt.q:
        if dialect == "postgresql":
            # websearch_to_tsquery accepts any input (quotes, OR, -word) without a syntax error.
            conds.append(sa.text("item.search @@ websearch_to_tsquery('german', :q)").bindparams(q=flt.q))
        else:
            matches = sa.text("SELECT item_id FROM item_fts WHERE item_fts MATCH :q").bindparams(q=fts5_query(flt.q))
            conds.append(_ITEM.c.id.in_(matches.columns(sa.column("item_id"))))
    if flt.modified_since is not None:
        conds.append(_ITEM.c.modified >= flt.modified_since)
    if flt.modified_until is not None:
        conds.append(_ITEM.c.modified <= flt.modified_until)
    return conds


def _newest_first(query: sa.Select, after: Cursor | None) -> sa.Select:
    if after is not None:
        query = query.where(
            sa.or_(
                _ITEM.c.modified < after.modified,
                sa.and_(_ITEM.c.modified == after.modified, _ITEM.c.id < after.id),
            )
        )
    return query.order_by(_ITEM.c.modified.desc(), _ITEM.c.id.desc())


def select_items(flt: ItemFilter, dialect: str, *, include_tombstones: bool = False, after: Cursor | None = None) -> sa.Select:
    query = sa.select(_ITEM.c.id, _ITEM.c.modified, _ITEM.c.data)
    conds = _conditions(flt, dialect, include_tombstones=include_tombstones)
    if conds:
        query = query.where(*conds)
    return _newest_first(query, after)


def read_page(engine: Engine, flt: ItemFilter, limit: int, *, include_tombstones: bool, after: Cursor | None) -> Page:
    """One page, newest first, and the cursor of the next when there is one."""
    query = select_items(flt, engine.dialect.name, include_tombstones=include_tombstones, after=after).limit(limit + 1)
    with engine.connect() as conn:
        rows = [ItemRowData(r.id, r.modified, r.data) for r in conn.execute(query)]
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, Cursor(rows[-1].modified, rows[-1].id) if more and rows else None)


def stream_items(
    conn: Connection, flt: ItemFilter, *, limit: int | None = None, after: Cursor | None = None
) -> Iterator[ItemRowData]:
    """Live items newest first in one statement, fetched in chunks (one consistent read)."""
    query = select_items(flt, conn.dialect.name, after=after)
    if limit is not None:
        query = query.limit(limit)
    result = conn.execution_options(yield_per=STREAM_CHUNK).execute(query)
    for row in result:
        yield ItemRowData(row.id, row.modified, row.data)


def stream_snapshot(conn: Connection, origin: str | None) -> Iterator[tuple[str, datetime]]:
    """``(data, modified)`` of every live item (of one origin), by id, in one statement."""
    query = sa.select(_ITEM.c.data, _ITEM.c.modified).where(_ITEM.c.deleted.is_(False))
    if origin is not None:
        query = query.where(_ITEM.c.origin_id == origin)
    result = conn.execution_options(yield_per=STREAM_CHUNK).execute(query.order_by(_ITEM.c.id))
    for row in result:
        yield row.data, row.modified


def read_item(engine: Engine, item_id: str) -> ItemRowData | None:
    query = sa.select(_ITEM.c.id, _ITEM.c.modified, _ITEM.c.data).where(_ITEM.c.id == item_id)
    with engine.connect() as conn:
        row = conn.execute(query).first()
    return None if row is None else ItemRowData(row.id, row.modified, row.data)


def read_changes(engine: Engine, since: int, limit: int, origin: str | None) -> tuple[list[tuple[int, str, datetime]], int]:
    """A page of the changes feed and the purged sequence, read after it.

    Purging only raises ``purged_seq``: read after the page, it tells for
    sure whether a tombstone the page should have had was gone already.
    """
    query = sa.select(_ITEM.c.seq, _ITEM.c.data, _ITEM.c.modified).where(_ITEM.c.seq > since)
    if origin is not None:
        query = query.where(_ITEM.c.origin_id == origin)
    query = query.order_by(_ITEM.c.seq).limit(limit)
    with engine.connect() as conn:
        rows = [(int(r.seq), r.data, r.modified) for r in conn.execute(query)]
        purged = conn.execute(sa.select(_COUNTER.c.value).where(_COUNTER.c.name == PURGED_SEQ)).scalar()
    return rows, int(purged or 0)


# -- also reported by ------------------------------------------------------------

# The served extension that lists the other items of the same report (kisync.store.reports).
# Never part of the changes feed or the snapshot: peers derive the links from their own store.
ALSO_REPORTED_BY = "_also_reported_by"
_CHUNK = 500


def report_of(item: dict[str, Any]) -> Report | None:
    """The item (exchange JSON, as served) as the "also reported by" rule sees it; None for a tombstone."""
    if item.get("deleted"):
        return None
    origin = (item.get("origin") or {}).get("id", "")
    return Report(item["id"], origin, datetime.fromisoformat(item["created"]), report_key(item.get("url")))


def read_report_groups(conn: Connection, keys: Iterable[str]) -> dict[str, list[Report]]:
    """Every live item of each key, through ``ix_item_report_key``."""
    unique = sorted(set(keys))
    groups: dict[str, list[Report]] = {}
    query = sa.select(_ITEM.c.id, _ITEM.c.origin_id, _ITEM.c.created, _ITEM.c.report_key).where(
        _ITEM.c.deleted.is_(False)
    )
    for start in range(0, len(unique), _CHUNK):
        for row in conn.execute(query.where(_ITEM.c.report_key.in_(unique[start : start + _CHUNK]))):
            groups.setdefault(row.report_key, []).append(Report(row.id, row.origin_id, row.created, row.report_key))
    return groups


def add_also_reported_by(conn: Connection, items: list[dict[str, Any]]) -> None:
    """Give each served item the other items of its report (the items API keeps every id)."""
    reports = [(item, report_of(item)) for item in items]
    groups = read_report_groups(conn, [r.key for _, r in reports if r is not None and r.key])
    for item, report in reports:
        if report is None or not report.key:
            continue
        linked = also_reported_by(report, groups.get(report.key, ()))
        if linked:
            item[ALSO_REPORTED_BY] = [r.link() for r in linked]


def collapse_reports(conn: Connection, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A feed's items, one entry per report, each with the others of its report (feeds, not federation)."""
    reports = [r for r in (report_of(item) for item in items) if r is not None]
    groups = read_report_groups(conn, [r.key for r in reports if r.key])
    result = collapse(reports, groups)
    hidden = {r.id for r in reports} - set(result.shown)
    out = []
    for item in items:
        if item["id"] in hidden:
            continue
        linked = result.also.get(item["id"])
        if linked:
            item[ALSO_REPORTED_BY] = [r.link() for r in linked]
        out.append(item)
    return out


# -- counts --------------------------------------------------------------------


def live_counts_by_origin(conn: Connection) -> dict[str, int]:
    query = (
        sa.select(_ITEM.c.origin_id, sa.func.count())
        .where(_ITEM.c.deleted.is_(False))
        .group_by(_ITEM.c.origin_id)
    )
    return {origin: int(n) for origin, n in conn.execute(query)}


def live_counts_by_kind(conn: Connection) -> dict[str, int]:
    query = sa.select(_ITEM.c.kind, sa.func.count()).where(_ITEM.c.deleted.is_(False)).group_by(_ITEM.c.kind)
    return {kind: int(n) for kind, n in conn.execute(query)}


def tombstone_count(conn: Connection) -> int:
    return int(conn.execute(sa.select(sa.func.count()).where(_ITEM.c.deleted.is_(True))).scalar_one())


def facet_counts(conn: Connection, facet: str) -> dict[str, int]:
    """Live items per value of one facet: the facet table holds live items only."""
    query = (
        sa.select(_FACET.c.value, sa.func.count())
        .where(_FACET.c.facet == facet)
        .group_by(_FACET.c.value)
    )
    return {value: int(n) for value, n in conn.execute(query)}
