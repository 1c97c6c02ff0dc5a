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
from kisync.web import fulltext as ft
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


def every_page(engine, flt: ItemFilter, limit: int) -> list[str]:
    """The ids of ``read_page``'s pages, each read at the cursor of the one before."""
    seen: list[str] = []
    after = None
    while True:
        page = q.read_page(engine, flt, limit, include_tombstones=False, after=after)
        seen += [row.id for row in page.rows]
        if page.next is None:
            return seen
        after = page.next


def test_pages_by_cursor_find_the_whole_filtered_set(store: Store, engine):
    fill(store, random.Random(3))
    flt = ItemFilter(fields=("schule", "elementarbereich"))
    with engine.connect() as conn:
        everything = ids(conn, q.select_items(flt, engine.dialect.name))
    assert len(everything) > 10
    assert every_page(engine, flt, 4) == everything


def test_facet_rows_carry_the_current_modified_and_seq(store: Store, engine):
    fill(store, random.Random(4))
    with engine.connect() as conn:
        stale = conn.execute(sa.text(
            "SELECT count(*) FROM item_facet f JOIN item i ON i.id = f.item_id"
            " WHERE f.modified <> i.modified OR f.item_seq <> i.seq OR i.deleted"
        )).scalar()
        facets = conn.execute(sa.text("SELECT count(*) FROM item_facet")).scalar()
        joined = conn.execute(sa.text("SELECT count(*) FROM item_facet f JOIN item i ON i.id = f.item_id")).scalar()
    assert facets > 0 and stale == 0 and joined == facets


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


def sqlite_store(tmp_path) -> tuple:
    from kisync.store.db import create_engine, upgrade

    engine = create_engine(f"sqlite:///{tmp_path / 'search.db'}")
    upgrade(engine)
    return engine, Store(engine)


