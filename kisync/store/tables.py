"""SQLModel tables: what the store keeps.

Every schema change here needs an Alembic revision in
``kisync/store/migrations/versions`` (STYLE.md, convention 11).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, Column, ForeignKey, Index, String, Text, and_
from sqlalchemy.types import DateTime, TypeDecorator
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on every backend.

    SQLite has no time zones; we store naive UTC and hand back aware UTC, so
    the rest of the code never sees a naive datetime.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _utc_column(nullable: bool = True, index: bool = False) -> Column:
    return Column(UTCDateTime(), nullable=nullable, index=index)


class CentreRow(SQLModel, table=True):
    __tablename__ = "centre"

    id: str = Field(primary_key=True, max_length=100)
    name: str = Field(max_length=500)
    ars: str | None = Field(default=None, max_length=12)
    url: str | None = Field(default=None, max_length=2048)
    kind: str | None = Field(default=None, max_length=100)
    region: str | None = Field(default=None, max_length=100)


class SourceRow(SQLModel, table=True):
    __tablename__ = "source"

    id: str = Field(primary_key=True, max_length=100)
    url: str = Field(max_length=2048)
    format: str = Field(default="auto", max_length=20)
    centre_id: str | None = Field(default=None, max_length=100)
    relay: bool = False
    interval: int = Field(default=3600, description="seconds between fetches")
    defaults: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    # Two switches, kept apart so that each can be undone on its own; a source is
    # fetched when both are on (SOURCE_ENABLED). The operator's: `kisync sources
    # enable|disable`, the admin API, and an admin source's own `enabled`.
    operator_enabled: bool = True
    # The file's: `enabled` in config.yaml, taken on every start; always on for an
    # admin source. NULL on the config sources migration 0009 found disabled, until
    # the next start reads the file (see there).
    config_enabled: bool | None = True
    # "config" for sources from config.yaml, "admin" for those added at run time.
    managed_by: str = Field(default="config", max_length=20)


# Whether a source is fetched, in SQL: kisync.sources.Source.enabled. A NULL switch is off.
SOURCE_ENABLED = and_(SourceRow.__table__.c.operator_enabled.is_(True), SourceRow.__table__.c.config_enabled.is_(True))


class SourceStateRow(SQLModel, table=True):
    __tablename__ = "source_state"

    source_id: str = Field(
        sa_column=Column(String(100), ForeignKey("source.id", ondelete="CASCADE"), primary_key=True)
    )
    etag: str | None = Field(default=None, max_length=1000)
    last_modified: str | None = Field(default=None, max_length=100)
    cursor: str | None = Field(default=None, max_length=200)
    last_attempt: datetime | None = Field(default=None, sa_column=_utc_column())
    last_success: datetime | None = Field(default=None, sa_column=_utc_column())
    http_status: int | None = None
    error: str | None = Field(default=None, sa_column=Column(Text))
    consecutive_failures: int = 0
    next_due: datetime | None = Field(default=None, sa_column=_utc_column(index=True))
    lease_owner: str | None = Field(default=None, max_length=200)
    lease_until: datetime | None = Field(default=None, sa_column=_utc_column())
    seen: int = 0
    new: int = 0
    updated: int = 0
    deleted: int = 0
    warnings: str = Field(default="[]", sa_column=Column(Text, nullable=False, default="[]"))
    # Why the source's deletions wait for an operator (mass-deletion guard), and their approval.
    on_hold: str | None = Field(default=None, sa_column=Column(Text))
    deletion_approved: bool = False


class ItemRow(SQLModel, table=True):
    """The current version of each item id, tombstones included."""

    __tablename__ = "item"
    __table_args__ = (
        Index("ix_item_origin_seq", "origin_id", "seq"),
        Index("ix_item_modified_id", "modified", "id"),
        # A centre's feed, newest first, read in index order (kisync.web.query).
        Index("ix_item_origin_modified", "origin_id", "modified", "id"),
        Index("ix_item_report_key", "report_key"),
    )

    id: str = Field(primary_key=True, max_length=2048)
    # Node-local change sequence: advanced by every insert, update and
    # tombstone; the changes feed pages by it (DESIGN.md, changes feed).
    seq: int = Field(sa_column=Column(BigInteger, nullable=False, unique=True))
    version_key: str = Field(max_length=120)
    content_hash: str = Field(max_length=64)
    kind: str = Field(max_length=20)
    origin_id: str = Field(max_length=100)
    created: datetime = Field(sa_column=_utc_column(nullable=False))
    modified: datetime = Field(sa_column=_utc_column(nullable=False))
    deleted: bool = False
    title: str | None = Field(default=None, max_length=500)
    language: str | None = Field(default=None, max_length=35)
    url: str | None = Field(default=None, max_length=2048)
    # Live items whose URL can link them to other reports of the same page
    # ("also reported by", kisync.store.reports); None for the others and for tombstones.
    report_key: str | None = Field(default=None, max_length=64)
    # The item as exchange-format JSON, exactly as it is served.
    data: str = Field(sa_column=Column(Text, nullable=False))
    # Plain text of title, summary and content for full-text search: FTS5
    # (table item_fts) on SQLite, a generated tsvector column on PostgreSQL;
    # both are made by migration 0002 outside this model.
    search_text: str | None = Field(default=None, sa_column=Column(Text))


class ItemFacetRow(SQLModel, table=True):
    """Filterable codes of live items: field of action, audience, programme, tag.

    One row per (facet, value, item), so every feed filter is an indexed
    lookup instead of a scan over JSON. ``modified`` repeats the item's, and
    the primary key (facet, value, modified, item_id) is in feed order: a
    filtered feed reads the newest rows of one value without touching the
    others (the store rewrites an item's rows with every version, which
    keeps the copy current). On SQLite the table is clustered by that key
    (``WITHOUT ROWID``): each row is written to two b-trees, not four
    (migration 0007). ``item_seq`` is the seq of the item version the row
    belongs to: the store finds an item's rows by it (its index only grows
    at its end), and writes and removes them itself, with the item, so no
    foreign key checks them (migration 0010).
    """

    __tablename__ = "item_facet"
    __table_args__ = (
        Index("ix_item_facet_seq", "item_seq"),
        {"sqlite_with_rowid": False},
    )

    facet: str = Field(primary_key=True, max_length=20)
    value: str = Field(primary_key=True, max_length=100)
    modified: datetime = Field(sa_column=Column(UTCDateTime(), primary_key=True))
    item_id: str = Field(sa_column=Column(String(2048), primary_key=True))
    item_seq: int = Field(sa_column=Column(BigInteger, nullable=False))


class ItemSourceRow(SQLModel, table=True):
    """Provenance: which source delivered which item, and what it said."""

    __tablename__ = "item_source"

    item_id: str = Field(
        sa_column=Column(String(2048), ForeignKey("item.id", ondelete="CASCADE"), primary_key=True)
    )
    source_id: str = Field(sa_column=Column(String(100), primary_key=True))
    first_seen: datetime = Field(sa_column=_utc_column(nullable=False))
    last_seen: datetime = Field(sa_column=_utc_column(nullable=False))
    # As the source reported it, before any stamping (sloppy origins).
    reported_modified: datetime = Field(sa_column=_utc_column(nullable=False))
    reported_hash: str = Field(max_length=64)
    via: str = Field(default="[]", sa_column=Column(Text, nullable=False, default="[]"))


class CounterRow(SQLModel, table=True):
    """Named counters; ``change_seq`` is the last change sequence handed out.

    Merges lock this row first, which serialises writers so that change
    sequence numbers become visible in order (a reader paging the changes
    feed never skips a number that commits later).
    """

    __tablename__ = "counter"

    name: str = Field(primary_key=True, max_length=50)
    value: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))


class ItemCountRow(SQLModel, table=True):
    """Live items per origin, kind and facet value, and the number of tombstones.

    Kept by every write in the same transaction (kisync.store.counts), so
    the stats read a few rows instead of counting the whole store.
    """

    __tablename__ = "item_count"

    # "origin", "kind", a facet name ("field", "audience", "programme", "tag") or "tombstones".
    name: str = Field(primary_key=True, max_length=20)
    value: str = Field(primary_key=True, max_length=100)
    n: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))


CHANGE_SEQ = "change_seq"
# The highest change sequence of a purged tombstone: a changes-feed client
# whose cursor is older has missed deletions and must resync.
PURGED_SEQ = "purged_seq"
# Tombstones modified before this moment (µs since the epoch) were purged.
PURGED_BEFORE = "purged_before_us"

# Objects the migrations create outside the SQLModel metadata.
NOT_IN_METADATA = {"item_fts", "search", "ix_item_search"}
