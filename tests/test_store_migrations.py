"""Migrations on a populated store, on real SQLite and PostgreSQL: what a revision fills in for existing rows."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from kisync.store.db import current_revision, head_revision, upgrade
from kisync.store.repository import Store
from kisync.web import query as q
from kisync.web.params import ItemFilter
from tests.test_web_query import RELAY, fill


def facet_rows(engine) -> list[tuple]:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT facet, value, item_id, modified FROM item_facet ORDER BY 1, 2, 3")).all()


def test_0004_gives_existing_facet_rows_their_items_modified(store: Store, engine):
    from alembic import command

    from kisync.store.db import _alembic_config

    fill(store, random.Random(6))
    before = facet_rows(engine)
    flt = ItemFilter(fields=("schule", "querschnitt"), centres=("ki-05170", "ki-05158"))
    with engine.connect() as conn:
        newest = [r.id for r in conn.execute(q.select_newest(flt, engine.dialect.name, 10))]
    command.downgrade(_alembic_config(engine), "0003")
    assert current_revision(engine) == "0003"
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    assert facet_rows(engine) == before and len(before) > 50
    with engine.connect() as conn:
        assert [r.id for r in conn.execute(q.select_newest(flt, engine.dialect.name, 10))] == newest


def test_0005_counts_the_stored_items(store: Store, engine):
    from alembic import command

    from kisync.store.db import _alembic_config
    from tests.test_store_counts import full_recount, kept_counts

    fill(store, random.Random(7))
    command.downgrade(_alembic_config(engine), "0004")
    upgrade(engine)
    with engine.connect() as conn:
        expected = full_recount(conn)
        assert kept_counts(conn) == expected
    assert expected["tombstones"] > 0 and len(expected["tag"]) > 1


def search(engine, words: str) -> list[str]:
    with engine.connect() as conn:
        return sorted(r.id for r in conn.execute(q.select_items(ItemFilter(q=words), engine.dialect.name)))


def test_0006_keys_the_full_text_rows_by_seq_and_finds_the_same(store: Store, engine):
    from alembic import command

    from kisync.store.db import _alembic_config

    fill(store, random.Random(8))
    words = ["Sprachcafé", "Elternabend", "Ferienprogramm", "nichtvorhanden"]
    before = {w: search(engine, w) for w in words}
    command.downgrade(_alembic_config(engine), "0005")
    upgrade(engine)
    assert {w: search(engine, w) for w in words} == before
    assert any(before.values())
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            live = conn.execute(sa.text("SELECT count(*) FROM item WHERE NOT deleted")).scalar()
            assert conn.execute(sa.text("SELECT count(*) FROM item_fts")).scalar() == live
            orphans = "SELECT count(*) FROM item_fts WHERE rowid NOT IN (SELECT seq FROM item WHERE NOT deleted)"
            assert conn.execute(sa.text(orphans)).scalar() == 0


def test_0007_keys_facets_in_feed_order_and_keeps_every_row(store: Store, engine):
    from alembic import command

    from kisync.store.db import _alembic_config

    fill(store, random.Random(9))
    flt = ItemFilter(fields=("schule",), programmes=("griffbereit", "kim"))
    before, newest = facet_rows(engine), _newest(engine, flt)
    command.downgrade(_alembic_config(engine), "0006")
    assert facet_rows(engine) == before and _newest(engine, flt) == newest
    upgrade(engine)
    assert facet_rows(engine) == before and len(before) > 50 and len(newest) == 10
    assert _newest(engine, flt) == newest
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            sql = conn.execute(sa.text("SELECT sql FROM sqlite_master WHERE name = 'item_facet'")).scalar()
            assert sql.rstrip().endswith("WITHOUT ROWID") and "PRIMARY KEY (facet, value, modified, item_id)" in sql
        else:
            key = sa.inspect(conn).get_pk_constraint("item_facet")["constrained_columns"]
            assert key == ["facet", "value", "modified", "item_id"]


def test_0010_finds_facet_rows_by_seq_and_keeps_every_row(store: Store, engine):
    from alembic import command

    from kisync.store.db import _alembic_config

    fill(store, random.Random(11))
    flt = ItemFilter(fields=("schule",), programmes=("griffbereit", "kim"))
    before, newest = facet_rows(engine), _newest(engine, flt)
    if engine.dialect.name == "sqlite":
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")  # a store the tidy has analysed: the rebuild must not lose that
    command.downgrade(_alembic_config(engine), "0009")
    assert facet_rows(engine) == before and _newest(engine, flt) == newest
    with engine.connect() as conn:
        assert [fk["referred_table"] for fk in sa.inspect(conn).get_foreign_keys("item_facet")] == ["item"]
    upgrade(engine)
    assert facet_rows(engine) == before and len(before) > 50 and len(newest) == 10
    assert _newest(engine, flt) == newest
    with engine.connect() as conn:
        inspector = sa.inspect(conn)
        assert inspector.get_foreign_keys("item_facet") == []
        assert {i["name"]: i["column_names"] for i in inspector.get_indexes("item_facet")} == {
            "ix_item_facet_seq": ["item_seq"]
        }
        wrong = "SELECT count(*) FROM item_facet f JOIN item i ON i.id = f.item_id WHERE f.item_seq <> i.seq"
        assert conn.execute(sa.text(wrong)).scalar() == 0
        if engine.dialect.name == "sqlite":
            analysed = "SELECT idx FROM sqlite_stat1 WHERE tbl = 'item_facet' ORDER BY idx"
            assert conn.execute(sa.text(analysed)).scalars().all() == ["item_facet", "ix_item_facet_seq"]
    # A newer version of an item replaces its rows, found by the old seq.
    changed = before[0].item_id
    stored = store.get(changed)
    newer = stored.model_copy(update={"modified": stored.modified + timedelta(hours=1), "title": "Neu"})
    store.merge([newer], RELAY)
    with engine.connect() as conn:
        seqs = conn.execute(sa.text("SELECT DISTINCT item_seq FROM item_facet WHERE item_id = :id"), {"id": changed}).all()
        seq = conn.execute(sa.text("SELECT seq FROM item WHERE id = :id"), {"id": changed}).scalar()
    assert seqs == [(seq,)]


def _newest(engine, flt: ItemFilter) -> list[str]:
    with engine.connect() as conn:
        return [r.id for r in conn.execute(q.select_newest(flt, engine.dialect.name, 10))]


def test_0008_reads_the_full_text_vocabulary(store: Store, engine):
    from alembic import command

    from kisync.store.db import _alembic_config

    fill(store, random.Random(10))
    command.downgrade(_alembic_config(engine), "0007")
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    if engine.dialect.name == "sqlite":
        terms = "SELECT DISTINCT term FROM item_fts_terms WHERE term >= 'e' AND term < 't' ORDER BY term"
        with engine.connect() as conn:
            assert conn.execute(sa.text(terms)).scalars().all() == ["elternabend", "ferienprogramm", "lesepaten", "sprachcafe"]


def _source_rows(engine, switches: str) -> list[tuple]:
    with engine.connect() as conn:
        sql = f"SELECT id, url, format, centre_id, relay, interval, defaults, managed_by, {switches} FROM source ORDER BY id"
        return [tuple(row) for row in conn.execute(sa.text(sql))]


def _state_rows(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.text("SELECT * FROM source_state ORDER BY source_id"))]


def test_0009_keeps_the_operators_and_the_files_switch_apart(engine):
    """Where 0008 stored one ``enabled``, 0009 keeps two switches; the next start settles what only the file can tell."""
    from alembic import command

    from kisync.config import SourceSettings
    from kisync.sources import Outcome, SourceRegistry
    from kisync.store.db import _alembic_config

    command.downgrade(_alembic_config(engine), "0008")
    stored = {  # id: (managed_by, enabled as 0008 stored it)
        "config-on": ("config", True),
        "config-off-by-the-file": ("config", False),  # the file still says false
        "config-off-by-whom": ("config", False),  # the file says true: an operator's disable (or a lost edit)
        "admin-on": ("admin", True),
        "admin-off": ("admin", False),
    }
    with engine.begin() as conn:
        for source_id, (managed_by, enabled) in stored.items():
            conn.execute(
                sa.text("INSERT INTO source (id, url, format, centre_id, relay, interval, defaults, enabled, managed_by) "
                        "VALUES (:id, :url, 'feed', 'ki-05154', false, 1800, '{}', :enabled, :managed_by)"),
                {"id": source_id, "url": f"https://ki.example/{source_id}.rss", "enabled": enabled, "managed_by": managed_by},
            )
            conn.execute(sa.text("INSERT INTO source_state (source_id, consecutive_failures, seen, new, updated, deleted, "
                                 "warnings, deletion_approved) VALUES (:id, 2, 7, 1, 0, 0, '[]', false)"), {"id": source_id})
    definitions, state = _source_rows(engine, "enabled"), _state_rows(engine)

    upgrade(engine)

    assert current_revision(engine) == head_revision()
    switches = {row[0]: tuple(row[-2:]) for row in _source_rows(engine, "operator_enabled, config_enabled")}
    assert switches == {
        "config-on": (True, True),
        "config-off-by-the-file": (False, None),  # undecided until a start reads the file
        "config-off-by-whom": (False, None),
        "admin-on": (True, True),
        "admin-off": (False, True),
    }
    assert [row[:-1] for row in _source_rows(engine, "operator_enabled")] == [row[:-1] for row in definitions]
    assert _state_rows(engine) == state
    registry = SourceRegistry(engine)
    assert {s.id: s.enabled for s in registry.list()} == {i: enabled for i, (_, enabled) in stored.items()}

    def start(by_the_file: bool) -> None:
        config = {"config-on": True, "config-off-by-the-file": by_the_file, "config-off-by-whom": True}
        registry.sync_config([SourceSettings(id=i, url=f"https://ki.example/{i}.rss", centre="ki-05154", enabled=on)
                              for i, on in config.items()], 1800)

    registry.record("config-off-by-the-file", Outcome(attempted=datetime.now(UTC), ok=False, error="x",
                                                       next_due=datetime.now(UTC) + timedelta(days=1)))
    start(by_the_file=False)
    disabled_by = {s.id: s.disabled_by for s in registry.list()}
    assert disabled_by == {"config-on": [], "config-off-by-the-file": ["config"], "config-off-by-whom": ["operator"],
                           "admin-on": [], "admin-off": ["operator"]}
    start(by_the_file=True)  # the edit the old code lost: the source is fetched again, at the next tick
    again = registry.get("config-off-by-the-file")
    assert (again.enabled, again.next_due) == (True, None)
    assert not registry.get("config-off-by-whom").enabled

    start(by_the_file=False)
    definitions, state = _source_rows(engine, "operator_enabled"), _state_rows(engine)
    command.downgrade(_alembic_config(engine), "0008")  # one switch again: on only when both were
    assert [row[:-1] for row in _source_rows(engine, "enabled")] == [row[:-1] for row in definitions]
    assert _state_rows(engine) == state
    enabled = {row[0]: bool(row[-1]) for row in _source_rows(engine, "enabled")}
    assert enabled == {"config-on": True, "config-off-by-the-file": False, "config-off-by-whom": False,
                       "admin-on": True, "admin-off": False}
    upgrade(engine)
    assert current_revision(engine) == head_revision()
