"""The store on real SQLite and PostgreSQL: merges, the change sequence, migrations."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kisync.errors import StorageError
from kisync.model import version_key
from kisync.store.db import create_engine, current_revision, head_revision, include_name, open_engine, upgrade
from kisync.store.merge import MergeContext
from kisync.store.repository import Store
from kisync.store.rows import row_parts
from tests.conftest import reset_store
from tests.factories import T0, live, tombstone
from tests.test_merge import expected_state, versions

NOW = T0 + timedelta(days=30)
RELAY = MergeContext(node_centre="ki-05315", now=NOW, source_id="relay", relay=True)


def test_merge_inserts_updates_and_tombstones(store: Store):
    first = store.merge([live(minutes=1), live("https://example.org/p/2", minutes=1)], RELAY)
    assert (first.new, first.updated, first.deleted) == (2, 0, 0)
    again = store.merge([live(minutes=1)], RELAY)
    assert (again.new, again.updated, again.unchanged, again.changed) == (0, 0, 1, 0)
    update = store.merge([live(minutes=2, title="Rucksack KiTa Moers"), tombstone("https://example.org/p/2", minutes=3)], RELAY)
    assert (update.updated, update.deleted) == (1, 1)
    assert store.get("https://example.org/p/1").title == "Rucksack KiTa Moers"
    assert store.get("https://example.org/p/2").deleted is True
    assert store.counts() == {"live": 1, "deleted": 1}


def test_change_sequence_orders_changes_once_per_item(store: Store):
    store.merge([live("https://example.org/p/1"), live("https://example.org/p/2")], RELAY)
    store.merge([live("https://example.org/p/1", minutes=5, title="neu")], RELAY)
    changes = store.changes(since=0)
    assert [json.loads(data)["id"] for _, data in changes] == ["https://example.org/p/2", "https://example.org/p/1"]
    seqs = [seq for seq, _ in changes]
    assert seqs == sorted(seqs) and store.last_seq() == 3
    assert store.changes(since=seqs[0]) == changes[1:]
    # Nothing changed: the sequence does not move.
    store.merge([live("https://example.org/p/1", minutes=5, title="neu")], RELAY)
    assert store.last_seq() == 3


def test_changes_filter_by_origin(store: Store):
    store.merge([live("https://example.org/a", origin="ki-05170"), live("https://example.org/b", origin="ki-05154")], RELAY)
    assert [json.loads(d)["id"] for _, d in store.changes(origin="ki-05154")] == ["https://example.org/b"]


def test_provenance_records_each_source(store: Store):
    item = live()
    store.merge([item], MergeContext(node_centre="ki-05315", now=NOW, source_id="wesel", source_centre="ki-05170"))
    store.merge([item], MergeContext(node_centre="ki-05315", now=NOW + timedelta(hours=1), source_id="laki", relay=True))
    rows = store.provenance(item.id)
    assert [r["source_id"] for r in rows] == ["laki", "wesel"]
    assert rows[0]["last_seen"] == NOW + timedelta(hours=1)


def test_sloppy_origin_is_stamped_once(store: Store):
    ctx = MergeContext(node_centre="ki-05315", now=NOW, source_id="wesel", source_centre="ki-05170")
    store.merge([live(minutes=1, title="Alt")], ctx)
    result = store.merge([live(minutes=1, title="Neu")], ctx)
    assert result.updated == 1 and [w.code for w in result.warnings] == ["modified_not_changed"]
    assert store.get(live().id).modified == NOW
    # The same sloppy copy again is not a change and not a warning.
    later = MergeContext(node_centre="ki-05315", now=NOW + timedelta(hours=1), source_id="wesel", source_centre="ki-05170")
    again = store.merge([live(minutes=1, title="Neu")], later)
    assert again.changed == 0 and not again.warnings


def test_large_batch_uses_chunks(store: Store):
    items = [live(f"https://example.org/p/{n}", title=f"Projekt {n}") for n in range(1_234)]
    result = store.merge(items, RELAY)
    assert result.new == 1_234 and store.last_seq() == 1_234
    assert store.merge(items, RELAY).unchanged == 1_234


def test_concurrent_merges_keep_the_newest_and_unique_sequence(database_url):
    """Two writers at once: the version order holds and no sequence number is reused."""
    engines = [create_engine(database_url) for _ in range(2)]
    stores = [Store(e) for e in engines]
    batches = [
        [live(f"https://example.org/p/{n}", minutes=w, title=f"w{w}") for n in range(200)] for w in (1, 2)
    ]
    errors: list[BaseException] = []

    def run(store, batch):
        try:
            for start in range(0, len(batch), 20):
                store.merge(batch[start : start + 20], RELAY)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=pair) for pair in zip(stores, batches, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert all(key.startswith("2026-01-01T00:02") for key in stores[0].versions().values())
    seqs = [seq for seq, _ in stores[0].changes(limit=10_000)]
    assert len(seqs) == len(set(seqs)) == 200
    for engine in engines:
        engine.dispose()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(versions, st.randoms(use_true_random=False), st.lists(st.integers(1, 5), max_size=12), st.integers(1, 2))
def test_store_converges_whatever_the_order(engine, items, rnd, batch_sizes, repeats):
    reset_store(engine)
    store = Store(engine)
    shuffled = items * repeats
    rnd.shuffle(shuffled)
    sizes = iter(batch_sizes)
    start = 0
    while start < len(shuffled):
        size = next(sizes, 1)
        store.merge(shuffled[start : start + size], RELAY)
        start += size
    assert store.versions() == expected_state(items)
    assert all(store.get(i).deleted == key.split("|")[1].endswith("1") for i, key in expected_state(items).items())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(versions, st.lists(st.integers(1, 5), max_size=12), st.integers(1, 4))
def test_merge_many_is_the_merges_one_after_the_other(engine, items, batch_sizes, group):
    """Batches that share a commit end exactly where separate merges end: items, sequence, results."""
    batches, start, sizes = [], 0, iter(batch_sizes)
    while start < len(items):
        size = next(sizes, 1)
        batches.append(items[start : start + size])
        start += size
    contexts = [MergeContext(node_centre="ki-05315", now=NOW, source_id=f"s{n % 3}", relay=True)
                for n in range(len(batches))]

    def state(store: Store):
        return store.versions(), store.changes(limit=10_000), store.last_seq()

    reset_store(engine)
    store = Store(engine)
    alone = [store.merge(batch, ctx) for batch, ctx in zip(batches, contexts, strict=True)]
    expected = state(store)
    reset_store(engine)
    together = []
    for first in range(0, len(batches), group):
        together += store.merge_many([(b, c, None, None) for b, c in zip(batches, contexts, strict=True)][first : first + group])
    assert state(store) == expected
    assert together == alone


def _stored_rows(engine) -> tuple:
    """Every item row (all columns), facet row and full-text row: what a merge wrote."""
    with engine.connect() as conn:
        items = conn.execute(sa.text("SELECT * FROM item ORDER BY id")).all()
        facets = conn.execute(sa.text("SELECT * FROM item_facet ORDER BY 1, 2, 3, 4")).all()
        sqlite = engine.dialect.name == "sqlite"
        fts = conn.execute(sa.text("SELECT rowid, text FROM item_fts ORDER BY rowid")).all() if sqlite else []
    return items, facets, fts


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(versions, st.lists(st.integers(1, 5), max_size=12))
def test_row_parts_given_store_what_the_merge_would_compute(engine, items, batch_sizes):
    """A sync hands the store row_parts computed on its parser processes: the rows are the same as without them."""
    batches, start, sizes = [], 0, iter(batch_sizes)
    while start < len(items):
        size = next(sizes, 1)
        batches.append(items[start : start + size])
        start += size

    reset_store(engine)
    store = Store(engine)
    for batch in batches:
        store.merge(batch, RELAY)
    expected = _stored_rows(engine)
    reset_store(engine)
    for batch in batches:
        store.merge(batch, RELAY, None, [row_parts(item) for item in batch])
    assert _stored_rows(engine) == expected


def test_given_row_parts_are_written_only_for_items_stored_as_they_came(store: Store, engine):
    ctx = MergeContext(node_centre="ki-05315", now=NOW, source_id="wesel", source_centre="ki-05170")
    marked = row_parts(live())._replace(search_text="gegeben")
    store.merge([live(minutes=1, title="Alt")], ctx, None, [marked])
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT search_text FROM item")).scalar() == "gegeben"  # taken as given
    # Sloppy origin: the merge stamps `modified`, a new item; what was given for the old one does not fit it.
    result = store.merge([live(minutes=1, title="Neu")], ctx, None, [marked])
    assert [w.code for w in result.warnings] == ["modified_not_changed"]
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT search_text FROM item")).scalar() == row_parts(store.get(live().id)).search_text
    assert store.get(live().id).modified == NOW and store.get(live().id).title == "Neu"


def test_row_parts_of_an_item_with_served_fields_are_not_written(store: Store, engine):
    """A peer's served view (``_also_reported_by``) is left out by the merge: parts computed with it do not fit."""
    item = live()
    served = type(item).model_validate(
        {**item.model_dump(mode="json"), "_also_reported_by": [{"id": "urn:kisync:feed:0", "origin": "ki-05170"}]}
    )
    store.merge([served], RELAY, None, [row_parts(served)])
    with engine.connect() as conn:
        data = conn.execute(sa.text("SELECT data FROM item")).scalar()
    assert "_also_reported_by" not in data and data == row_parts(item).data


