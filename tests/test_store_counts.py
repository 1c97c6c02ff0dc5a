"""item_count against a full recount, on real SQLite and PostgreSQL, after random merges and purges."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kisync.store.maintenance import purge_tombstones
from kisync.store.repository import Store
from kisync.web import query as q
from tests.factories import T0
from tests.test_web_query import RELAY, random_version

FACETS = ("field", "audience", "programme", "tag")


def full_recount(conn: Connection) -> dict:
    """The stats as the web side counted them before item_count: every row read."""
    live = "FROM item WHERE deleted = :no"
    no = {"no": False}
    return {
        "origin": dict(conn.execute(sa.text(f"SELECT origin_id, count(*) {live} GROUP BY origin_id"), no).all()),
        "kind": dict(conn.execute(sa.text(f"SELECT kind, count(*) {live} GROUP BY kind"), no).all()),
        "tombstones": conn.execute(sa.text("SELECT count(*) FROM item WHERE deleted = :yes"), {"yes": True}).scalar(),
        **{facet: dict(conn.execute(sa.text("SELECT value, count(*) FROM item_facet WHERE facet = :f GROUP BY value"),
                                    {"f": facet}).all())
           for facet in FACETS},
    }


def kept_counts(conn: Connection) -> dict:
    return {
        "origin": q.live_counts_by_origin(conn),
        "kind": q.live_counts_by_kind(conn),
        "tombstones": q.tombstone_count(conn),
        **{facet: q.facet_counts(conn, facet) for facet in FACETS},
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kept_counts_equal_a_full_recount_after_random_merges(store: Store, engine, seed):
    rnd = random.Random(seed)
    clock = 0
    checks = 0
    for step in range(12):
        if rnd.random() < 0.15:
            purge_tombstones(engine, T0 + timedelta(minutes=clock - rnd.randrange(30)))
        else:
            # New ids, newer versions (other facets, kind, tombstones, resurrections), stale copies, repeats.
            batch = []
            for _ in range(rnd.randint(1, 25)):
                clock += rnd.choice([0, 1, 1, 2])
                minutes = clock - rnd.choice([0, 0, 0, 5])
                batch.append(random_version(rnd, rnd.randrange(40), minutes))
            store.merge(batch, RELAY)
        with engine.connect() as conn:
            expected = full_recount(conn)
            assert kept_counts(conn) == expected, step
        checks += sum(expected["origin"].values()) + expected["tombstones"]
    assert checks > 0


def test_counts_start_empty_and_follow_one_item(store: Store, engine):
    from tests.factories import live, tombstone

    with engine.connect() as conn:
        assert kept_counts(conn) == {"origin": {}, "kind": {}, "tombstones": 0, **{f: {} for f in FACETS}}
    store.merge([live(programmes=["griffbereit"], tags=["Sprache"])], RELAY)
    with engine.connect() as conn:
        assert kept_counts(conn) == {"origin": {"ki-05170": 1}, "kind": {"project": 1}, "tombstones": 0,
                                     "field": {"elementarbereich": 1}, "audience": {}, "programme": {"griffbereit": 1},
                                     "tag": {"sprache": 1}}
    store.merge([tombstone(minutes=1)], RELAY)
    with engine.connect() as conn:
        assert kept_counts(conn) == {"origin": {}, "kind": {}, "tombstones": 1, **{f: {} for f in FACETS}}
