"""Federation: nodes pull each other's merged feeds and converge (docs/federation.md).

The convergence tests run networks of five kisync nodes (``tests/federation_harness.py``):
separate databases, real HTTP on loopback, a ring, a star with LaKI at the
centre and a random mesh. Items are created, updated and deleted at random
origins while a fault injector makes a share of all requests fail, hang past
the fetch timeout or break off half-way; after the faults stop, every node must
hold exactly the expected items and tombstones (same ids, same version keys)
within the topology's diameter + 2 rounds.

The other tests pin the single rules: the authoring path for a node's own
items, origins a direct source may deliver, paging, the 410 resync, the sweep
that only the origin's own snapshot may cause, and "also reported by".
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import aiohttp
import pytest
import sqlalchemy as sa
from aiohttp import web
from sqlalchemy.engine import make_url

from kisync.config import SourceSettings
from kisync.model import Item, Tombstone, version_key
from kisync.store.db import create_engine, normalize_url, upgrade
from kisync.store.maintenance import purge_tombstones
from kisync.store.merge import MergeContext, merge_items
from kisync.store.reports import Report, also_reported_by, collapse, report_key, same_report
from kisync.store.repository import Store
from kisync.sync import snapshot_url
from kisync.web.context import SEQ
from tests.conftest import PG_URL
from tests.factories import T0, live, tombstone
from tests.federation_harness import (
    LAKI,
    Link,
    Network,
    NodeOptions,
    Topology,
    centres_sample,
    is_tombstone_key,
    mesh,
    nrw,
    ring,
    run_to_convergence,
    star,
)
from tests.test_web_support import app_of, get_json, make_settings

pytest_plugins = ["tests.test_web_support"]

OPTIONS = NodeOptions(page_limit=7, total_timeout=0.5, connect_timeout=0.5)
FAULT_ROUNDS = 8
CHANGES_PER_ROUND = 6


def sqlite_databases(tmp_path: Path) -> Callable[[str], str]:
    return lambda centre: f"sqlite:///{tmp_path / centre}.db"


@pytest.fixture
def postgres_databases() -> Iterator[Callable[[str], str]]:
    """One fresh, empty PostgreSQL database per node, dropped afterwards."""
    if not PG_URL:
        pytest.skip("PostgreSQL federation tests need KISYNC_TEST_DATABASE_URL (e.g. postgresql://postgres@127.0.0.1/test)")
    admin = sa.create_engine(normalize_url(PG_URL), isolation_level="AUTOCOMMIT")
    run = uuid.uuid4().hex[:8]
    names: list[str] = []

    def make(centre: str) -> str:
        name = f"kisync_fed_{run}_{centre.replace('-', '_')}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        names.append(name)
        return make_url(normalize_url(PG_URL)).set(database=name).render_as_string(hide_password=False)

    yield make
    with admin.connect() as conn:
        for name in names:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


# -- topologies --------------------------------------------------------------------------


def test_topologies_and_their_diameters():
    five = centres_sample(random.Random(1), 5)
    assert ring(five).diameter() == 2
    assert ring(centres_sample(random.Random(1), 8)).diameter() == 4
    assert star(five[:4]).diameter() == 2  # centre -> LaKI -> centre
    topology = nrw()
    assert len(topology.centres) == 55 and topology.centres[0] == LAKI
    assert topology.diameter() == 2
    # A direct link carries its peer's own items only: it is no path for anything else.
    chain = Topology("chain", ["a", "b", "c"], [Link("b", "a"), Link("c", "b", direct=True)])
    with pytest.raises(ValueError, match="items of a never reach"):
        chain.diameter()


# -- convergence under faults -----------------------------------------------------------------


def topology_for(name: str, seed: int) -> Topology:
    rng = random.Random(seed)
    if name == "star":
        return star(centres_sample(rng, 4))
    centres = centres_sample(rng, 5)
    return ring(centres) if name == "ring" else mesh(centres, rng, extra=3)


async def converge(topology: Topology, databases: Callable[[str], str], seed: int) -> Network:
    network = Network(topology, databases, seed=seed, fault_share=0.3, options=OPTIONS)
    async with network:
        network.workload.seed(3)
        rounds = await run_to_convergence(
            network,
            fault_rounds=FAULT_ROUNDS,
            changes_per_round=CHANGES_PER_ROUND,
            max_clean_rounds=topology.diameter() + 2,
        )
        stats, counts = network.faults.stats, network.workload.counts
        # The faults and the changes this run was meant to have, each kind of them.
        assert stats.errors and stats.hangs and stats.truncations, stats
        assert all(counts.values()), counts
        assert rounds <= topology.diameter() + 2
        await assert_same_everywhere(network)
    return network


async def assert_same_everywhere(network: Network) -> None:
    """Beyond the version keys: each node's snapshot lists every live item once, and no deleted one."""
    expected = network.workload.expected
    live = {i for i, item in expected.items() if isinstance(item, Item)}
    deleted = {i for i, item in expected.items() if isinstance(item, Tombstone)}
    reference = None
    async with aiohttp.ClientSession() as session:
        for node in network.nodes.values():
            async with session.get(f"{node.base_url}/api/v1/snapshot") as response:
                document = await response.json()
            ids = [item["id"] for item in document["data"]]
            assert len(ids) == len(set(ids)), f"{node.centre}: an id twice"
            assert set(ids) == live, node.centre
            versions = node.versions()
            # No resurrection: what its origin deleted is a tombstone on every node.
            assert all(is_tombstone_key(versions[i]) for i in deleted | network.workload.withdrawn if i in versions)
            assert deleted <= set(versions)
            assert reference is None or versions == reference
            reference = versions