def sqlite_plan(tmp_path, flt: ItemFilter, search: ft.Search | None, stats: list | None) -> list[str]:
    """SQLite's plan for a page, read as ``search`` says, after ANALYZE or under ``stats`` (none: never analysed)."""
    engine, store = sqlite_store(tmp_path)
    fill(store, random.Random(5))
    compiled = q.select_newest(flt, "sqlite", 50, search=search).compile(engine, compile_kwargs={"literal_binds": True})
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
        if stats is not None:
            conn.exec_driver_sql("DELETE FROM sqlite_stat1")
            for row in stats:
                conn.exec_driver_sql("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)", row)
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE sqlite_schema")  # load the statistics just written
        plan = [step for *_, step in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")]
    engine.dispose()
    return plan


# sqlite_stat1 as PRAGMA optimize left it on the 1M-item benchmark store (item last analysed at 100k);
# ix_item_facet_seq (migration 0010) has the rows per seq of that store's facet rows per item.
LARGE_STORE_STATS = [
    ("item", "ix_item_origin_modified", "100000 1852 1 1"),
    ("item", "ix_item_modified_id", "100000 1 1"),
    ("item", "ix_item_origin_seq", "100000 1852 1"),
    ("item", "sqlite_autoindex_item_1", "100000 1"),
    ("item_facet", "item_facet", "6500349 1625088 175686 1 1"),  # a WITHOUT ROWID key: named after its table
    ("item_facet", "ix_item_facet_seq", "6500349 7"),  # 6.5M rows of 1M items
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
    plan = sqlite_plan(tmp_path, flt, None, LARGE_STORE_STATS)
    assert any("drv USING PRIMARY KEY" in step for step in plan), plan
    assert not any("BLOOM" in step or step.split()[:2] == ["SCAN", "item"] for step in plan), plan


# -- full-text search --------------------------------------------------------------

# Words that share prefixes, a rare one, one a prefix of many terms, and words
# the spelled-out query leaves alone (not foldable, too many terms).
SEARCH_WORDS = ["Sprachcafé", "Sprachcafés", "Sprachförderung", "Elternabend", "Elterncafé", "Lesepaten", "Straße"]
SEARCHES = [
    "Sprachcafé", "sprachcafe", "Sprachcafés", "Sprach", "Elt", "Sprachcafé Elternabend", "Straße", "Zauberwürfel",
    "Zauber", "Termin1", "Termin", "Ωmega", "Lese_paten", "nichtvorhanden", "Sprachcafé nichtvorhanden",
]


def fill_texts(store: Store, rnd: random.Random, count: int = 120) -> None:
    """Items (and tombstones, and newer versions) whose texts mix SEARCH_WORDS, a rare word and a word per item."""
    def version(n: int, minutes: int):
        item = random_version(rnd, n, minutes)
        if item.deleted:
            return item
        words = rnd.sample(SEARCH_WORDS, rnd.randint(1, 3)) + [f"Termin{n}"] + ["Zauberwürfel"] * (n % 40 == 7)
        words += ["Ωmega Lese_paten"] * (n % 9 == 0)
        return item.model_copy(update={"title": " ".join(words), "language": rnd.choice(["de", "de-AT", "en"])})

    store.merge([version(n, rnd.randrange(40)) for n in range(count)], RELAY)
    store.merge([version(n, 40 + rnd.randrange(20)) for n in rnd.sample(range(count), count // 3)], RELAY)


def random_search_filter(rnd: random.Random) -> ItemFilter:
    """A search, alone or with other filters (which may drive the read)."""
    extra = {
        "centres": tuple(rnd.sample(CENTRES, rnd.randint(1, 2))),
        "fields": tuple(rnd.sample(FIELDS, rnd.randint(1, 2))),
        "programmes": tuple(rnd.sample(PROGRAMMES, 1)),
        "kinds": ("event", "news"),
        "langs": ("de",),
        "modified_since": T0 + timedelta(minutes=rnd.randrange(50)),
    }
    chosen = rnd.sample(sorted(extra), rnd.choice([0, 0, 1, 2]))
    return ItemFilter(q=rnd.choice(SEARCHES), **{name: extra[name] for name in chosen})


def search_readings(conn, flt: ItemFilter, limit: int) -> list:
    """``plan_search``'s choice, and on SQLite each way to read the search forced (a slow one may not be chosen)."""
    readings = [ft.plan_search(conn, flt.q, limit)]
    if conn.dialect.name == "sqlite":
        words = ft.spelled_out(conn, flt.q)
        for text in {ft.fts5_query(flt.q), words and ft.terms_query(words)} - {None}:
            readings += [ft.Search(text, walk=True), ft.Search(text, walk=False)]
    return readings


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_every_reading_of_a_search_finds_the_first_rows_of_the_definition(store: Store, engine, seed):
    """The differential test of ``plan_search``: whether a search walks or lists, spelled out or not, with
    other filters and after a cursor, it finds what ``select_items`` (FTS5's own prefix query) finds."""
    rnd = random.Random(seed)
    fill_texts(store, rnd)
    dialect = engine.dialect.name
    seen = {"walk": 0, "list": 0, "found": 0, "cursor": 0}
    with engine.connect() as conn:
        for _ in range(60):
            flt = random_search_filter(rnd)
            tombstones = rnd.random() < 0.3  # as /api/v1/items?modified_since= reads (a search finds none)
            everything = ids(conn, q.select_items(flt, dialect, include_tombstones=tombstones))
            after = None
            if everything and rnd.random() < 0.5:
                position = rnd.randrange(len(everything))
                modified = conn.execute(sa.select(ITEM.c.modified).where(ITEM.c.id == everything[position])).scalar_one()
                after = Cursor(modified, everything[position] + rnd.choice(["", "0"]))
                everything = ids(conn, q.select_items(flt, dialect, include_tombstones=tombstones, after=after))
                seen["cursor"] += 1
            for limit in (1, 6, 200):
                for search in search_readings(conn, flt, limit):
                    newest = q.select_newest(flt, dialect, limit, include_tombstones=tombstones, after=after, search=search)
                    assert ids(conn, newest) == everything[:limit], (flt, tombstones, after, limit, search)
                planned = ft.plan_search(conn, flt.q, limit)
                if planned is not None:
                    seen["walk" if planned.walk else "list"] += 1
            seen["found"] += bool(everything)
    if dialect == "sqlite":
        assert seen["walk"] > 10 and seen["list"] > 10, seen
    assert seen["found"] > 20 and seen["cursor"] > 10, seen


@pytest.mark.parametrize("text", ["Sprachcafé", "Elternabend", "Zauberwürfel", "Sprachcafé Elternabend"])
def test_pages_of_a_search_find_the_whole_set(store: Store, engine, text):
    fill_texts(store, random.Random(14))
    flt = ItemFilter(q=text)
    with engine.connect() as conn:
        everything = ids(conn, q.select_items(flt, engine.dialect.name))
    assert len(everything) > 1
    assert every_page(engine, flt, 2) == everything


SPRACHCAFE = '("sprachcafe")'


@pytest.mark.parametrize("stats", [[], None, LARGE_STORE_STATS], ids=["unanalysed", "analysed", "large-store-stats"])
@pytest.mark.parametrize("flt, index", [
    (ItemFilter(q="Sprachcafé"), "ix_item_modified_id"),
    (ItemFilter(q="Sprachcafé", kinds=("event",), langs=("de",)), "ix_item_modified_id"),
    (ItemFilter(q="Sprachcafé", centres=("ki-05170",), kinds=("event",)), "ix_item_origin_modified"),
    (ItemFilter(q="Sprachcafé", fields=("schule",), programmes=("kim",)), "drv USING PRIMARY KEY"),
])
def test_sqlite_walks_a_common_search_in_index_order(tmp_path, flt, index, stats):
    """Probed per row read, in the order of the index: no list of every match, no sort of them."""
    plan = sqlite_plan(tmp_path, flt, ft.Search(SPRACHCAFE, walk=True), stats)
    assert any(index in step for step in plan), plan
    assert any(step.startswith("CORRELATED") for step in plan), plan
    assert not any("LIST SUBQUERY" in step or "TEMP B-TREE" in step or "BLOOM" in step for step in plan), plan


@pytest.mark.parametrize("stats", [[], None, LARGE_STORE_STATS], ids=["unanalysed", "analysed", "large-store-stats"])
@pytest.mark.parametrize("flt", [
    ItemFilter(q="Zauberwürfel"),
    ItemFilter(q="Zauberwürfel", centres=("ki-05170",)),
    ItemFilter(q="Zauberwürfel", centres=("ki-05170", "ki-05158"), kinds=("event",)),
    ItemFilter(q="Zauberwürfel", fields=("schule",)),
    ItemFilter(q="Zauberwürfel", modified_since=T0),
])
def test_sqlite_lists_a_rare_search_by_its_matches(tmp_path, flt, stats):
    """The matches are the outer loop, each item read by its seq (even where a tiny store's statistics
    make a scan look cheaper): never an index that reads every item of a centre, a field or the store."""
    plan = sqlite_plan(tmp_path, flt, ft.Search('("zauberwurfel")'), stats)
    assert plan[0].startswith("SCAN item_fts VIRTUAL TABLE"), plan
    assert plan[1].startswith("SEARCH item USING") and "seq=?" in plan[1], plan
    assert not any(index in step for step in plan for index in ("ix_item_modified_id", "ix_item_origin_modified", "drv")), plan


def test_a_limited_stream_reads_without_a_server_side_cursor(store: Store, engine):
    """PostgreSQL plans a cursor for the first tenth of its rows: for a rare search at 1M items that was
    a walk of ix_item_modified_id through every item (5 s). A page of ``limit`` rows needs no cursor."""
    if engine.dialect.name != "postgresql":
        pytest.skip("server-side cursors are PostgreSQL's")
    fill(store, random.Random(15))
    with engine.connect() as conn:
        def open_cursors() -> int:
            return conn.exec_driver_sql("SELECT count(*) FROM pg_cursors").scalar()

        before = open_cursors()
        limited = q.stream_items(conn, ItemFilter(q="Sprachcafé"), limit=5)
        next(limited)
        assert open_cursors() == before
        whole = q.stream_items(conn, ItemFilter(q="Sprachcafé"))  # a snapshot or a CSV export of everything
        next(whole)
        assert open_cursors() > before


def test_postgresql_reads_a_search_by_the_search_and_probes_each_facet_per_item():
    """At 1M items PostgreSQL joined a rare term's 20 items with all 375k rows of field=schule (91 ms)
    when the facet drove the page; read by the search, each facet an OFFSET 0 subquery (a probe per
    item, never a join), it takes 0.2 ms. A test store is too small to show the plan: the shape is pinned."""
    from sqlalchemy.dialects import postgresql

    flt = ItemFilter(q="Zauberwürfel", fields=("schule",), programmes=("kim",))
    sql = str(q.select_newest(flt, "postgresql", 50).compile(dialect=postgresql.dialect()))
    assert "item_facet AS drv" not in sql and sql.count("OFFSET") == 2, sql
    without_search = str(q.select_newest(ItemFilter(fields=("schule",)), "postgresql", 50).compile(dialect=postgresql.dialect()))
    assert "item_facet AS drv" in without_search and "OFFSET" not in without_search
