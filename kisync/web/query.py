"""Read queries of the web side, in sets (STYLE.md, convention 6).

Filters are indexed lookups: facets through the ``item_facet`` primary key
(facet, value, modified, item_id), full text through FTS5 (SQLite) or the GIN-indexed
``item.search`` tsvector (PostgreSQL). Lists page by keyset on
``(modified, id)`` newest first: no OFFSET. A page filtered by a centre or
a facet reads its composite index (``ix_item_origin_modified``,
the primary key of ``item_facet``) in that order (``select_newest``), any
other page ``ix_item_modified_id``, so a page costs the same at any store size.
A search on SQLite does the same, or lists its few matches (kisync.web.fulltext).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.selectable import Join

from kisync.store.counts import KIND, ORIGIN, TOMBSTONES, read_counts
from kisync.store.reports import Report, also_reported_by, collapse, report_key
from kisync.store.tables import PURGED_SEQ, CounterRow, ItemFacetRow, ItemRow
from kisync.web.fulltext import Search, fts5_query, plan_search
from kisync.web.params import Cursor, ItemFilter

_ITEM = ItemRow.__table__
_FACET = ItemFacetRow.__table__
_COUNTER = CounterRow.__table__
_FTS = sa.table("item_fts", sa.column("rowid"))

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


def _matches(q: str, dialect: str, search: Search | None) -> sa.ColumnElement:
    if dialect == "postgresql":
        # websearch_to_tsquery accepts any input (quotes, OR, -word) without a syntax error.
        return sa.text("item.search @@ websearch_to_tsquery('german', :q)").bindparams(q=q)
    if search is None:
        # FTS rows are keyed by the item's seq (migration 0006): the matches probe item's seq index.
        matches = sa.text("SELECT rowid FROM item_fts WHERE item_fts MATCH :q").bindparams(q=fts5_query(q))
        return _ITEM.c.seq.in_(matches.columns(sa.column("rowid")))
    if search.walk:
        # Correlated: per row read, FTS5 answers a MATCH with a rowid by seeking each term's doclist.
        probe = "EXISTS (SELECT 1 FROM item_fts WHERE item_fts MATCH :match AND item_fts.rowid = item.seq)"
        return sa.text(probe).bindparams(match=search.match)
    # Listed: item_fts is joined to item (select_items).
    return sa.text("item_fts MATCH :match").bindparams(match=search.match)


def _lists(search: Search | None) -> bool:
    return search is not None and not search.walk


class _CrossJoin(Join):
    """``left CROSS JOIN right ON …``: SQLite keeps the left table the outer loop, whatever its statistics say."""

    inherit_cache = True


@compiles(_CrossJoin)
def _render_cross_join(join: _CrossJoin, compiler, **kw) -> str:
    left = join.left._compiler_dispatch(compiler, **{**kw, "asfrom": True})
    right = join.right._compiler_dispatch(compiler, **{**kw, "asfrom": True})
    return f"{left} CROSS JOIN {right} ON {join.onclause._compiler_dispatch(compiler, **kw)}"


def _conditions(
    flt: ItemFilter, dialect: str, *, include_tombstones: bool, without: str | None = None, search: Search | None = None
) -> list:
    """The filter's conditions on ``item``, except the ``modified`` range and the filter named ``without``."""
    conds: list = []
    if not include_tombstones:
        conds.append(_ITEM.c.deleted.is_(False))
    for facet, values in flt.facets():
        if values and facet != without:
            # Correlated, so it is a primary-key probe per row read: SQLite would
            # materialise an uncorrelated IN (subquery) with every match first.
            # The key is (facet, value, modified, item_id), and a facet row's
            # modified is its item's (the store rewrites them together).
            has = sa.and_(_FACET.c.modified == _ITEM.c.modified, _FACET.c.item_id == _ITEM.c.id)
            where = (_FACET.c.facet == facet, _FACET.c.value.in_(values), has)
            if dialect == "postgresql" and flt.q:
                # OFFSET 0 keeps it a probe per row a search finds: PostgreSQL would join the items
                # with every row of the value (a rare term and a field at 1M items: 91 ms, not 0.2).
                conds.append(sa.select(sa.literal(1)).where(*where).offset(0).exists())
            else:
                conds.append(sa.exists().where(*where))
    if flt.centres and without != "centre":
        conds.append(_ITEM.c.origin_id.in_(flt.centres))
    if flt.kinds:
        conds.append(_ITEM.c.kind.in_(flt.kinds))
    if flt.langs:
        # `de` also finds `de-AT`: a language range, as in Accept-Language.
        language = sa.func.lower(_ITEM.c.language)
        conds.append(sa.or_(*[sa.or_(language == lang, language.like(f"{lang}-%")) for lang in flt.langs]))
    if flt.q:
        conds.append(_matches(flt.q, dialect, search))
    return conds


