"""The store: applies merge plans and answers queries, in sets.

Writes go through ``Store.merge``: one transaction that locks the change
counter, reads the stored versions of the incoming ids in one query per
chunk, asks the pure ``merge_items`` what to do, and writes the result
with bulk ``INSERT … ON CONFLICT`` statements (STYLE.md, convention 6).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from pydantic import TypeAdapter
from sqlalchemy.engine import Connection, Engine

from kisync.model import AnyItem, Item, Tombstone
from kisync.store.counts import add_counts, tally, tally_written
from kisync.store.db import dialect_insert
from kisync.store.merge import MergeContext, MergePlan, MergeWarning, Prepared, StoredVersion, merge_items
from kisync.store.rows import RowParts, row_parts
from kisync.store.sweep import LiveItem
from kisync.store.tables import CHANGE_SEQ, CounterRow, ItemFacetRow, ItemRow, ItemSourceRow

_ITEM = ItemRow.__table__
_PROVENANCE = ItemSourceRow.__table__
_COUNTER = CounterRow.__table__
_FACET = ItemFacetRow.__table__
_ANY_ITEM: TypeAdapter[Item | Tombstone] = TypeAdapter(AnyItem)

_FTS_INSERT = "INSERT INTO item_fts (rowid, text) VALUES (?, ?)"


def _delete_by_stored_seq(table: str, column: str) -> sa.TextClause:
    """DELETE of the rows of ``table`` whose ``column`` is the seq the stored item rows of ``:ids`` carry."""
    return sa.text(f"DELETE FROM {table} WHERE {column} IN (SELECT seq FROM item WHERE id IN :ids)").bindparams(
        sa.bindparam("ids", expanding=True)
    )


# An item's FTS row has its seq as rowid (migration 0006); its facet rows carry it (0010).
_FTS_DELETE = _delete_by_stored_seq("item_fts", "rowid")
_FACET_DELETE = _delete_by_stored_seq("item_facet", "item_seq")

# Bound parameters per statement stay well below SQLite's limit (32766)
# and keep PostgreSQL statements a sensible size.
_CHUNK = 500


# (items, context, digests, parts): the arguments of one source's ``Store.merge``.
Batch = tuple[Iterable[Item | Tombstone], MergeContext, Sequence[str | None] | None, Sequence[RowParts | None] | None]


@dataclass
class MergeResult:
    """What one merge did, for the source's state and the sync summary."""

    seen: int = 0
    new: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    stale: int = 0
    dropped_own: int = 0
    warnings: list[MergeWarning] = field(default_factory=list)
    last_seq: int = 0

    @property
    def changed(self) -> int:
        return self.new + self.updated + self.deleted


def item_from_json(data: str) -> Item | Tombstone:
    return _ANY_ITEM.validate_json(data)


def _chunks(values: Sequence, size: int = _CHUNK) -> Iterator[Sequence]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