def test_merge_many_stores_nothing_when_one_batch_fails(store: Store):
    # Fails in the second batch's merge plan, after the first batch's rows were written.
    broken = live("https://example.org/p/broken").model_copy(update={"modified": None})
    with pytest.raises(TypeError):
        store.merge_many([([live("https://example.org/p/1")], RELAY, None, None), ([broken], RELAY, None, None)])
    assert store.versions() == {} and store.last_seq() == 0


def test_future_item_is_refused_and_nothing_written(store: Store):
    result = store.merge([live(minutes=int(timedelta(days=40).total_seconds() // 60))], RELAY)
    assert result.changed == 0 and [w.code for w in result.warnings] == ["future_modified"]
    assert store.versions() == {} and store.last_seq() == 0


def test_own_origin_dropped_in_the_store(store: Store):
    result = store.merge([live(origin="ki-05315")], RELAY)
    assert result.dropped_own == 1 and store.versions() == {}


def test_version_key_is_stored_as_computed(store: Store):
    item = live(minutes=7)
    store.merge([item], RELAY)
    assert store.versions() == {item.id: version_key(item)}


# -- migrations ------------------------------------------------------------------


def test_unmigrated_database_is_refused_with_the_command_to_run(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    with pytest.raises(StorageError, match="kisync db upgrade"):
        open_engine(url)
    engine = create_engine(url)
    assert current_revision(engine) is None
    assert upgrade(engine) == head_revision()
    open_engine(url).dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'k.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_migration_matches_the_tables(engine):
    """Alembic's autogenerate finds nothing to do: the revisions describe the models."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": include_name, "compare_type": True})
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == []


def test_postgres_unreachable_is_a_storage_error():
    engine = create_engine("postgresql://nobody@127.0.0.1:1/none")
    with pytest.raises(StorageError, match="unreachable"):
        current_revision(engine)
    assert isinstance(sa.__version__, str)


def test_facets_and_search_text_follow_the_current_version(store: Store, engine):
    store.merge([live(programmes=["rucksack_kita"], tags=["Mehrsprachigkeit"], content_html="<p>Elterncafé in Moers</p>")],
                RELAY)
    with engine.connect() as conn:
        facets = set(conn.execute(sa.text("SELECT facet, value FROM item_facet")).all())
        assert facets == {("field", "elementarbereich"), ("programme", "rucksack_kita"), ("tag", "mehrsprachigkeit")}
        if engine.dialect.name == "sqlite":
            hits = conn.execute(sa.text(
                "SELECT item.id FROM item_fts JOIN item ON item.seq = item_fts.rowid WHERE item_fts MATCH 'elterncafe'"
            )).all()
        else:
            hits = conn.execute(sa.text("SELECT id FROM item WHERE search @@ plainto_tsquery('german', 'Elterncafé')")).all()
        assert [h[0] for h in hits] == ["https://example.org/p/1"]
    store.merge([tombstone(minutes=1)], RELAY)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM item_facet")).scalar() == 0
        if engine.dialect.name == "sqlite":
            assert conn.execute(sa.text("SELECT count(*) FROM item_fts")).scalar() == 0


def test_purge_removes_old_tombstones_and_records_the_horizon(store: Store, engine):
    from kisync.store.maintenance import purge_tombstones, tidy, tombstone_horizon

    store.merge([tombstone("https://example.org/old", minutes=1), tombstone("https://example.org/new", minutes=500),
                 live("https://example.org/live", minutes=2)], RELAY)
    assert tombstone_horizon(engine) is None
    old_seq = next(seq for seq, data in store.changes() if "/old" in data)
    before = T0 + timedelta(minutes=100)
    assert purge_tombstones(engine, before) == 1
    assert set(store.versions()) == {"https://example.org/new", "https://example.org/live"}
    assert tombstone_horizon(engine) == before
    with engine.connect() as conn:
        purged_seq = conn.execute(sa.text("SELECT value FROM counter WHERE name = 'purged_seq'")).scalar()
    assert purged_seq == old_seq
    assert purge_tombstones(engine, before) == 0
    tidy(engine)


def test_full_text_follows_each_new_version_and_leaves_no_old_rows(store: Store, engine):
    """FTS rows are keyed by the item's seq: replaced, not added to, when a version replaces another."""
    from kisync.web import query as q
    from kisync.web.params import ItemFilter

    def found(words: str) -> list[str]:
        with engine.connect() as conn:
            return [r.id for r in conn.execute(q.select_items(ItemFilter(q=words), engine.dialect.name))]

    store.merge([live(content_html="<p>Elterncafé in Moers</p>")], RELAY)
    store.merge([live(minutes=1, content_html="<p>Sprachcafé in Wesel</p>")], RELAY)
    store.merge([live("https://example.org/p/2", content_html="<p>Sprachcafé in Kleve</p>")], RELAY)
    assert found("Elterncafé") == []
    assert sorted(found("Sprachcafé")) == ["https://example.org/p/1", "https://example.org/p/2"]
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM item_fts")).scalar() == 2
