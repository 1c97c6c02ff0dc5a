"""The read queries of kisync.web.query on real SQLite and PostgreSQL.

``select_newest`` reads a filtered page from a composite index instead of
sorting every match; it must find exactly the first rows of the plain
definition, ``select_items``, whatever the filters, the cursor and the
store's history (updates change an item's facets and ``modified``,
tombstones remove them).
"""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
import sqlalchemy as sa

from kisync.store.merge import MergeContext
from kisync.store.repository import Store
from kisync.store.tables import ItemRow
from kisync.web import query as q
from kisync.web.params import Cursor, ItemFilter
from tests.factories import T0, live, tombstone

ITEM = ItemRow.__table__
NOW = T0 + timedelta(days=30)
RELAY = MergeContext(node_centre="ki-05315", now=NOW, source_id="relay", relay=True)
CENTRES = ["ki-05170", "ki-05158", "ki-05334"]
FIELDS = ["querschnitt", "elementarbereich", "schule", "uebergang_schule_beruf"]
AUDIENCES = ["eltern", "kinder", "jugendliche"]
PROGRAMMES = ["rucksack_kita", "griffbereit", "kim"]
TAGS = ["sprache", "elterncafe", "ferien"]
WORDS = ["Sprachcafé", "Elternabend", "Ferienprogramm", "Lesepaten"]


def random_version(rnd: random.Random, n: int, minutes: int):
    item_id = f"https://example.org/p/{n}"
    origin = rnd.choice(CENTRES)
    if rnd.random() < 0.15:
        return tombstone(item_id, minutes=minutes, origin=origin)
    return live(
        item_id,
        minutes=minutes,
        origin=origin,
        kind=rnd.choice(["project", "event", "news"]),
        title=f"{rnd.choice(WORDS)} {n}",
        fields_of_action=rnd.sample(FIELDS, rnd.randint(1, 2)),
        audience=rnd.sample(AUDIENCES, rnd.randint(0, 2)),
        programmes=rnd.sample(PROGRAMMES, rnd.randint(0, 2)),
        tags=rnd.sample(TAGS, rnd.randint(0, 2)),
    )


