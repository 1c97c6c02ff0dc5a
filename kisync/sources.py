"""Sources and their fetch state in the store.

Sources come from ``config.yaml`` (``managed_by = "config"``, refreshed on
every start) or are added at run time by the CLI or the admin API
(``managed_by = "admin"``). A source is fetched when two switches are on:
the operator's (``kisync sources enable|disable``, the admin API; for an
admin source also its definition's ``enabled``) and, for a config source,
the file's ``enabled``. They are kept apart, so that each undoes only its
own: ``enabled: false`` in the file always wins, setting it back to ``true``
re-enables the source unless an operator disabled it, and an operator's
disable survives restarts and edits of the file.
"""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from kisync.config import SourceDefaults, SourceSettings
from kisync.errors import KisyncError
from kisync.store.db import dialect_insert
from kisync.store.tables import SourceRow, SourceStateRow

_SOURCE = SourceRow.__table__
_STATE = SourceStateRow.__table__
MAX_WARNINGS = 50  # kept per source; enough to show a pattern, small enough for the API


class SourceError(KisyncError):
    code = "source_error"


@dataclass
class Source:
    id: str
    url: str
    format: str
    centre: str | None
    relay: bool
    interval: float
    defaults: SourceDefaults
    managed_by: str
    operator_enabled: bool = True
    config_enabled: bool = True  # always on for an admin source
    # fetch state
    etag: str | None = None
    last_modified: str | None = None
    cursor: str | None = None
    last_attempt: datetime | None = None
    last_success: datetime | None = None
    http_status: int | None = None
    error: str | None = None
    consecutive_failures: int = 0
    next_due: datetime | None = None
    seen: int = 0
    new: int = 0
    updated: int = 0
    deleted: int = 0
    warnings: list[dict[str, Any]] = field(default_factory=list)
    on_hold: str | None = None
    deletion_approved: bool = False

    @property
    def enabled(self) -> bool:
        """Fetched: neither the operator nor config.yaml turned it off (SQL: ``SOURCE_ENABLED``)."""
        return self.operator_enabled and self.config_enabled

    @property
    def disabled_by(self) -> list[str]:
        """Who turned the source off: ``config`` (``enabled: false`` in the file), ``operator``, or both."""
        return [who for who, on in (("config", self.config_enabled), ("operator", self.operator_enabled)) if not on]

    @property
    def healthy(self) -> bool:
        return self.consecutive_failures == 0 and self.on_hold is None

    def is_due(self, now: datetime) -> bool:
        return self.enabled and (self.next_due is None or self.next_due <= now)


@dataclass
class Outcome:
    """What one sync of one source did; written to its state."""

    attempted: datetime
    ok: bool
    http_status: int | None = None
    error: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    cursor: str | None = None
    next_due: datetime | None = None
    seen: int = 0
    new: int = 0
    updated: int = 0
    deleted: int = 0
    warnings: list[dict[str, Any]] = field(default_factory=list)
    on_hold: str | None = None
    not_modified: bool = False
    deletion_used: bool = False  # an operator's approval for a large deletion was spent