@pytest.mark.slow
@pytest.mark.parametrize("name", ["ring", "star", "mesh"])
async def test_a_network_converges_after_faults(tmp_path, name):
    await converge(topology_for(name, seed=11), sqlite_databases(tmp_path), seed=11)


@pytest.mark.slow
@pytest.mark.postgres
async def test_a_ring_on_postgresql_converges_after_faults(postgres_databases):
    await converge(topology_for("ring", seed=23), postgres_databases, seed=23)


# -- the rules, one at a time --------------------------------------------------------------------


A, B, C = "ki-05170", "ki-05154", "ki-05112"  # Kreis Wesel, Kreis Kleve, Stadt Duisburg


def network_of(tmp_path: Path, links: list[Link], **options) -> Network:
    return Network(
        Topology("rules", [A, B, C], links),
        sqlite_databases(tmp_path),
        seed=5,
        fault_share=0,
        options=NodeOptions(**{"page_limit": 100, "total_timeout": 2, "connect_timeout": 2, **options}),
    )


def warnings_of(network: Network, centre: str, source_id: str) -> list[dict]:
    registry = network.nodes[centre].registry
    assert registry is not None
    return registry.get(source_id).warnings


async def test_own_items_enter_through_the_own_source_and_come_back_dropped(tmp_path):
    network = network_of(tmp_path, [Link(B, A), Link(A, B)])
    async with network:
        a, b = network.nodes[A], network.nodes[B]
        first = network.workload.create(A)
        network.workload.create(A)
        await a.sync()
        await b.sync()
        assert set(a.versions()) == set(b.versions()) == set(network.workload.origins[A].items)
        # B serves A's items with itself in `via`; A publishes its own without a hop.
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{b.base_url}/api/v1/changes?origin={A}") as response:
                assert {tuple(i["via"]) for i in (await response.json())["data"]} == {(B,)}
            async with session.get(f"{a.base_url}/api/v1/snapshot") as response:
                assert {tuple(i["via"]) for i in (await response.json())["data"]} == {()}
        # Someone else's "update" of A's item: only the origin changes an item, and A keeps its own.
        forged = first.model_copy(update={"title": "Gefälscht", "modified": first.modified + timedelta(hours=1)})
        assert b.store is not None
        b.store.merge([forged], MergeContext(node_centre=B, now=datetime.now(UTC), relay=True))
        assert b.app is not None
        await b.app[SEQ].refresh()
        before = a.versions()
        await a.sync()
        assert a.versions() == before
        assert a.store is not None and a.store.get(first.id).title == first.title


async def test_a_direct_source_takes_only_its_centres_items(tmp_path):
    network = network_of(tmp_path, [Link(C, A)])
    async with network:
        a, b, c = (network.nodes[x] for x in (A, B, C))
        network.workload.create(A)
        network.workload.create(A)
        own = network.workload.create(C)
        await a.sync()
        await c.sync()
        assert b.registry is not None
        # Misconfigured: a direct source "for A" that reads C's whole merged feed.
        b.registry.add(SourceSettings(id="a-at-c", url=f"{c.base_url}/api/v1/changes", centre=A, format="exchange"), 3600)
        reports = await b.sync("a-at-c")
        assert reports[0].ok
        assert {i.split("/")[3] for i in b.versions()} == {A}
        warnings = warnings_of(network, B, "a-at-c")
        assert [(w["item"], w["code"]) for w in warnings] == [(own.id, "foreign_origin")]
        assert "only a relay source may deliver other centres' items" in warnings[0]["message"]


