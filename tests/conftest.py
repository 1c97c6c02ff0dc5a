"""Shared fixtures: real databases on both backends.

Every store test runs on SQLite, and on PostgreSQL when
``KISYNC_TEST_DATABASE_URL`` names a server (``.ci/run`` sets it). Each
PostgreSQL test session gets a database of its own, created and dropped
here, so runs never see each other's rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from kisync.store.db import create_engine, normalize_url, upgrade
from kisync.store.repository import Store

REPO = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("KISYNC_TEST_DATABASE_URL")
BACKENDS = ["sqlite", "postgresql"]

# Tables in the order they can be emptied (children first).
_TABLES = ["item_facet", "item_source", "item", "item_count", "source_state", "source", "centre"]


def reset_store(engine: Engine) -> None:
    """Empty every table and restart the change sequence."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text(f"TRUNCATE {', '.join(_TABLES)} CASCADE"))
        else:
            for table in [*_TABLES, "item_fts"]:
                conn.execute(sa.text(f"DELETE FROM {table}"))
        conn.execute(sa.text("UPDATE counter SET value = 0"))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session."""
    if not PG_URL:
        pytest.skip("PostgreSQL tests need KISYNC_TEST_DATABASE_URL (e.g. postgresql://postgres@127.0.0.1/test)")
    admin = sa.create_engine(normalize_url(PG_URL), isolation_level="AUTOCOMMIT")
    name = f"kisync_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = make_url(normalize_url(PG_URL)).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path) -> Iterator[str]:
    """A migrated, empty database URL on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'kisync.db'}"
        engine = create_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
    else:
        url = request.getfixturevalue("postgres_url")
        engine = create_engine(url)
        reset_store(engine)
        engine.dispose()
        yield url


@pytest.fixture
def engine(database_url) -> Iterator[Engine]:
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def store(engine) -> Store:
    return Store(engine)