def fill(store: Store, rnd: random.Random, count: int = 80) -> None:
    """``count`` ids, then newer versions of a third of them; ``modified`` ties on purpose."""
    store.merge([random_version(rnd, n, rnd.randrange(40)) for n in range(count)], RELAY)
    store.merge([random_version(rnd, n, 40 + rnd.randrange(20)) for n in rnd.sample(range(count), count // 3)], RELAY)


FILTERS = [
    ItemFilter(),
    ItemFilter(fields=("schule",)),
    ItemFilter(fields=("schule", "querschnitt")),
    ItemFilter(centres=("ki-05170",)),
    ItemFilter(centres=("ki-05170", "ki-05334")),
    ItemFilter(programmes=("griffbereit",), kinds=("event", "news")),
    ItemFilter(audiences=("eltern", "kinder"), tags=("sprache",)),
    ItemFilter(fields=("schule", "elementarbereich"), centres=("ki-05158", "ki-05170")),
    ItemFilter(tags=("ferien",), q="Ferienprogramm"),
    ItemFilter(centres=("ki-05170",), q="Sprachcafé"),
    ItemFilter(q="Elternabend"),
    ItemFilter(fields=("schule",), modified_since=T0 + timedelta(minutes=20)),
    ItemFilter(centres=("ki-05158",), modified_until=T0 + timedelta(minutes=45)),
    ItemFilter(programmes=("nonesuch",)),
]


def ids(conn, query) -> list[str]:
    return [row.id for row in conn.execute(query)]


@pytest.mark.parametrize("seed", [1, 2])
def test_newest_rows_are_the_first_rows_of_the_definition(store: Store, engine, seed):
    rnd = random.Random(seed)
    fill(store, rnd)
    dialect = engine.dialect.name
    checked = 0
    with engine.connect() as conn:
        for flt in FILTERS:
            for tombstones in (False, True):
                everything = ids(conn, q.select_items(flt, dialect, include_tombstones=tombstones))
                for limit in (1, 7, 200):
                    newest = q.select_newest(flt, dialect, limit, include_tombstones=tombstones)
                    assert ids(conn, newest) == everything[:limit], (flt, tombstones, limit)
                # After a cursor in the middle (an id, or one that is no item's, at a tied `modified`).
                for position in rnd.sample(range(len(everything)), min(3, len(everything))):
                    modified = conn.execute(sa.select(ITEM.c.modified).where(ITEM.c.id == everything[position])).scalar_one()
                    after = Cursor(modified, everything[position])
                    for cursor in (after, Cursor(after.modified, after.id + "0")):
                        rest = ids(conn, q.select_items(flt, dialect, include_tombstones=tombstones, after=cursor))
                        newest = q.select_newest(flt, dialect, 5, include_tombstones=tombstones, after=cursor)
                        assert ids(conn, newest) == rest[:5], (flt, cursor)
                        checked += 1
    assert checked > 20


def test_pages_by_cursor_find_the_whole_filtered_set(store: Store, engine):
    fill(store, random.Random(3))
    flt = ItemFilter(fields=("schule", "elementarbereich"))
    with engine.connect() as conn:
        everything = ids(conn, q.select_items(flt, engine.dialect.name))
    assert len(everything) > 10
    seen: list[str] = []
    after = None
    while True:
        page = q.read_page(engine, flt, 4, include_tombstones=False, after=after)
        seen += [row.id for row in page.rows]
        if page.next is None:
            break
        after = page.next
    assert seen == everything


def test_facet_rows_carry_the_current_modified(store: Store, engine):
    fill(store, random.Random(4))
    with engine.connect() as conn:
        stale = conn.execute(sa.text(
            "SELECT count(*) FROM item_facet f JOIN item i ON i.id = f.item_id WHERE f.modified <> i.modified"
        )).scalar()
        facets = conn.execute(sa.text("SELECT count(*) FROM item_facet")).scalar()
    assert facets > 0 and stale == 0


@pytest.mark.parametrize("flt, index", [
    (ItemFilter(fields=("schule",)), "drv USING PRIMARY KEY"),
    (ItemFilter(centres=("ki-05170",), kinds=("event",)), "ix_item_origin_modified"),
    (ItemFilter(programmes=("griffbereit", "kim"), kinds=("event",)), "drv USING PRIMARY KEY"),
    (ItemFilter(centres=("ki-05170", "ki-05158"), fields=("schule", "querschnitt", "elementarbereich")),
     "ix_item_origin_modified"),
])
def test_sqlite_reads_a_filtered_page_in_index_order(tmp_path, flt, index):
    """No sort of every match: each value's rows come from the composite index, newest first.

    With several values SQLite may sort each branch's output (at most
    ``limit`` rows) to merge them, but never the rows it reads from the index.
    """
    from kisync.store.db import create_engine, upgrade

    engine = create_engine(f"sqlite:///{tmp_path / 'plan.db'}")
    upgrade(engine)
    fill(Store(engine), random.Random(5))
    query = q.select_newest(flt, "sqlite", 50)
    compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        plan = [(parent, step) for _, parent, _, step in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")]
    engine.dispose()
    reads = {parent for parent, step in plan if index in step}
    sorts = {parent for parent, step in plan if "TEMP B-TREE" in step}
    assert reads, plan
    assert not reads & sorts, plan
    if len(flt.centres) == 1 or len(flt.fields) == 1:
        assert not sorts, plan


# sqlite_stat1 as PRAGMA optimize left it on the 1M-item benchmark store (item last analysed at 100k).
LARGE_STORE_STATS = [
    ("item", "ix_item_origin_modified", "100000 1852 1 1"),
    ("item", "ix_item_modified_id", "100000 1 1"),
    ("item", "ix_item_origin_seq", "100000 1852 1"),
    ("item", "sqlite_autoindex_item_1", "100000 1"),
    ("item_facet", "sqlite_autoindex_item_facet_1", "6500349 1625088 175686 1 1"),
    ("item_facet", "ix_item_facet_item", "6500349 7"),
]


@pytest.mark.parametrize("flt", [
    ItemFilter(fields=("schule",)),
    ItemFilter(programmes=("griffbereit",)),
    ItemFilter(fields=("schule",), kinds=("event",)),
    ItemFilter(fields=("schule",), programmes=("kim",)),
    ItemFilter(programmes=("griffbereit", "kim"), langs=("de",), q="Sprachcafé"),
])
def test_sqlite_builds_no_bloom_filter_over_every_item_for_a_facet_page(tmp_path, flt):
    """With a large store's statistics, a condition on the joined item ("not deleted", a kind, another
    facet) made SQLite build a Bloom filter over all of item for the facet join (1.2 s at 1M items),
    or read all of item. Facet rows are live items' only; the other conditions are a subquery's."""
    from kisync.store.db import create_engine, upgrade

    engine = create_engine(f"sqlite:///{tmp_path / 'plan.db'}")
    upgrade(engine)
    fill(Store(engine), random.Random(5))
    compiled = q.select_newest(flt, "sqlite", 50).compile(engine, compile_kwargs={"literal_binds": True})
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.exec_driver_sql("DELETE FROM sqlite_stat1")
        conn.exec_driver_sql("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)", LARGE_STORE_STATS)
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE sqlite_schema")  # load the statistics just written
        plan = [step for *_, step in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")]
    engine.dispose()
    assert any("drv USING PRIMARY KEY" in step for step in plan), plan
    assert not any("BLOOM" in step or step.split()[:2] == ["SCAN", "item"] for step in plan), plan