async def test_a_changes_source_follows_every_page_in_one_sync(tmp_path):
    network = network_of(tmp_path, [Link(B, A)], page_limit=2)
    async with network:
        a, b = network.nodes[A], network.nodes[B]
        for _ in range(9):
            network.workload.create(A)
        await a.sync()
        requests = network.faults.stats.requests
        await b.sync()
        # B's own export, then five pages of two (the last one short: no `next`).
        assert network.faults.stats.requests - requests == 1 + 5
        assert set(b.versions()) == set(a.versions())
        assert b.registry is not None and a.store is not None
        assert b.registry.get(f"relay-{A}").cursor == str(a.store.last_seq())


async def test_a_410_is_answered_by_the_snapshot_and_the_changes_continue_from_its_cursor(tmp_path):
    # B pulls A directly (A's own items), C pulls A as a relay.
    network = network_of(tmp_path, [Link(B, A, direct=True), Link(C, A)])
    async with network:
        a, b, c = (network.nodes[x] for x in (A, B, C))
        items = [network.workload.create(A) for _ in range(4)]
        for node in (a, b, c):
            await node.sync()
        # A deletes one item by tombstone and leaves one out of its export (its sweep deletes it) ...
        network.workload.delete(A, withdraw=False, item_id=items[0].id)
        network.workload.delete(A, withdraw=True, item_id=items[1].id)
        await a.sync()
        assert a.versions().keys() == {i.id for i in items}
        # ... and purges both tombstones before B and C heard of them.
        assert a.engine is not None and a.store is not None
        assert purge_tombstones(a.engine, datetime.now(UTC) + timedelta(seconds=1)) == 2
        fresh = network.workload.create(A)
        await a.sync()

        for node, source in ((b, f"direct-{A}"), (c, f"relay-{A}")):
            [report] = await node.sync(source)
            assert report.ok, report.error
            assert node.registry is not None
            state = node.registry.get(source)
            assert state.warnings[0]["code"] == "resync", state.warnings
            assert state.cursor == str(a.store.last_seq())
            assert fresh.id in node.versions()

        # The direct source read A's own complete snapshot: what it no longer lists is deleted.
        deleted_at_b = {i for i, key in b.versions().items() if is_tombstone_key(key)}
        assert deleted_at_b == {items[0].id, items[1].id}
        # A relay never deletes by absence: C keeps the two until their tombstones reach it some other way.
        assert not any(is_tombstone_key(key) for key in c.versions().values())

        # From the snapshot's cursor on, the changes feed answers again.
        later = network.workload.create(A)
        await a.sync()
        for node, source in ((b, f"direct-{A}"), (c, f"relay-{A}")):
            [report] = await node.sync(source)
            assert report.ok and report.outcome is not None and report.outcome.http_status == 200
            assert later.id in node.versions()
            assert node.registry is not None
            assert all(w["code"] != "resync" for w in node.registry.get(source).warnings)


def test_the_snapshot_of_a_changes_feed():
    assert snapshot_url("https://a.example/api/v1/changes?limit=7&origin=ki-05170&since=12") == (
        "https://a.example/api/v1/snapshot?origin=ki-05170"
    )
    assert snapshot_url("https://a.example/api/v1/changes/") == "https://a.example/api/v1/snapshot"
    # Not a kisync node: the feed again, from its start.
    assert snapshot_url("https://a.example/export?since=9&x=1") == "https://a.example/export?x=1"


async def test_only_the_origins_own_snapshot_deletes_by_absence(tmp_path):
    # C pulls A directly, and also "A's items" from B's snapshot of them: B's view, not A's own list.
    network = network_of(tmp_path, [Link(B, A), Link(C, A, direct=True)])
    async with network:
        a, b, c = (network.nodes[x] for x in (A, B, C))
        network.workload.create(A)
        await a.sync()
        await b.sync()
        assert c.registry is not None
        c.registry.add(
            SourceSettings(id="a-at-b", url=f"{b.base_url}/api/v1/snapshot?origin={A}", centre=A, format="exchange"), 3600
        )
        newer = network.workload.create(A)
        await a.sync()
        await c.sync(f"direct-{A}")  # C has the new item; B has not heard of it yet
        [report] = await c.sync("a-at-b")
        assert report.ok
        assert not is_tombstone_key(c.versions()[newer.id])
        assert [w["code"] for w in warnings_of(network, C, "a-at-b")] == ["not_swept"]


