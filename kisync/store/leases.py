"""Claims on due sources, so that workers never fetch one source twice at once.

A claim is a lease: ``lease_owner`` and ``lease_until`` on the source's
state. A worker that crashes holds its leases only until they expire.
On PostgreSQL the due rows are picked with ``FOR UPDATE SKIP LOCKED``, so
any number of workers can claim side by side without waiting on each
other; SQLite serialises writers, so one conditional UPDATE is enough.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from kisync.store.tables import SOURCE_ENABLED, SourceRow, SourceStateRow

_SOURCE = SourceRow.__table__
_STATE = SourceStateRow.__table__


def _due(now: datetime):
    return sa.and_(
        SOURCE_ENABLED,
        sa.or_(_STATE.c.next_due.is_(None), _STATE.c.next_due <= now),
        sa.or_(_STATE.c.lease_until.is_(None), _STATE.c.lease_until < now),
    )


def claim_due(engine: Engine, owner: str, now: datetime, lease: timedelta, limit: int) -> list[str]:
    """Lease up to ``limit`` due sources to ``owner``; their ids, most overdue first."""
    if limit <= 0:
        return []
    pick = (
        sa.select(_STATE.c.source_id)
        .select_from(_STATE.join(_SOURCE, _SOURCE.c.id == _STATE.c.source_id))
        .where(_due(now))
        .order_by(_STATE.c.next_due.asc().nulls_first(), _STATE.c.source_id)
        .limit(limit)
    )
    if engine.dialect.name == "postgresql":
        pick = pick.with_for_update(of=_STATE, skip_locked=True)
    claim = (
        _STATE.update()
        .where(_STATE.c.source_id.in_(pick.scalar_subquery()))
        .values(lease_owner=owner, lease_until=now + lease)
        .returning(_STATE.c.source_id, _STATE.c.next_due)
    )
    with engine.begin() as conn:
        rows = conn.execute(claim).all()
    rows.sort(key=lambda row: (row.next_due is not None, row.next_due or now, row.source_id))
    return [row.source_id for row in rows]


def claim(engine: Engine, source_id: str, owner: str, now: datetime, lease: timedelta) -> bool:
    """Lease one source now, due or not (an operator's "sync now"); False while another worker holds it."""
    stmt = (
        _STATE.update()
        .where(
            _STATE.c.source_id == source_id,
            sa.or_(_STATE.c.lease_until.is_(None), _STATE.c.lease_until < now, _STATE.c.lease_owner == owner),
        )
        .values(lease_owner=owner, lease_until=now + lease)
    )
    with engine.begin() as conn:
        return conn.execute(stmt).rowcount == 1


def release(engine: Engine, source_id: str, owner: str) -> None:
    """Give a lease back; the state's next_due (written before) decides when it is due again."""
    stmt = (
        _STATE.update()
        .where(_STATE.c.source_id == source_id, _STATE.c.lease_owner == owner)
        .values(lease_owner=None, lease_until=None)
    )
    with engine.begin() as conn:
        conn.execute(stmt)


def release_all(engine: Engine, owner: str) -> None:
    stmt = _STATE.update().where(_STATE.c.lease_owner == owner).values(lease_owner=None, lease_until=None)
    with engine.begin() as conn:
        conn.execute(stmt)
