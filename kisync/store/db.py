"""Database engines and migrations.

SQLite is the embedded default (WAL, foreign keys on); PostgreSQL is used
by URL. Every command that needs the database calls ``open_engine``, which
refuses an unmigrated database and says which command fixes it.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine, make_url

from kisync.errors import StorageError
from kisync.store.tables import NOT_IN_METADATA

MIGRATIONS = Path(__file__).parent / "migrations"


def normalize_url(url: str) -> str:
    """Pick our drivers: psycopg 3 for PostgreSQL, the standard sqlite3 module."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def describe_url(url: str) -> str:
    """The URL for logs and messages: never with its password."""
    return make_url(url).render_as_string(hide_password=True)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the web side read while a sync writes; busy_timeout makes a
    # second writer wait instead of failing at once.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Checkpoint the WAL every 64 MB instead of every 4 MB: each checkpoint syncs the database
    # file, and a cold sync writes hundreds of MB (the hourly tidy truncates the WAL).
    cursor.execute("PRAGMA wal_autocheckpoint=16384")
    # A 16 MB page cache instead of 2 MB: a merge inserts facet and index rows all over
    # their b-trees, and with 2 MB most inserts first read their page back (issue #7:
    # facet inserts of a cold sync 7.0 s -> 3.1 s). Pages are taken only as they are used.
    cursor.execute("PRAGMA cache_size=-16384")
    cursor.close()


def create_engine(url: str, **kwargs) -> Engine:
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql":
        return sa.create_engine(url, pool_pre_ping=True, **kwargs)
    raise StorageError(f"database: unsupported URL {describe_url(url)}: use sqlite:///PATH or postgresql://…")


def include_name(name, type_, parent_names) -> bool:
    """For Alembic: leave alone what migrations make by hand (FTS5 tables, the tsvector column)."""
    if type_ == "table" and name and name.startswith("item_fts"):
        return False
    return not (type_ in ("column", "index") and name in NOT_IN_METADATA)


def _alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    script = ScriptDirectory.from_config(_alembic_config(None))  # type: ignore[arg-type]
    head = script.get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except sa.exc.OperationalError as error:
        raise StorageError(f"database {describe_url(str(engine.url))} is unreachable: {error.orig}") from error


def upgrade(engine: Engine, revision: str = "head") -> str:
    command.upgrade(_alembic_config(engine), revision)
    return current_revision(engine) or ""


def require_migrated(engine: Engine) -> None:
    current, head = current_revision(engine), head_revision()
    if current != head:
        state = "has no kisync tables" if current is None else f"is at revision {current}, the code needs {head}"
        raise StorageError(
            f"database {describe_url(str(engine.url))} {state}: run `kisync db upgrade` first"
        )


def dialect_insert(engine: Engine):
    """The backend's INSERT with ON CONFLICT support (both SQLite and PostgreSQL have it)."""
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def open_engine(url: str) -> Engine:
    """An engine on a migrated database, or a StorageError that says what to run."""
    engine = create_engine(url)
    require_migrated(engine)
    return engine