# -- the merge: the authoring path and served-only fields ------------------------------------------


NOW = datetime(2026, 3, 1, tzinfo=UTC)


def test_the_own_path_takes_the_nodes_items_and_nothing_else():
    mine, theirs = live("https://ki.example/a/1", origin=A), live("https://ki.example/b/1", origin=B)
    relayed = merge_items({}, [mine, theirs], MergeContext(node_centre=A, now=NOW, relay=True))
    assert [p.id for p in relayed.inserts] == [theirs.id] and relayed.dropped_own == 1
    own = merge_items({}, [mine, theirs], MergeContext(node_centre=A, now=NOW, source_id="own", source_centre=A, own=True))
    assert [p.id for p in own.inserts] == [mine.id]
    assert [(w.item_id, w.code) for w in own.warnings] == [(theirs.id, "foreign_origin")]
    # Even with no centre named, the own path carries only the node's own items.
    bare = merge_items({}, [mine, theirs], MergeContext(node_centre=A, now=NOW, own=True))
    assert [p.id for p in bare.inserts] == [mine.id]


def test_a_served_link_read_back_is_not_a_new_version():
    item = live("https://ki.example/a/1", origin=A, _wesel_intern_nr="17")
    served = Item.model_validate(
        {**item.model_dump(mode="json"), "_also_reported_by": [{"id": "urn:kisync:feed:0", "origin": B}], "via": [B]}
    )
    [prepared] = merge_items({}, [served], MergeContext(node_centre=C, now=NOW, relay=True)).inserts
    assert prepared.version_key == version_key(item)
    assert "_also_reported_by" not in (prepared.item.model_extra or {})
    assert prepared.item.model_extra == {"_wesel_intern_nr": "17"}  # the origin's own extensions stay


# -- also reported by ----------------------------------------------------------------------------

FEED = "urn:kisync:feed:"
PAGE = "https://www.kreis-wesel.de/ki/projekte/rucksack-kita"
PROGRAMME = "https://www.rucksack-griffbereit.de/rucksack-kita"
HOME = "https://www.kreis-wesel.de/"
EVENTS = "https://www.kreis-wesel.de/ki/termine"


def report(item_id: str, origin: str, url: str | None, minutes: int = 0) -> Report:
    return Report(item_id, origin, T0 + timedelta(minutes=minutes), report_key(url))


def test_report_keys():
    assert report_key(PAGE) == report_key(PAGE.replace("https:", "http:") + "/")
    assert report_key(PAGE) != report_key(PAGE + "#gruppe-2")  # one page, several things
    assert report_key(PAGE) != report_key(PAGE + "?jahr=2026")
    assert report_key(PAGE) != report_key(PAGE.upper())
    for home in (HOME, "https://www.kreis-wesel.de", "https://www.kreis-wesel.de/index.html", "https://ki.example/Startseite"):
        assert report_key(home) is None, home
    assert report_key(None) is None and report_key("mailto:ki@kreis-wesel.de") is None
    assert len(report_key(PAGE + "/" + "ä" * 3000) or "") == 32


def test_which_items_are_the_same_report():
    exchange_a = report("https://ki.example/a/1", A, PAGE)
    feed_a = report(FEED + "1", A, PAGE)
    feed_b = report(FEED + "2", B, PAGE)
    assert same_report(exchange_a, feed_a) and same_report(exchange_a, feed_b) and same_report(feed_a, feed_b)
    # Two exchange items are two items, whatever their origins: their origins minted two ids.
    assert not same_report(exchange_a, report("https://ki.example/a/2", A, PAGE))
    assert not same_report(report("https://ki.example/a/3", A, PROGRAMME), report("https://ki.example/b/3", B, PROGRAMME))
    # One centre's feeds may give several entries one link: distinct entries.
    assert not same_report(report(FEED + "3", A, EVENTS), report(FEED + "4", A, EVENTS))
    # A home page links nothing.
    assert not same_report(report(FEED + "5", A, HOME), report(FEED + "6", B, HOME))
    assert not same_report(feed_a, report(FEED + "7", B, PAGE + "#anker"))
    assert [r.id for r in also_reported_by(feed_b, [feed_b, feed_a, exchange_a])] == [exchange_a.id, feed_a.id]


