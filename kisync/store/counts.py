"""Counts of the store kept as it is written, so that the stats cost the same at any size.

Counting live items by origin, kind and facet value reads every row, which
grows with the store (issue #7). Instead every write tallies what the
rows it touches contribute before and after, in its own transaction, and
adds the difference to ``item_count``. Merges and purges lock the change
counter first, so the read-modify-write of the tallies never interleaves.
Tallying the rows as stored or written (not the incoming items) keeps
the counts equal to a full recount whatever the merge decided; a merge
tallies the rows it replaces as stored and its new rows as it writes them
(``tally_written``), so a batch of new items reads nothing back.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kisync.store.db import dialect_insert
from kisync.store.tables import ItemCountRow, ItemFacetRow, ItemRow

_ITEM = ItemRow.__table__
_FACET = ItemFacetRow.__table__
_COUNT = ItemCountRow.__table__

ORIGIN = "origin"
KIND = "kind"
TOMBSTONES = "tombstones"
# Bound parameters per statement, as in kisync.store.repository.
_CHUNK = 500

Tally = Counter[tuple[str, str]]


def tally(conn: Connection, ids: Sequence[str]) -> Tally:
    """What the stored rows of ``ids`` add to the counts now."""
    counts: Tally = Counter()
    unique = sorted(set(ids))
    by_item = sa.select(_ITEM.c.kind, _ITEM.c.origin_id, _ITEM.c.deleted, sa.func.count()).group_by(
        _ITEM.c.kind, _ITEM.c.origin_id, _ITEM.c.deleted
    )
    by_facet = sa.select(_FACET.c.facet, _FACET.c.value, sa.func.count()).group_by(_FACET.c.facet, _FACET.c.value)
    for start in range(0, len(unique), _CHUNK):
        chunk = unique[start : start + _CHUNK]
        for kind, origin, deleted, n in conn.execute(by_item.where(_ITEM.c.id.in_(chunk))):
            if deleted:
                counts[(TOMBSTONES, "")] += n
            else:
                counts[(KIND, kind)] += n
                counts[(ORIGIN, origin)] += n
        seqs = sa.select(_ITEM.c.seq).where(_ITEM.c.id.in_(chunk)).scalar_subquery()
        for facet, value, n in conn.execute(by_facet.where(_FACET.c.item_seq.in_(seqs))):
            counts[(facet, value)] += n
    return counts


def tally_written(items: Iterable[Mapping[str, Any]], facets: Iterable[Sequence[Any]]) -> Tally:
    """What rows just written add to the counts: ``items`` as item-table rows, ``facets`` as (facet, value, …).

    The same as ``tally`` of their ids read back, without reading them back.
    """
    counts: Tally = Counter()
    for row in items:
        if row["deleted"]:
            counts[(TOMBSTONES, "")] += 1
        else:
            counts[(KIND, row["kind"])] += 1
            counts[(ORIGIN, row["origin_id"])] += 1
    for facet, value, *_ in facets:
        counts[(facet, value)] += 1
    return counts


def add_counts(conn: Connection, delta: dict[tuple[str, str], int]) -> None:
    """Add ``delta`` to the stored counts (rows that reach 0 stay, and are not read)."""
    rows = [{"name": name, "value": value, "n": n} for (name, value), n in sorted(delta.items()) if n]
    if not rows:
        return
    stmt = dialect_insert(conn)(_COUNT)
    conn.execute(stmt.on_conflict_do_update(index_elements=[_COUNT.c.name, _COUNT.c.value],
                                            set_={"n": _COUNT.c.n + stmt.excluded.n}), rows)


def read_counts(conn: Connection, name: str) -> dict[str, int]:
    """The non-zero counts of one kind: ``origin``, ``kind``, a facet name or ``tombstones``."""
    query = sa.select(_COUNT.c.value, _COUNT.c.n).where(_COUNT.c.name == name, _COUNT.c.n > 0)
    return {value: int(n) for value, n in conn.execute(query)}