class SourceRegistry:
    def __init__(self, engine: Engine):
        self.engine = engine

    # -- definitions -------------------------------------------------------------

    def sync_config(self, sources: Sequence[SourceSettings], default_interval: float) -> None:
        """Make the store's config-managed sources match the file; the operator's switches stay."""
        insert = dialect_insert(self.engine)
        with self.engine.begin() as conn:
            switches = sa.select(_SOURCE.c.id, _SOURCE.c.managed_by, _SOURCE.c.operator_enabled, _SOURCE.c.config_enabled)
            existing = {row.id: row for row in conn.execute(switches)}
            turned_on = []
            for settings in sources:
                values = _row_values(settings, default_interval, managed_by="config")
                current = existing.get(settings.id)
                if current is None:
                    # DO NOTHING: several workers starting at once register the same file.
                    conn.execute(insert(_SOURCE).values(**values, operator_enabled=True).on_conflict_do_nothing())
                    conn.execute(insert(_STATE).values(source_id=settings.id).on_conflict_do_nothing())
                    continue
                was_on = bool(current.operator_enabled and current.config_enabled)
                values["operator_enabled"] = _operator_switch(current.operator_enabled, current.config_enabled, settings.enabled)
                if values["operator_enabled"] and settings.enabled and not was_on:
                    turned_on.append(settings.id)
                conn.execute(_SOURCE.update().where(_SOURCE.c.id == settings.id).values(**values))
            if turned_on:
                # As `kisync sources enable`: fetched at the next tick, not after the old back-off.
                conn.execute(_STATE.update().where(_STATE.c.source_id.in_(turned_on)).values(next_due=None))
            configured = {s.id for s in sources}
            stale = [i for i, row in existing.items() if row.managed_by == "config" and i not in configured]
            if stale:
                conn.execute(_SOURCE.delete().where(_SOURCE.c.id.in_(stale)))

    def add(self, settings: SourceSettings, default_interval: float) -> Source:
        with self.engine.begin() as conn:
            if conn.execute(sa.select(_SOURCE.c.id).where(_SOURCE.c.id == settings.id)).first():
                raise SourceError(f"source {settings.id!r} exists already")
            conn.execute(_SOURCE.insert().values(**_row_values(settings, default_interval, managed_by="admin")))
            conn.execute(_STATE.insert().values(source_id=settings.id))
        return self.get(settings.id)

    def update(self, source_id: str, settings: SourceSettings, default_interval: float) -> Source:
        current = self.get(source_id)
        if current.managed_by == "config":
            raise SourceError(f"source {source_id!r} is defined in config.yaml: change it there")
        values = _row_values(settings, default_interval, managed_by="admin")
        values.pop("id")
        with self.engine.begin() as conn:
            conn.execute(_SOURCE.update().where(_SOURCE.c.id == source_id).values(**values))
        return self.get(source_id)

    def remove(self, source_id: str) -> None:
        source = self.get(source_id)
        if source.managed_by == "config":
            raise SourceError(f"source {source_id!r} is defined in config.yaml: remove it there")
        with self.engine.begin() as conn:
            conn.execute(_STATE.delete().where(_STATE.c.source_id == source_id))
            conn.execute(_SOURCE.delete().where(_SOURCE.c.id == source_id))

    def set_enabled(self, source_id: str, enabled: bool) -> Source:
        """Set the operator's switch; ``enabled: false`` in config.yaml still keeps the source off."""
        self.get(source_id)
        with self.engine.begin() as conn:
            conn.execute(_SOURCE.update().where(_SOURCE.c.id == source_id).values(operator_enabled=enabled))
            if enabled:
                # Fetch a re-enabled source at the next tick, not after its old back-off.
                conn.execute(_STATE.update().where(_STATE.c.source_id == source_id).values(next_due=None))
        return self.get(source_id)

    def approve_deletion(self, source_id: str) -> Source:
        """An operator confirms that the large deletion a snapshot asked for is intended.

        The validators go too: the held snapshot is unchanged, and a conditional
        GET would be answered 304, so the approval would wait for the next edit.
        """
        self.get(source_id)
        with self.engine.begin() as conn:
            conn.execute(
                _STATE.update()
                .where(_STATE.c.source_id == source_id)
                .values(deletion_approved=True, next_due=None, etag=None, last_modified=None)
            )
        return self.get(source_id)

    # -- reading -----------------------------------------------------------------

    def _select(self):
        return sa.select(_SOURCE, *[c for c in _STATE.columns if c.name != "source_id"]).select_from(
            _SOURCE.outerjoin(_STATE, _STATE.c.source_id == _SOURCE.c.id)
        )

    def list(self) -> list[Source]:
        with self.engine.connect() as conn:
            return [_source(row) for row in conn.execute(self._select().order_by(_SOURCE.c.id))]

    def get(self, source_id: str) -> Source:
        with self.engine.connect() as conn:
            row = conn.execute(self._select().where(_SOURCE.c.id == source_id)).first()
        if row is None:
            raise SourceError(f"no source {source_id!r}")
        return _source(row)

    def select(self, ids: Iterable[str] = (), *, due_at: datetime | None = None) -> list[Source]:
        """Named sources (even disabled ones are refused by name), or every enabled one, or the due ones."""
        ids = list(ids)
        if ids:
            sources = [self.get(i) for i in ids]
            disabled = [f"{s.id} ({'; '.join(_HOW_TO_ENABLE[who] for who in s.disabled_by)})" for s in sources if not s.enabled]
            if disabled:
                raise SourceError(f"source(s) disabled: {', '.join(disabled)}")
            return sources
        sources = [s for s in self.list() if s.enabled]
        if due_at is not None:
            sources = [s for s in sources if s.is_due(due_at)]
        return sources

    # -- state -------------------------------------------------------------------

    def record(self, source_id: str, outcome: Outcome) -> None:
        self.record_many([(source_id, outcome)])

    def record_many(self, outcomes: Sequence[tuple[str, Outcome]]) -> None:
        """Record each source's outcome, all in one transaction.

        Outcomes in a row that set the same columns share one statement, run
        with the driver's executemany: a warm sync records hundreds of 304s,
        and building a statement (and its cache key) and executing it for
        each took the writer thread about 75 ms of CPU for 400 sources,
        under the GIL the event loop fetches with.
        """
        rows = ((source_id, outcome.ok, _state_values(outcome)) for source_id, outcome in outcomes)
        with self.engine.begin() as conn:
            for (ok, columns), run in itertools.groupby(rows, key=lambda row: (row[1], tuple(row[2]))):
                params = [
                    {_SOURCE_PARAM: source_id, **{_PARAM + k: v for k, v in values.items()}} for source_id, _, values in run
                ]
                conn.execute(_state_update(columns, failed=not ok), params)