def test_a_feed_shows_each_report_once():
    exchange_a = report("https://ki.example/a/1", A, PAGE, minutes=5)
    feed_a = report(FEED + "1", A, PAGE, minutes=1)
    feed_b = report(FEED + "2", B, PAGE, minutes=2)
    other = report(FEED + "3", B, None)
    group = {exchange_a.key: [exchange_a, feed_a, feed_b]}
    result = collapse([feed_b, other, exchange_a, feed_a], group)
    assert result.shown == [other.id, exchange_a.id]
    assert [r.id for r in result.also[exchange_a.id]] == [feed_a.id, feed_b.id]
    # The exchange item filtered out (another centre's feed): the feed entry stands, linked to the rest.
    only_b = collapse([feed_b], group)
    assert only_b.shown == [feed_b.id] and [r.id for r in only_b.also[feed_b.id]] == [exchange_a.id, feed_a.id]


def reported_items() -> list[Item | Tombstone]:
    return [
        live("https://ki.example/a/1", origin=A, title="Rucksack KiTa in Wesel", url=PAGE, minutes=30),
        live(FEED + "a" * 32, origin=A, title="Rucksack KiTa: neue Gruppen", url=PAGE.replace("https:", "http:"), minutes=10),
        live(FEED + "b" * 32, origin=B, title="Wesel startet Rucksack KiTa", url=PAGE + "/", minutes=20),
        live("https://ki.example/a/2", origin=A, title="Rucksack in Kita 1", url=PROGRAMME, minutes=1),
        live("https://ki.example/b/2", origin=B, title="Rucksack in Kleve", url=PROGRAMME, minutes=2),
        live(FEED + "c" * 32, origin=A, title="Sommerfest", url=EVENTS, minutes=3),
        live(FEED + "d" * 32, origin=A, title="Elterncafé", url=EVENTS, minutes=4),
        live(FEED + "e" * 32, origin=B, title="Startseite", url=HOME, minutes=5),
    ]


async def test_also_reported_by_in_the_api_and_the_json_feed(make_client, store: Store):
    items = reported_items()
    store.merge(items, MergeContext(node_centre=C, now=NOW, relay=True))
    client = await make_client(make_settings())
    exchange_a, feed_a, feed_b = (i.id for i in items[:3])

    listed = {i["id"]: i for i in (await get_json(client, "/api/v1/items?limit=500"))["data"]}
    assert set(listed) == {i.id for i in items}  # the items API keeps every id
    links = {i: [(x["id"], x["origin"]) for x in d.get("_also_reported_by", [])] for i, d in listed.items()}
    assert links[exchange_a] == [(feed_a, A), (feed_b, B)]
    assert links[feed_a] == [(exchange_a, A), (feed_b, B)]
    assert links[feed_b] == [(exchange_a, A), (feed_a, A)]
    assert all(not links[i.id] for i in items[3:])
    one = await get_json(client, f"/api/v1/items/{quote(feed_b, safe='')}")
    assert [x["id"] for x in one["_also_reported_by"]] == [exchange_a, feed_a]

    # Federation outputs carry every id and never the link: each node derives it from its own store.
    for path in ("/api/v1/changes?limit=500", "/api/v1/snapshot"):
        data = (await get_json(client, path))["data"]
        assert {i["id"] for i in data} == {i.id for i in items}
        assert not any("_also_reported_by" in i for i in data)

    feed = await get_json(client, "/feed.json")
    entries = {e["id"]: e for e in feed["items"]}
    assert set(entries) == {i.id for i in items} - {feed_a, feed_b}
    assert entries[exchange_a]["_kisync"]["also_reported_by"] == [{"id": feed_a, "origin": A}, {"id": feed_b, "origin": B}]
    assert all("also_reported_by" not in e["_kisync"] for i, e in entries.items() if i != exchange_a)
    for path in ("/feed.rss", "/feed.atom"):
        body = await (await client.get(path)).text()
        assert exchange_a in body and feed_a not in body and feed_b not in body
    kleve = await get_json(client, f"/feed.json?centre={B}")
    by_id = {e["id"]: e for e in kleve["items"]}
    assert [x["id"] for x in by_id[feed_b]["_kisync"]["also_reported_by"]] == [exchange_a, feed_a]

    # The exchange item deleted: the earliest feed entry stands for the report.
    result = store.merge([tombstone(exchange_a, minutes=60, origin=A)], MergeContext(node_centre=C, now=NOW, relay=True))
    app_of(client)[SEQ].bump(result.last_seq)
    feed = await get_json(client, "/feed.json")
    entries = {e["id"]: e for e in feed["items"]}
    assert feed_a in entries and feed_b not in entries and exchange_a not in entries
    assert entries[feed_a]["_kisync"]["also_reported_by"] == [{"id": feed_b, "origin": B}]