class Store:
    def __init__(self, engine: Engine):
        self.engine = engine
        self.dialect = engine.dialect.name
        self._insert = dialect_insert(engine)
        self._upsert_item = self._item_upsert()
        self._upsert_provenance = self._provenance_upsert()
        # item_facet rows go to the driver as they are (_index): the column order, and
        # the store's form of a datetime for this backend.
        mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        self._facet_insert = (
            f"INSERT INTO item_facet (facet, value, modified, item_id, item_seq) VALUES ({', '.join([mark] * 5)})"
        )
        modified = _FACET.c.modified.type.dialect_impl(engine.dialect)
        self._bind_modified = modified.bind_processor(engine.dialect) or (lambda value: value)

    def _item_upsert(self):
        stmt = self._insert(_ITEM)
        excluded = stmt.excluded
        return stmt.on_conflict_do_update(
            index_elements=[_ITEM.c.id],
            set_={c.name: excluded[c.name] for c in _ITEM.columns if c.name != "id"},
            # The merge decided under the counter lock already; this
            # guard keeps the rule true even for a writer that did not.
            where=_ITEM.c.version_key < excluded.version_key,
        )

    def _provenance_upsert(self):
        stmt = self._insert(_PROVENANCE)
        excluded = stmt.excluded
        return stmt.on_conflict_do_update(
            index_elements=[_PROVENANCE.c.item_id, _PROVENANCE.c.source_id],
            set_={
                "last_seen": excluded.last_seen,
                "reported_modified": excluded.reported_modified,
                "reported_hash": excluded.reported_hash,
                "via": excluded.via,
            },
        )

    # -- writing ---------------------------------------------------------------

    def merge(
        self,
        items: Iterable[Item | Tombstone],
        ctx: MergeContext,
        digests: Sequence[str | None] | None = None,
        parts: Sequence[RowParts | None] | None = None,
    ) -> MergeResult:
        """Merge a batch of incoming versions in one transaction.

        ``digests`` (see ``merge_items``) and ``parts`` (``row_parts`` of each
        incoming item, None where not known), when given, were computed
        beforehand where the CPU is cheaper: a sync's parser processes. An
        item the merge changes (a stamped ``modified``) gets its parts anew.
        """
        return self.merge_many([(items, ctx, digests, parts)])[0]

    def merge_many(self, batches: Sequence[Batch]) -> list[MergeResult]:
        """Merge several batches (of several sources) one after the other, in one transaction.

        Each batch is merged exactly as ``merge`` would merge it after the
        ones before it; only the commit is shared. A commit writes every page
        the batch touched, and the facet and full-text pages are spread over
        the store: batches that commit together share most of those writes.
        All or nothing: if one batch fails, none is stored.
        """
        results = []
        with self.engine.begin() as conn:
            for items, ctx, digests, parts in batches:
                results.append(self._merge(conn, list(items), ctx, digests, parts))
        return results

    def _merge(
        self,
        conn: Connection,
        items: list[Item | Tombstone],
        ctx: MergeContext,
        digests: Sequence[str | None] | None,
        parts: Sequence[RowParts | None] | None,
    ) -> MergeResult:
        last_seq = self._lock_counter(conn)
        stored = self._stored_versions(conn, [i.id for i in items], ctx.source_id)
        plan = merge_items(stored, items, ctx, digests)
        # By identity: the merge passes an item on as it came, or makes a new one when it changes it.
        # `items` keeps every incoming item alive, so no new object can take one of their ids.
        given = {id(item): p for item, p in zip(items, parts or (), strict=False) if p is not None}
        last_seq = self._write(conn, plan, ctx, last_seq, stored, given)
        return MergeResult(
            seen=len(plan.seen),
            new=len(plan.inserts),
            updated=len(plan.updates),
            deleted=len(plan.tombstones),
            unchanged=len(plan.unchanged),
            stale=plan.stale,
            dropped_own=plan.dropped_own,
            warnings=plan.warnings,
            last_seq=last_seq,
        )

    def _lock_counter(self, conn: Connection) -> int:
        # A write as the first statement: on PostgreSQL it takes the row lock,
        # on SQLite the write lock (waiting on busy_timeout). Both serialise
        # merges, so sequence numbers commit in the order they are handed out.
        row = conn.execute(
            _COUNTER.update()
            .where(_COUNTER.c.name == CHANGE_SEQ)
            .values(value=_COUNTER.c.value)
            .returning(_COUNTER.c.value)
        ).one()
        return int(row.value)

    def _stored_versions(
        self, conn: Connection, ids: Sequence[str], source_id: str | None
    ) -> dict[str, StoredVersion]:
        unique = sorted(set(ids))
        provenance = _PROVENANCE.alias("p")
        join = _ITEM.outerjoin(
            provenance,
            sa.and_(provenance.c.item_id == _ITEM.c.id, provenance.c.source_id == (source_id or "")),
        )
        query = sa.select(
            _ITEM.c.id,
            _ITEM.c.version_key,
            _ITEM.c.origin_id,
            _ITEM.c.modified,
            provenance.c.reported_modified,
            provenance.c.reported_hash,
        ).select_from(join)
        stored: dict[str, StoredVersion] = {}
        for chunk in _chunks(unique):
            for row in conn.execute(query.where(_ITEM.c.id.in_(chunk))):
                stored[row.id] = StoredVersion(
                    version_key=row.version_key,
                    origin_id=row.origin_id,
                    modified=row.modified,
                    reported_modified=row.reported_modified,
                    reported_hash=row.reported_hash,
                )
        return stored

    def _write(
        self,
        conn: Connection,
        plan: MergePlan,
        ctx: MergeContext,
        last_seq: int,
        stored: dict[str, StoredVersion],
        given: dict[int, RowParts],
    ) -> int:
        changes = plan.changes
        if changes:
            parts = [given.get(id(prepared.item)) or row_parts(prepared.item) for prepared in changes]
            rows = [_item_row(p, last_seq + offset, q) for offset, (p, q) in enumerate(zip(changes, parts, strict=True), start=1)]
            last_seq += len(changes)
            # Only ids already stored have rows to replace (and to take off the counts).
            replaced = [p.id for p in changes if p.id in stored]
            before = tally(conn, replaced) if replaced else Counter()
            if replaced:
                self._unindex(conn, replaced)
            # One statement, many parameter sets: compiled once and executed as a batch by
            # the driver, where a multi-row VALUES statement is rebuilt for every chunk.
            conn.execute(self._upsert_item, rows)
            facets = self._index(conn, changes, rows, parts)
            delta = tally_written(rows, facets)
            delta.subtract(before)
            add_counts(conn, delta)
            conn.execute(
                _COUNTER.update().where(_COUNTER.c.name == CHANGE_SEQ).values(value=last_seq)
            )
        if ctx.source_id is not None and plan.seen:
            self._record_provenance(conn, plan.seen, ctx)
        return last_seq

    def _unindex(self, conn: Connection, ids: Sequence[str]) -> None:
        """Drop the facet rows (and, on SQLite, the FTS rows) of the stored versions of ``ids``.

        Before the item upsert: both are found by the seq the stored item rows still carry.
        """
        for chunk in _chunks(ids):
            params = {"ids": list(chunk)}
            conn.execute(_FACET_DELETE, params)
            if self.dialect == "sqlite":
                conn.execute(_FTS_DELETE, params)

    def _index(
        self, conn: Connection, changes: Sequence[Prepared], rows: Sequence[dict], parts: Sequence[RowParts]
    ) -> list[tuple]:
        """Write the facets (and, on SQLite, the FTS5 text) of the changed items; returns the facet rows.

        Straight to the driver's ``executemany``, with each item's ``modified``
        converted once for its dozen facet rows: SQLAlchemy's per-row
        parameter processing cost as much as the inserts themselves.
        """
        facets = []
        for prepared, item_parts, row in zip(changes, parts, rows, strict=True):
            item = prepared.item
            if isinstance(item, Item):
                modified, seq = self._bind_modified(item.modified), row["seq"]
                facets += [(facet, value, modified, item.id, seq) for facet, value in item_parts.facets]
        if facets:
            conn.exec_driver_sql(self._facet_insert, facets)
        if self.dialect == "sqlite":
            # The FTS row id is the item's seq (migration 0006).
            texts = [(row["seq"], row["search_text"]) for row in rows if row["search_text"] is not None]
            if texts:
                conn.exec_driver_sql(_FTS_INSERT, texts)
        return facets

    def _record_provenance(self, conn: Connection, seen: Sequence[Prepared], ctx: MergeContext) -> None:
        rows = [
            {
                "item_id": p.id,
                "source_id": ctx.source_id,
                "first_seen": ctx.now,
                "last_seen": ctx.now,
                "reported_modified": p.reported_modified,
                "reported_hash": p.reported_hash,
                "via": json.dumps(p.item.via),
            }
            for p in seen
        ]
        conn.execute(self._upsert_provenance, rows)

    # -- reading ---------------------------------------------------------------

    def get(self, item_id: str) -> Item | Tombstone | None:
        with self.engine.connect() as conn:
            data = conn.execute(sa.select(_ITEM.c.data).where(_ITEM.c.id == item_id)).scalar()
        return None if data is None else item_from_json(data)

    def last_seq(self) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(sa.select(_COUNTER.c.value).where(_COUNTER.c.name == CHANGE_SEQ)).scalar_one()
            )

    def changes(self, since: int = 0, limit: int = 100, origin: str | None = None) -> list[tuple[int, str]]:
        """``(seq, item JSON)`` after ``since``, in sequence order; each id once, at its latest version."""
        query = sa.select(_ITEM.c.seq, _ITEM.c.data).where(_ITEM.c.seq > since)
        if origin is not None:
            query = query.where(_ITEM.c.origin_id == origin)
        query = query.order_by(_ITEM.c.seq).limit(limit)
        with self.engine.connect() as conn:
            return [(row.seq, row.data) for row in conn.execute(query)]

    def versions(self) -> dict[str, str]:
        """Every stored id with its version key: the state two converged nodes share."""
        with self.engine.connect() as conn:
            return dict(conn.execute(sa.select(_ITEM.c.id, _ITEM.c.version_key)).all())

    def counts(self) -> dict[str, int]:
        query = sa.select(_ITEM.c.deleted, sa.func.count()).group_by(_ITEM.c.deleted)
        with self.engine.connect() as conn:
            by_state = dict(conn.execute(query).all())
        return {"live": by_state.get(False, 0), "deleted": by_state.get(True, 0)}

    def live_items_of(self, origin_id: str, source_id: str | None = None) -> list[LiveItem]:
        """The origin's live items, for the sweep of its complete snapshot (one indexed query).

        ``reported`` is the ``modified`` the source itself last delivered: a
        sloppy origin's item carries our stamp in ``modified``, which is
        later than any snapshot the origin will ever generate.
        """
        provenance = _PROVENANCE.alias("p")
        query = (
            sa.select(_ITEM.c.id, _ITEM.c.kind, _ITEM.c.created, _ITEM.c.modified, provenance.c.reported_modified)
            .select_from(
                _ITEM.outerjoin(
                    provenance,
                    sa.and_(provenance.c.item_id == _ITEM.c.id, provenance.c.source_id == (source_id or "")),
                )
            )
            .where(_ITEM.c.origin_id == origin_id, _ITEM.c.deleted.is_(False))
        )
        with self.engine.connect() as conn:
            return [
                LiveItem(row.id, row.kind, row.created, row.modified, row.reported_modified or row.modified)
                for row in conn.execute(query)
            ]

    def provenance(self, item_id: str) -> list[dict]:
        query = sa.select(_PROVENANCE).where(_PROVENANCE.c.item_id == item_id).order_by(_PROVENANCE.c.source_id)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]


def _item_row(prepared: Prepared, seq: int, parts: RowParts) -> dict:
    item = prepared.item
    live = isinstance(item, Item)
    return {
        "id": item.id,
        "seq": seq,
        "version_key": prepared.version_key,
        "content_hash": prepared.digest,
        "kind": item.kind.value,
        "origin_id": item.origin.id,
        "created": item.created,
        "modified": item.modified,
        "deleted": item.deleted,
        "title": item.title if live else None,
        "language": item.language if live else None,
        "url": item.url if live else None,
        "report_key": parts.report_key,
        "data": parts.data,
        "search_text": parts.search_text,
    }


def utc_now() -> datetime:
    from datetime import UTC

    return datetime.now(UTC)