def _keyset(modified: sa.ColumnElement, item_id: sa.ColumnElement, flt: ItemFilter, after: Cursor | None) -> list:
    """The ``modified`` range and the position after the cursor, on the columns whose index gives the order."""
    conds: list = []
    if flt.modified_since is not None:
        conds.append(modified >= flt.modified_since)
    if flt.modified_until is not None:
        conds.append(modified <= flt.modified_until)
    if after is not None:
        # The redundant `<=` is a range both planners seek to; under the OR alone
        # they read the index from its newest end and skip every row before the cursor.
        conds.append(modified <= after.modified)
        conds.append(sa.or_(modified < after.modified, sa.and_(modified == after.modified, item_id < after.id)))
    return conds


def select_items(
    flt: ItemFilter, dialect: str, *, include_tombstones: bool = False, after: Cursor | None = None,
    search: Search | None = None,
) -> sa.Select:
    """Every item the filter finds, newest first: the definition the limited reads must agree with.

    ``search`` changes how ``q`` is read (``plan_search``), never what it finds.
    """
    query = sa.select(_ITEM.c.id, _ITEM.c.modified, _ITEM.c.data)
    if _lists(search):
        # The matches are the outer loop, each item read by its seq: through ix_item_modified_id or
        # ix_item_origin_modified (in feed order, no sort), which SQLite's planner prefers on some
        # statistics, it would read every item of the store or of a centre to find the few.
        query = query.select_from(_CrossJoin(_FTS, _ITEM, _ITEM.c.seq == _FTS.c.rowid))
    conds = _conditions(flt, dialect, include_tombstones=include_tombstones, search=search)
    conds += _keyset(_ITEM.c.modified, _ITEM.c.id, flt, after)
    if conds:
        query = query.where(*conds)
    return query.order_by(_ITEM.c.modified.desc(), _ITEM.c.id.desc())


# A filter that can drive a newest-first read from a composite index, and
# which one drives when there are several: the one with the fewest values,
# then the usually more selective (a centre holds about 1/50 of the items,
# a field of action about 1/3). The other filters are checked on the rows
# read, so the most selective driver reads the fewest rows that fail them.
_DRIVERS = ("centre", "programme", "tag", "audience", "field")


def _driver(flt: ItemFilter) -> tuple[str, tuple[str, ...]] | None:
    candidates = [("centre", flt.centres), *flt.facets()]
    candidates = [(name, values) for name, values in candidates if values]
    if not candidates:
        return None
    return min(candidates, key=lambda c: (len(c[1]), _DRIVERS.index(c[0])))


def _driven_by(
    name: str, value: str, flt: ItemFilter, dialect: str, include_tombstones: bool, after: Cursor | None,
    search: Search | None,
) -> sa.Select:
    """The filter's newest rows with one value of the driving filter, in the order of its composite index.

    A centre reads ``ix_item_origin_modified``; a facet reads
    the primary key of ``item_facet`` (facet, value, modified, item_id) and its copy of ``modified``, and
    joins each row's item: the order comes from the index, not a sort.
    """
    columns = (_ITEM.c.id, _ITEM.c.modified, _ITEM.c.data)
    if name == "centre":
        rest = _conditions(flt, dialect, include_tombstones=include_tombstones, without=name, search=search)
        keyset = _keyset(_ITEM.c.modified, _ITEM.c.id, flt, after)
        query = sa.select(*columns).where(_ITEM.c.origin_id == value, *rest, *keyset)
        return query.order_by(_ITEM.c.modified.desc(), _ITEM.c.id.desc())
    # Only live items have facet rows (Store._index), so "not deleted" goes without saying here.
    rest = _conditions(flt, dialect, include_tombstones=True, without=name, search=search)
    # An alias: the other facet filters' EXISTS name item_facet too and must correlate to item, not to it.
    drv = _FACET.alias("drv")
    keyset = _keyset(drv.c.modified, drv.c.item_id, flt, after)
    if dialect == "postgresql":
        shown, checks = _ITEM, rest
    else:
        # The rest is checked on the row's item in a subquery, the item shown is joined without
        # conditions: with a condition on the joined item ("not deleted", a kind, another facet, a
        # search), SQLite's planner (once ANALYZE has seen a large store) builds a Bloom filter over all
        # of item for the join, checking the condition on every item (1.2 s at 1M items for "not
        # deleted"), or reads all of item. PostgreSQL makes that subquery a join with every item.
        shown = _ITEM.alias("shown")
        checks = [sa.exists().where(_ITEM.c.id == drv.c.item_id, *rest)] if rest else []
    query = (
        sa.select(shown.c.id, shown.c.modified, shown.c.data)
        .select_from(drv.join(shown, shown.c.id == drv.c.item_id))
        .where(drv.c.facet == name, drv.c.value == value, *checks, *keyset)
    )
    return query.order_by(drv.c.modified.desc(), drv.c.item_id.desc())