_SOURCE_PARAM, _PARAM = "state_source_id", "state_"
_HOW_TO_ENABLE = {"config": "enabled: false in config.yaml", "operator": "kisync sources enable ID"}


@functools.cache
def _state_update(columns: tuple[str, ...], *, failed: bool) -> sa.Update:
    """The update of the given state columns, each a bound parameter; a failure also counts itself."""
    values: dict[str, Any] = {column: sa.bindparam(_PARAM + column) for column in columns}
    if failed:
        values["consecutive_failures"] = _STATE.c.consecutive_failures + 1
    return _STATE.update().where(_STATE.c.source_id == sa.bindparam(_SOURCE_PARAM)).values(values)


def _state_values(outcome: Outcome) -> dict[str, Any]:
    """The state columns an outcome sets (a failure also adds one to ``consecutive_failures``, in ``_state_update``)."""
    values: dict[str, Any] = {
        "last_attempt": outcome.attempted,
        "http_status": outcome.http_status,
        "next_due": outcome.next_due,
    }
    if outcome.ok:
        values.update(
            last_success=outcome.attempted,
            error=None,
            consecutive_failures=0,
            etag=outcome.etag,
            last_modified=outcome.last_modified,
            seen=outcome.seen,
            new=outcome.new,
            updated=outcome.updated,
            deleted=outcome.deleted,
            on_hold=outcome.on_hold,
        )
        if outcome.cursor is not None:
            values["cursor"] = outcome.cursor
        if not outcome.not_modified:
            values["warnings"] = json.dumps(outcome.warnings[:MAX_WARNINGS], ensure_ascii=False)
        if outcome.deletion_used:
            values["deletion_approved"] = False
    else:
        values["error"] = outcome.error
    return values


def _row_values(settings: SourceSettings, default_interval: float, *, managed_by: str) -> dict[str, Any]:
    """The source row of a definition; an admin source's ``enabled`` is the operator's, a config source's the file's."""
    values = {
        "id": settings.id,
        "url": settings.url,
        "format": settings.format,
        "centre_id": settings.centre,
        "relay": settings.relay,
        "interval": int(settings.interval or default_interval),
        "defaults": settings.defaults.model_dump_json(),
        "managed_by": managed_by,
    }
    if managed_by == "admin":
        values.update(operator_enabled=settings.enabled, config_enabled=True)
    else:
        values["config_enabled"] = settings.enabled
    return values


def _operator_switch(operator_enabled: bool, config_enabled: bool | None, file_enabled: bool) -> bool:
    """The operator's switch after a start read the file's ``enabled``: unchanged, but for one case.

    ``config_enabled`` is NULL on a config source migration 0009 found
    disabled without knowing by whom. A file that still disables it did
    it, so the operator's switch goes on; else the operator did, and it
    stays off (0009 says why).
    """
    if config_enabled is None and not file_enabled:
        return True
    return operator_enabled


def _source(row) -> Source:
    m = row._mapping
    return Source(
        id=m["id"],
        url=m["url"],
        format=m["format"],
        centre=m["centre_id"],
        relay=m["relay"],
        interval=float(m["interval"]),
        defaults=SourceDefaults.model_validate_json(m["defaults"] or "{}"),
        managed_by=m["managed_by"],
        operator_enabled=m["operator_enabled"],
        config_enabled=bool(m["config_enabled"]),  # NULL until a start reads the file (migration 0009): off
        etag=m["etag"],
        last_modified=m["last_modified"],
        cursor=m["cursor"],
        last_attempt=m["last_attempt"],
        last_success=m["last_success"],
        http_status=m["http_status"],
        error=m["error"],
        consecutive_failures=m["consecutive_failures"] or 0,
        next_due=m["next_due"],
        seen=m["seen"] or 0,
        new=m["new"] or 0,
        updated=m["updated"] or 0,
        deleted=m["deleted"] or 0,
        warnings=json.loads(m["warnings"] or "[]"),
        on_hold=m["on_hold"],
        deletion_approved=bool(m["deletion_approved"]),
    )
