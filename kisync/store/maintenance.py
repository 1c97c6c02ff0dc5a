"""Housekeeping: purge old tombstones, keep SQLite tidy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from kisync.store.counts import TOMBSTONES, add_counts
from kisync.store.tables import CHANGE_SEQ, PURGED_BEFORE, PURGED_SEQ, CounterRow, ItemRow

_ITEM = ItemRow.__table__
_COUNTER = CounterRow.__table__
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def purge_tombstones(engine: Engine, before: datetime) -> int:
    """Delete tombstones modified before ``before``; return how many.

    Records the highest purged change sequence (a changes-feed cursor older
    than it has missed deletions: 410 resync_required) and the horizon
    (relay-delivered items older than it are refused, DESIGN.md
    "Tombstone retention").
    """
    old = sa.and_(_ITEM.c.deleted.is_(True), _ITEM.c.modified < before)
    with engine.begin() as conn:
        # Lock the change counter first, like a merge: purges and merges never interleave.
        conn.execute(_COUNTER.update().where(_COUNTER.c.name == CHANGE_SEQ).values(value=_COUNTER.c.value))
        highest = conn.execute(sa.select(sa.func.max(_ITEM.c.seq)).where(old)).scalar()
        if highest is None:
            return 0
        purged = conn.execute(_ITEM.delete().where(old)).rowcount
        add_counts(conn, {(TOMBSTONES, ""): -purged})  # tombstones have no facets
        conn.execute(
            _COUNTER.update()
            .where(_COUNTER.c.name == PURGED_SEQ)
            .values(value=sa.func.greatest(_COUNTER.c.value, highest) if engine.dialect.name == "postgresql"
                    else sa.func.max(_COUNTER.c.value, highest))
        )
        horizon = _micros(before)
        conn.execute(
            _COUNTER.update()
            .where(_COUNTER.c.name == PURGED_BEFORE, _COUNTER.c.value < horizon)
            .values(value=horizon)
        )
    return purged


def tombstone_horizon(engine: Engine) -> datetime | None:
    """Tombstones older than this were purged; None when nothing was purged yet."""
    with engine.connect() as conn:
        value = conn.execute(sa.select(_COUNTER.c.value).where(_COUNTER.c.name == PURGED_BEFORE)).scalar()
    if not value:
        return None
    return _EPOCH + timedelta(microseconds=int(value))


def tidy(engine: Engine) -> None:
    """SQLite only: let the planner refresh statistics, merge FTS segments, shrink the WAL."""
    if engine.dialect.name != "sqlite":
        return  # PostgreSQL's autovacuum does this
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO item_fts(item_fts) VALUES ('optimize')")
        conn.exec_driver_sql("PRAGMA optimize")
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