def select_newest(
    flt: ItemFilter, dialect: str, limit: int, *, include_tombstones: bool = False, after: Cursor | None = None,
    search: Search | None = None,
) -> sa.Select:
    """The first ``limit`` rows of ``select_items``, read without visiting the other matches.

    Filtered by a centre or facet, each of its values reads its newest
    ``limit`` rows from a composite index; several values are merged
    (UNION drops an item found through two values of one facet) and cut to
    ``limit`` again. Without such a filter ``ix_item_modified_id`` gives the order.
    A search that lists its matches (``plan_search``) reads them, not an index, and sorts them.
    """
    driver = _driver(flt)
    # PostgreSQL reads a search by its GIN index or walks ix_item_modified_id, as it estimates the
    # term; driven by a facet it read the value's every row for a rare one.
    if driver is None or _lists(search) or (dialect == "postgresql" and flt.q):
        return select_items(flt, dialect, include_tombstones=include_tombstones, after=after, search=search).limit(limit)
    name, values = driver
    branches = [_driven_by(name, v, flt, dialect, include_tombstones, after, search).limit(limit) for v in values]
    if len(branches) == 1:
        return branches[0]
    # Each branch as a subquery: SQLite allows no ORDER BY or LIMIT on a member of a compound SELECT.
    members = [sa.select(*b.subquery().c) for b in branches]
    merged = (sa.union_all if name == "centre" else sa.union)(*members).subquery("newest")
    return sa.select(*merged.c).order_by(merged.c.modified.desc(), merged.c.id.desc()).limit(limit)


def read_page(engine: Engine, flt: ItemFilter, limit: int, *, include_tombstones: bool, after: Cursor | None) -> Page:
    """One page, newest first, and the cursor of the next when there is one."""
    with engine.connect() as conn:
        search = plan_search(conn, flt.q, limit + 1)
        query = select_newest(flt, engine.dialect.name, limit + 1, include_tombstones=include_tombstones, after=after,
                              search=search)
        rows = [ItemRowData(r.id, r.modified, r.data) for r in conn.execute(query)]
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, Cursor(rows[-1].modified, rows[-1].id) if more and rows else None)


def stream_items(
    conn: Connection, flt: ItemFilter, *, limit: int | None = None, after: Cursor | None = None
) -> Iterator[ItemRowData]:
    """Live items newest first in one statement, fetched in chunks (one consistent read).

    A limited read (``limit`` rows at most) is fetched at once, not through a
    server-side cursor: PostgreSQL plans a cursor for its first tenth of the
    rows (``cursor_tuple_fraction``), and for a rare search that is a walk of
    ix_item_modified_id through every item (5 s at 1M items, bench/fulltext.py).
    """
    if limit is None:
        query = select_items(flt, conn.dialect.name, after=after)
        result = conn.execution_options(yield_per=STREAM_CHUNK).execute(query)
    else:
        query = select_newest(flt, conn.dialect.name, limit, after=after, search=plan_search(conn, flt.q, limit))
        result = conn.execute(query)
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


# Read from item_count, which every write keeps (kisync.store.counts): a few
# rows, where counting the items would read the whole store.


def live_counts_by_origin(conn: Connection) -> dict[str, int]:
    return read_counts(conn, ORIGIN)


def live_counts_by_kind(conn: Connection) -> dict[str, int]:
    return read_counts(conn, KIND)


def tombstone_count(conn: Connection) -> int:
    return read_counts(conn, TOMBSTONES).get("", 0)


def facet_counts(conn: Connection, facet: str) -> dict[str, int]:
    """Live items per value of one facet (``field``, ``audience``, ``programme``, ``tag``)."""
    return read_counts(conn, facet)