async def test_items_served_with_links_read_back_by_a_peer_keep_their_versions(make_client, store: Store, tmp_path):
    items = reported_items()
    store.merge(items, MergeContext(node_centre=C, now=NOW, relay=True))
    client = await make_client(make_settings())
    served = (await get_json(client, "/api/v1/items?limit=500"))["data"]
    assert any("_also_reported_by" in i for i in served)
    peer_engine = create_engine(f"sqlite:///{tmp_path / 'peer.db'}")
    upgrade(peer_engine)
    try:
        peer = Store(peer_engine)
        parsed = [Item.model_validate(i) for i in served]
        peer.merge(parsed, MergeContext(node_centre="ki-05711", now=NOW, relay=True))
        assert peer.versions() == store.versions()
    finally:
        peer_engine.dispose()


def test_migration_0003_keys_the_stored_items(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        upgrade(engine, "0002")
        item = live("https://ki.example/a/1", origin=A, url=PAGE)
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO item (id, seq, version_key, content_hash, kind, origin_id, created, modified, deleted, "
                    "url, data) VALUES (:id, 1, 'k', 'h', 'project', :origin, :t, :t, 0, :url, :data)"
                ),
                {"id": item.id, "origin": A, "t": T0.replace(tzinfo=None), "url": PAGE, "data": json.dumps({})},
            )
        upgrade(engine)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT report_key FROM item")).scalar_one() == report_key(PAGE)
    finally:
        engine.dispose()


RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>KI Kreis Wesel</title><link>https://www.kreis-wesel.de/ki</link>
<item><guid>rucksack-2026</guid><title>Rucksack KiTa: neue Gruppen</title><link>{page}</link>
<pubDate>Mon, 05 Jan 2026 09:00:00 GMT</pubDate><description>Zwei neue Gruppen in Moers.</description></item>
<item><guid>sommerfest-2026</guid><title>Sommerfest</title><link>https://www.kreis-wesel.de/ki/termine</link>
<pubDate>Tue, 06 Jan 2026 09:00:00 GMT</pubDate><description>Fest für alle Familien.</description></item>
</channel></rss>"""


async def test_a_centres_website_feed_beside_its_export(tmp_path, aiohttp_server):
    """Both are A's own sources. The export's sweep leaves the feed's entries alone (a feed is a window,
    never a complete list), and the entry that links the exported project's page is "also reported by"."""

    async def feed(request: web.Request) -> web.Response:
        return web.Response(text=RSS.format(page=PAGE), content_type="application/rss+xml")

    app = web.Application()
    app.router.add_get("/feed.rss", feed)
    website = await aiohttp_server(app)
    network = network_of(tmp_path, [Link(B, A)])
    async with network:
        a, b = network.nodes[A], network.nodes[B]
        assert a.registry is not None
        a.registry.add(SourceSettings(id="own-website", url=str(website.make_url("/feed.rss")), centre=A, format="feed"), 3600)
        project = network.workload.create(A)
        network.workload.origins[A].publish(Item.model_validate({**project.model_dump(mode="json"), "url": PAGE}))
        for _ in range(2):
            network.workload.create(A)  # the export changes: read again, and swept
            assert all(r.ok for r in await a.sync())
            await b.sync()
        versions = a.versions()
        feed_ids = [i for i in versions if i.startswith(FEED)]
        assert len(feed_ids) == 2 and not any(is_tombstone_key(versions[i]) for i in feed_ids)
        assert b.versions() == versions
        async with aiohttp.ClientSession() as session, session.get(f"{b.base_url}/feed.json") as response:
            entries = {e["id"]: e for e in (await response.json())["items"]}
        assert project.id in entries and len(entries) == 4
        [linked] = entries[project.id]["_kisync"]["also_reported_by"]
        assert linked["origin"] == A and linked["id"] in feed_ids
