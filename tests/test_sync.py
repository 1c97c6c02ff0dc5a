"""The whole ingest pipeline (fetch -> parse -> normalize -> merge) and per-source isolation.

Every source is served by a real aiohttp server on loopback (or read from
the bundled examples), every store is real SQLite and PostgreSQL. No byte
leaves 127.0.0.0/8: the redirect-to-private case points at 127.0.0.2, and
the SSRF guard refuses it before connecting.

The isolation tests sync three sources in one run: two good ones and
"kleve", which serves a good snapshot first and then turns bad. The second
run must leave kleve failed with an error that names the problem, the other
two synced, and every stored item of kleve as it was.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import zlib
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy.engine import Engine

import kisync.parallel
import kisync.pipeline
import kisync.sync
from kisync.config import Settings, load_settings
from kisync.model import Item
from kisync.report import summary
from kisync.sources import SourceRegistry
from kisync.store.repository import Store
from kisync.sync import Syncer, SyncReport
from tests.conftest import REPO
from tests.test_fetch import unanswered_port  # noqa: F401  (a fixture: a loopback port whose connects hang)

FIXTURES = Path(__file__).parent / "fixtures" / "sync"
KiB, MiB = 1 << 10, 1 << 20
T0 = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)
GENERATED = "2026-03-01T06:00:00Z"  # after every item's `modified`: the sweep may delete what is missing

WESEL = {"id": "ki-05170", "name": "Kommunales Integrationszentrum Kreis Wesel", "ars": "05170"}
KLEVE = {"id": "ki-05154", "name": "Kommunales Integrationszentrum Kreis Kleve", "ars": "05154"}
WESEL_ITEMS, KLEVE_ITEMS, RSS_ITEMS = 4, 10, 3


# -- documents ------------------------------------------------------------------------


def item_id(origin: dict, n: int) -> str:
    return f"https://ki.example/{origin['id']}/projekte/{n}"


def project(origin: dict, n: int, *, title: str | None = None, modified: datetime = T0) -> dict:
    return {
        "id": item_id(origin, n),
        "kind": "project",
        "origin": origin,
        "created": "2025-01-15T08:00:00Z",
        "modified": modified.isoformat(),
        "title": title or f"Projekt {n} des {origin['name']}",
        "summary": "Sprachbildung für neu zugewanderte Kinder und ihre Eltern.",
        "fields_of_action": ["elementarbereich"],
    }


def tombstone(origin: dict, n: int, *, modified: datetime) -> dict:
    return {
        "id": item_id(origin, n),
        "kind": "project",
        "origin": origin,
        "created": "2025-01-15T08:00:00Z",
        "modified": modified.isoformat(),
        "deleted": True,
    }


def exchange(publisher: dict, items: list[dict], *, complete: bool = True, **envelope: Any) -> bytes:
    document = {"exchange_version": "1.0", "publisher": publisher, "generated": GENERATED, "complete": complete}
    return json.dumps({**document, "data": items, **envelope}, ensure_ascii=False).encode()


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


# -- the test server -------------------------------------------------------------------


@dataclass
class State:
    kleve: str = "good"  # how /kleve answers: a key of KLEVE_ANSWERS
    wesel: int = 1  # version of the Wesel snapshot; 2 changes one item
    wesel_sloppy: bool = False  # item 1 with new content but the old `modified`
    validators: bool = True  # send ETags (and answer 304 to them)
    requests: list[str] = field(default_factory=list)  # path and query of every request, in order
    bomb_sent: int = 0  # compressed bytes of the gzip bomb written


STATE = web.AppKey("state", State)


def conditional(request: web.Request, body: bytes, etag: str, content_type: str) -> web.Response:
    if not request.app[STATE].validators:
        return web.Response(body=body, content_type=content_type)
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers={"ETag": etag})
    return web.Response(body=body, content_type=content_type, headers={"ETag": etag})


async def wesel(request: web.Request) -> web.Response:
    """A complete snapshot that refuses unknown parameters, as kisync's own /api/v1/snapshot does."""
    unknown = sorted(set(request.query) - {"origin"})
    if unknown:
        return web.json_response({"error": {"code": "invalid_parameter", "message": f"unknown parameter {unknown}"}}, status=400)
    state = request.app[STATE]
    items = [project(WESEL, n) for n in range(1, WESEL_ITEMS + 1)]
    if state.wesel > 1:
        items[0] = project(WESEL, 1, title="Rucksack KiTa: neue Gruppen", modified=T0 + timedelta(days=state.wesel))
    if state.wesel_sloppy:
        items[0] = project(WESEL, 1, title="Rucksack KiTa: neue Gruppen")  # `modified` left as it was
    etag = f'"wesel-{state.wesel}-{state.wesel_sloppy}"'
    # A snapshot of a kisync node carries the cursor to follow its changes feed from.
    return conditional(request, exchange(WESEL, items, cursor="4711"), etag, "application/json")


async def oberhausen(request: web.Request) -> web.Response:
    return conditional(request, fixture("oberhausen.rss"), '"rss-1"', "application/rss+xml")


async def kleve(request: web.Request) -> web.StreamResponse:
    return await KLEVE_ANSWERS[request.app[STATE].kleve](request)


def kleve_snapshot(count: int) -> Callable[[web.Request], Any]:
    async def answer(request: web.Request) -> web.Response:
        items = [project(KLEVE, n) for n in range(1, count + 1)]
        return conditional(request, exchange(KLEVE, items), f'"kleve-{count}"', "application/json")

    return answer


def status(code: int, **headers: str) -> Callable[[web.Request], Any]:
    async def answer(request: web.Request) -> web.Response:
        return web.Response(status=code, text="nope", headers=headers)

    return answer


def body(name: str, content_type: str) -> Callable[[web.Request], Any]:
    async def answer(request: web.Request) -> web.Response:
        return web.Response(body=fixture(name), content_type=content_type)

    return answer


async def drip(request: web.Request) -> web.StreamResponse:
    """One byte a second: every read succeeds, only the total budget ends it."""
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    with suppress(ConnectionError):
        for _ in range(30):
            await response.write(b" ")
            await asyncio.sleep(1)
    return response


async def truncated(request: web.Request) -> web.StreamResponse:
    """100 of the 100 000 bytes promised, then the connection drops."""
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.content_length = 100_000
    await response.prepare(request)
    await response.write(exchange(KLEVE, [project(KLEVE, 1)])[:100])
    assert request.transport is not None
    request.transport.abort()
    return response


async def too_large(request: web.Request) -> web.Response:
    return web.Response(body=b"[" + b" " * (300 * KiB) + b"]", content_type="application/json")


async def gzip_bomb(request: web.Request) -> web.StreamResponse:
    """1 GiB of zeros, gzip-compressed (about 1 MiB on the wire), made lazily one MiB at a time."""
    response = web.StreamResponse(headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})
    await response.prepare(request)
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(MiB)
    with suppress(ConnectionError):
        for _ in range(1024):
            chunk = compressor.compress(zeros)
            if chunk:
                await response.write(chunk)
                request.app[STATE].bomb_sent += len(chunk)
            await asyncio.sleep(0)  # server and client share the loop: let the client read and hang up
        await response.write(compressor.flush())
    return response


async def unusable(request: web.Request) -> web.Response:
    """Every item invalid (no title), and no `generated` either: the items' problem is the one to name."""
    document = json.loads(exchange(KLEVE, [{k: v for k, v in project(KLEVE, n).items() if k != "title"} for n in (1, 2)]))
    del document["generated"]
    return web.json_response(document)


async def redirect_loop(request: web.Request) -> web.Response:
    raise web.HTTPFound("/loop/a")


async def redirect_private(request: web.Request) -> web.Response:
    # 127.0.0.2: loopback like the test server, but not the (address, port) the guard lets through.
    raise web.HTTPFound(f"http://127.0.0.2:{request.url.port}/kleve")


async def empty(request: web.Request) -> web.Response:
    return web.Response(status=200, body=b"", content_type="application/json")


async def loop(request: web.Request) -> web.Response:
    raise web.HTTPFound("/loop/b" if request.match_info["name"] == "a" else "/loop/a")


KLEVE_ANSWERS = {
    "good": kleve_snapshot(KLEVE_ITEMS),
    "drop": kleve_snapshot(1),  # 9 of its 10 items vanish
    "empty-snapshot": kleve_snapshot(0),
    "404": status(404),
    "410": status(410),
    "500": status(500),
    "429": status(429, **{"Retry-After": "3600"}),
    "drip": drip,
    "truncated": truncated,
    "too-large": too_large,
    "gzip-bomb": gzip_bomb,
    "billion-laughs": body("billion-laughs.xml", "application/rss+xml"),
    "external-entity": body("external-entity.xml", "application/rss+xml"),
    "invalid-xml": body("invalid.xml", "application/rss+xml"),
    "html": body("page.html", "text/html"),
    "wrong-encoding": body("wrong-encoding.rss", "application/rss+xml"),
    "redirect-loop": redirect_loop,
    "redirect-private": redirect_private,
    "empty": empty,
    "unusable": unusable,
}


# A changes feed in three pages (DESIGN.md, "Changes feed"): 8 items, then a tombstone for item 1.
CHANGES = [project(WESEL, n) for n in range(1, 9)] + [tombstone(WESEL, 1, modified=T0 + timedelta(days=1))]
PAGES = {"0": (CHANGES[0:3], "c3"), "c3": (CHANGES[3:6], "c6"), "c6": (CHANGES[6:9], "c9"), "c9": ([], "c9")}


async def changes(request: web.Request) -> web.Response:
    since = request.query.get("since", "0")
    items, cursor = PAGES[since]
    links = {"self": str(request.rel_url)}
    if since in ("0", "c3"):  # a full page: more follow
        links["next"] = f"/changes?origin={request.query['origin']}&since={cursor}"
    return web.Response(body=exchange(WESEL, items, complete=False, links=links, cursor=cursor), content_type="application/json")


async def mixed(request: web.Request) -> web.Response:
    """Wesel's snapshot with one item of another centre in it."""
    items = [project(WESEL, 1), project(WESEL, 2), project(KLEVE, 7)]
    return web.Response(body=exchange(WESEL, items), content_type="application/json")


def make_app() -> web.Application:
    app = web.Application()
    app[STATE] = State()

    @web.middleware
    async def record(request: web.Request, handler):
        request.app[STATE].requests.append(request.path_qs)
        return await handler(request)

    app.middlewares.append(record)
    app.router.add_get("/wesel", wesel)
    app.router.add_get("/oberhausen.rss", oberhausen)
    app.router.add_get("/kleve", kleve)
    app.router.add_get("/loop/{name}", loop)
    app.router.add_get("/changes", changes)
    app.router.add_get("/mixed", mixed)
    return app


def url(server: TestServer, path: str) -> str:
    return str(server.make_url(path))


# -- a node -----------------------------------------------------------------------------

FETCH = {"connect_timeout": 2, "total_timeout": 2, "max_body_bytes": 256 * KiB, "allow_private_networks": True}


def make_settings(sources: list[dict], *, sync: dict | None = None, **fetch: Any) -> Settings:
    return Settings.model_validate(
        {
            "node": {"centre": "ki-05315", "name": "Kommunales Integrationszentrum Stadt Köln"},
            "fetch": {**FETCH, **fetch},
            "sync": {"min_interval": 60, **(sync or {})},
            "sources": sources,
        }
    )


def three_sources(server: TestServer, *, kleve_url: str | None = None) -> list[dict]:
    return [
        {"id": "wesel", "url": url(server, "/wesel"), "format": "exchange", "centre": "ki-05170"},
        {"id": "oberhausen", "url": url(server, "/oberhausen.rss"), "format": "feed", "centre": "ki-05119",
         "defaults": {"kind": "news"}},
        {"id": "kleve", "url": kleve_url or url(server, "/kleve"), "format": "auto", "centre": "ki-05154"},
    ]


class Node:
    """What `kisync sync` builds: settings, the config's sources registered, a Syncer."""

    def __init__(self, engine: Engine, sources: list[dict], *, allow_addresses=(), now=None, sync=None, **fetch: Any):
        self.settings = make_settings(sources, sync=sync, **fetch)
        self.registry = SourceRegistry(engine)
        self.store = Store(engine)
        self.reconfigure(sources)
        self.syncer = Syncer(self.settings, engine, now=now, allow_addresses=allow_addresses)

    def reconfigure(self, sources: list[dict]) -> None:
        """The operator edited config.yaml and restarted."""
        self.registry.sync_config(make_settings(sources).sources, self.settings.sync.default_interval)

    async def sync(self, *ids: str) -> dict[str, SyncReport]:
        reports = await self.syncer.sync_sources(self.registry.select(ids))
        return {r.source_id: r for r in reports}

    def versions_of(self, origin: dict) -> dict[str, str]:
        return {i: v for i, v in self.store.versions().items() if f"/{origin['id']}/" in i}


async def three_source_node(aiohttp_server, engine: Engine, **options: Any) -> tuple[Node, State, TestServer]:
    """A node whose first run stored everything: 4 Wesel items, 3 RSS items, 10 Kleve items."""
    server = await aiohttp_server(make_app())
    node = Node(engine, three_sources(server), **options)
    first = await node.sync()
    assert {i: (r.status, r.error) for i, r in first.items()} == {
        "wesel": ("ok", None), "oberhausen": ("ok", None), "kleve": ("ok", None)
    }
    assert node.store.counts() == {"live": WESEL_ITEMS + RSS_ITEMS + KLEVE_ITEMS, "deleted": 0}
    return node, server.app[STATE], server


# -- one bad source among good ones -------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    mode: str  # what /kleve turns into
    error: str  # a regex the source's error must match: it names the problem
    status: int | None = None  # the HTTP status recorded on the source
    fetch: dict = field(default_factory=dict)  # fetch settings for this case


FAILURES = [
    Failure("404", r"/kleve: not found \(HTTP 404 Not Found\)", 404),
    Failure("410", r"/kleve: gone: the source was removed for good \(HTTP 410 Gone\)", 410),
    Failure("500", r"/kleve: server error \(HTTP 500 Internal Server Error\)", 500),
    Failure("429", r"too many requests \(HTTP 429 Too Many Requests\); the server asks to retry after 3600 s", 429),
    Failure("connect-timeout", r"connect timeout after 0\.5 s \(fetch\.connect_timeout\)", fetch={"connect_timeout": 0.5}),
    Failure("drip", r"/kleve: timed out after 2 s in all \(fetch\.total_timeout\)"),
    Failure("truncated", r"/kleve: body incomplete: the connection ended before the whole body arrived"),
    Failure("too-large", r"/kleve: body larger than 256 KiB \(fetch\.max_body_bytes = 262144\)"),
    Failure("gzip-bomb", r"/kleve: body larger than 256 KiB \(fetch\.max_body_bytes = 262144\)"),
    Failure("billion-laughs", r"^XML entity declarations are not allowed \(a DOCTYPE with <!ENTITY\); the feed is refused$"),
    Failure("external-entity", r"^XML entity declarations are not allowed"),
    Failure("invalid-xml", r"^not a readable feed: line 3:\d+: not well-formed \(invalid token\)$"),
    Failure("html", r"^an HTML page, not a feed"),
    Failure("redirect-loop", r"redirect loop: \S+/kleve -> \S+/loop/a -> \S+/loop/b -> \S+/loop/a$"),
    Failure(
        "redirect-private",
        r"/kleve\)?: address 127\.0\.0\.2 is loopback: refused by the SSRF guard \(set fetch\.allow_private_networks",
        fetch={"allow_private_networks": False},
    ),
    Failure("empty", r"^empty body$"),
    Failure(
        "unusable",
        r"^no usable item among 2: item 'https://ki\.example/ki-05154/projekte/1' is invalid and was skipped: "
        r"title: Field required$",
    ),
]


@pytest.mark.parametrize("case", FAILURES, ids=lambda case: case.mode)
async def test_a_failing_source_fails_alone_and_loses_nothing(aiohttp_server, engine, request, case):
    guarded = not case.fetch.get("allow_private_networks", True)
    server = await aiohttp_server(make_app())
    # With the SSRF guard on, exactly the test server's own address is let through.
    allow = [("127.0.0.1", server.port)] if guarded else []
    node = Node(engine, three_sources(server), allow_addresses=allow, **case.fetch)
    assert all(r.ok for r in (await node.sync()).values())
    good = node.registry.get("kleve")
    stored = node.versions_of(KLEVE)
    assert len(stored) == KLEVE_ITEMS

    state = server.app[STATE]
    state.kleve, state.wesel = case.mode, 2
    if case.mode == "connect-timeout":
        port = request.getfixturevalue("unanswered_port")
        node.reconfigure(three_sources(server, kleve_url=f"http://127.0.0.1:{port}/kleve"))
    started = datetime.now(UTC)
    second = await node.sync()

    # The bad source: failed, and its state says why.
    report = second["kleve"]
    assert (report.ok, report.status) == (False, "failed")
    assert re.search(case.error, report.error), report.error
    source = node.registry.get("kleve")
    assert source.error == report.error
    assert source.http_status == case.status
    assert source.consecutive_failures == 1 and not source.healthy
    assert source.last_attempt >= started and source.last_success == good.last_success
    assert (source.etag, source.seen) == (good.etag, KLEVE_ITEMS)  # a failure keeps the last good state
    assert started < source.next_due <= started + timedelta(days=1, seconds=5)
    if case.status == 429:
        assert source.next_due >= started + timedelta(seconds=3600)  # Retry-After honoured

    # The good sources, in the same run: Wesel changed and was merged, Oberhausen answered 304.
    assert (second["wesel"].status, second["wesel"].outcome.updated) == ("ok", 1)
    assert second["oberhausen"].status == "not modified"
    assert node.registry.get("wesel").healthy and node.registry.get("oberhausen").healthy
    assert node.store.get(item_id(WESEL, 1)).title == "Rucksack KiTa: neue Gruppen"

    # Nothing of the bad source was lost or changed.
    assert node.versions_of(KLEVE) == stored
    assert node.store.counts() == {"live": WESEL_ITEMS + RSS_ITEMS + KLEVE_ITEMS, "deleted": 0}
    if case.mode == "gzip-bomb":
        assert state.bomb_sent < 4 * MiB  # the client hung up long before the gigabyte


async def test_a_wrong_declared_encoding_is_read_as_it_is_and_warned(aiohttp_server, engine):
    node, state, _ = await three_source_node(aiohttp_server, engine)
    stored, before = node.versions_of(KLEVE), set(node.store.versions())
    state.kleve = "wrong-encoding"  # declares ISO-8859-1, is UTF-8

    second = await node.sync()

    assert all(r.ok for r in second.values())
    source = node.registry.get("kleve")
    assert (source.error, source.consecutive_failures, source.http_status) == (None, 0, 200)
    assert [(w["code"], w["message"]) for w in source.warnings] == [
        ("encoding", "declares ISO-8859-1 but the bytes are UTF-8; read as UTF-8")
    ]
    [feed_id] = set(node.store.versions()) - before
    item = node.store.get(feed_id)
    assert feed_id.startswith("urn:kisync:feed:") and item.origin.id == "ki-05154"
    assert item.title == "Förderung für Familien: Griffbereit in Goch"
    assert item.summary == "Mütter und Väter üben spielerisch Sprache – in der Familiensprache und auf Deutsch."
    assert node.versions_of(KLEVE) == stored  # a feed is no snapshot: it deletes nothing


# -- the mass-deletion guard ----------------------------------------------------------------


async def test_a_snapshot_that_drops_most_items_is_held_until_approved(aiohttp_server, engine):
    node, state, _ = await three_source_node(aiohttp_server, engine)
    stored = node.versions_of(KLEVE)
    state.kleve = "drop"  # 1 of 10 items left

    reports = await node.sync()

    held = reports["kleve"]
    assert reports["wesel"].ok and reports["oberhausen"].ok
    assert held.ok and held.outcome.deleted == 0
    message = node.registry.get("kleve").on_hold
    assert held.on_hold == message
    assert message.startswith(
        "the snapshot would delete 9 of 10 items of ki-05154 (90%, more than sync.max_deletion_share 50%); nothing was deleted."
    )
    assert message.endswith("approve it: kisync sources approve-deletion SOURCE_ID")
    assert node.versions_of(KLEVE) == stored
    assert message[:60] in summary([held])

    # Still held on the next run (the server now answers 304), until an operator approves.
    again = (await node.sync())["kleve"]
    assert again.not_modified and node.registry.get("kleve").on_hold == message
    assert node.versions_of(KLEVE) == stored

    approved = node.registry.approve_deletion("kleve")
    assert approved.deletion_approved and approved.next_due is None
    deleting = (await node.sync())["kleve"]

    assert deleting.ok and not deleting.not_modified, "the approval must make the next sync read the snapshot again"
    assert (deleting.outcome.deleted, deleting.on_hold) == (9, None)
    source = node.registry.get("kleve")
    assert (source.on_hold, source.deletion_approved, source.deleted) == (None, False, 9)  # the approval is spent
    deleted = {i for i in stored if node.store.get(i).deleted}
    assert deleted == set(stored) - {item_id(KLEVE, 1)}
    assert node.store.counts() == {"live": WESEL_ITEMS + RSS_ITEMS + 1, "deleted": 9}

    after = (await node.sync())["kleve"]
    assert after.not_modified and node.store.counts()["deleted"] == 9


async def test_an_approval_is_spent_by_the_next_snapshot_and_cannot_wave_through_a_later_drop(aiohttp_server, engine):
    node, state, _ = await three_source_node(aiohttp_server, engine)
    node.registry.approve_deletion("kleve")  # nothing is held: an approval by mistake, or for a hold long resolved

    assert (await node.sync("kleve"))["kleve"].outcome.deleted == 0
    assert not node.registry.get("kleve").deletion_approved

    state.kleve = "drop"
    later = (await node.sync("kleve"))["kleve"]
    assert later.outcome.deleted == 0 and "would delete 9 of 10" in later.on_hold


async def test_an_empty_snapshot_never_deletes_without_approval(aiohttp_server, engine):
    # Even when the operator allows any share: a snapshot with no items at all is a broken export.
    node, state, _ = await three_source_node(aiohttp_server, engine, sync={"max_deletion_share": 1.0})
    stored = node.versions_of(KLEVE)
    state.kleve = "empty-snapshot"

    report = (await node.sync("kleve"))["kleve"]

    assert report.ok and report.outcome.deleted == 0
    assert "would delete 10 of 10 items of ki-05154 (the snapshot lists no items at all); nothing was deleted" in report.on_hold
    assert node.versions_of(KLEVE) == stored


# -- a bug met in one source's data ---------------------------------------------------------


async def test_an_unexpected_exception_stays_with_its_source(aiohttp_server, engine, monkeypatch):
    # In a thread (parse_processes 0), where a patched normalizer is the one that runs.
    node, state, _ = await three_source_node(aiohttp_server, engine, sync={"parse_processes": 0})
    stored = node.store.versions()
    original = kisync.pipeline.normalize_document

    def flaky(doc, ctx):
        if ctx.source_id == "kleve":
            raise RuntimeError("a bug in a normalizer")
        return original(doc, ctx)

    monkeypatch.setattr(kisync.pipeline, "normalize_document", flaky)
    state.validators = False  # make every source parse again

    reports = await node.sync()

    assert reports["wesel"].ok and reports["oberhausen"].ok
    assert not reports["kleve"].ok
    assert reports["kleve"].error == "internal error: RuntimeError: a bug in a normalizer"
    assert node.registry.get("kleve").consecutive_failures == 1
    assert node.store.versions() == stored


async def test_a_parser_process_that_dies_fails_its_sources_and_the_next_sync_starts_a_new_one(aiohttp_server, engine):
    node, state, _ = await three_source_node(aiohttp_server, engine, sync={"parse_processes": 1})
    stored = node.store.versions()
    executor = kisync.parallel.pool(1)
    os.kill(executor.submit(os.getpid).result(), signal.SIGKILL)  # what the OOM killer does to a worker
    with pytest.raises(BrokenProcessPool):
        executor.submit(os.getpid).result(timeout=30)
    state.validators = False

    broken = await node.sync()

    # The sources that met the dead pool fail; the first to meet it drops it, so later ones get a new one.
    failed = {r.error for r in broken.values() if not r.ok}
    assert failed == {"the parser process ended while reading this body (killed for memory, or crashed); nothing was stored"}
    assert node.store.versions() == stored
    again = await node.sync()
    assert all(r.ok for r in again.values()), {i: r.error for i, r in again.items()}
    assert kisync.parallel.pool(1) is not executor
    assert node.store.versions() == stored


async def test_parsing_in_worker_processes_or_in_a_thread_stores_the_same(aiohttp_server, engine, tmp_path):
    from kisync.store.db import create_engine, upgrade

    server = await aiohttp_server(make_app())
    other = create_engine(f"sqlite:///{tmp_path / 'thread.sqlite'}")
    upgrade(other)
    pooled = Node(engine, three_sources(server), sync={"parse_processes": 2})
    threaded = Node(other, three_sources(server), sync={"parse_processes": 0})
    for node in (pooled, threaded):
        assert all(r.ok for r in (await node.sync()).values())
    assert (pooled.syncer.processes, threaded.syncer.processes) == (2, 0)
    assert pooled.store.versions() == threaded.store.versions()


# -- back-off ---------------------------------------------------------------------------------


class Clock:
    def __init__(self, start: datetime):
        self.value = start

    def __call__(self) -> datetime:
        return self.value


async def test_backoff_grows_with_each_failure_up_to_the_cap_and_success_resets_it(aiohttp_server, engine):
    server = await aiohttp_server(make_app())
    clock = Clock(datetime.now(UTC))
    node = Node(engine, three_sources(server)[2:], now=clock, sync={"min_interval": 60, "max_backoff": 600})
    server.app[STATE].kleve = "500"

    for failures in range(1, 8):
        await node.sync()
        source = node.registry.get("kleve")
        assert source.consecutive_failures == failures
        assert source.last_attempt == clock.value
        delay = (source.next_due - clock.value).total_seconds()
        ceiling = min(600, 60 * 2 ** (failures - 1))  # 60, 120, 240, 480, then the 600 s cap
        assert ceiling / 2 <= delay <= ceiling  # jitter: the upper half
        clock.value = source.next_due

    server.app[STATE].kleve = "good"
    await node.sync()
    source = node.registry.get("kleve")
    assert (source.consecutive_failures, source.error, source.http_status) == (0, None, 200)
    assert source.next_due - clock.value == timedelta(hours=1)  # the interval again (sync.default_interval)


# -- exchange: changes feeds, cursors, origins --------------------------------------------------


async def test_a_changes_feed_is_followed_through_all_pages_and_continued_from_its_cursor(aiohttp_server, engine):
    server = await aiohttp_server(make_app())
    source = {"id": "wesel-changes", "url": url(server, "/changes?origin=ki-05170"), "format": "exchange", "centre": "ki-05170"}
    node = Node(engine, [source])

    first = (await node.sync())["wesel-changes"]

    assert first.ok and (first.outcome.seen, first.outcome.new, first.outcome.deleted) == (9, 8, 1)
    assert server.app[STATE].requests == [
        "/changes?origin=ki-05170",
        "/changes?origin=ki-05170&since=c3",
        "/changes?origin=ki-05170&since=c6",
    ]
    assert node.registry.get("wesel-changes").cursor == "c9"
    assert node.store.counts() == {"live": 7, "deleted": 1}
    assert node.store.get(item_id(WESEL, 1)).deleted

    second = (await node.sync())["wesel-changes"]

    assert server.app[STATE].requests[3:] == ["/changes?origin=ki-05170&since=c9"]
    assert second.ok and second.outcome.seen == 0
    assert node.registry.get("wesel-changes").cursor == "c9"


async def test_a_snapshot_cursor_is_not_sent_back_to_the_snapshot(aiohttp_server, engine):
    # A snapshot (complete: true) is read whole every time; its cursor is for a changes-feed client.
    node, state, _ = await three_source_node(aiohttp_server, engine)
    state.validators = False

    again = await node.sync("wesel")

    assert again["wesel"].ok, again["wesel"].error
    assert node.registry.get("wesel").cursor is None
    assert [r for r in state.requests if r.startswith("/wesel")] == ["/wesel", "/wesel"]


async def test_a_sloppy_origin_is_stamped_and_warned_through_the_pipeline(aiohttp_server, engine):
    node, state, _ = await three_source_node(aiohttp_server, engine)
    state.wesel_sloppy = True  # item 1: new title, the same `modified`
    started = datetime.now(UTC)

    report = (await node.sync("wesel"))["wesel"]

    assert report.ok and report.outcome.updated == 1
    item = node.store.get(item_id(WESEL, 1))
    assert item.title == "Rucksack KiTa: neue Gruppen"
    assert started <= item.modified <= datetime.now(UTC)  # stamped with the fetch time
    assert node.registry.get("wesel").warnings == [
        {
            "item": item_id(WESEL, 1),
            "code": "modified_not_changed",
            "message": "content changed but modified did not; stamped with the fetch time",
        }
    ]

    # The same document again: nothing to stamp, nothing to warn about.
    state.validators = False
    versions = node.store.versions()
    again = (await node.sync("wesel"))["wesel"]
    assert again.ok and not again.not_modified
    assert (again.outcome.new, again.outcome.updated) == (0, 0)
    assert node.registry.get("wesel").warnings == []
    assert node.store.versions() == versions


async def test_foreign_items_are_refused_from_a_direct_source_and_taken_from_a_relay(aiohttp_server, engine):
    server = await aiohttp_server(make_app())
    node = Node(
        engine,
        [
            {"id": "direct", "url": url(server, "/mixed"), "format": "exchange", "centre": "ki-05170"},
            {"id": "relay", "url": url(server, "/mixed"), "format": "exchange", "relay": True},
        ],
    )
    foreign = item_id(KLEVE, 7)

    direct = (await node.sync("direct"))["direct"]

    assert direct.ok and (direct.outcome.new, direct.warnings) == (2, 1)
    assert node.store.get(foreign) is None
    assert node.registry.get("direct").warnings == [
        {
            "item": foreign,
            "code": "foreign_origin",
            "message": "origin 'ki-05154' is not this source's centre 'ki-05170'; "
            "only a relay source may deliver other centres' items",
        }
    ]

    relay = (await node.sync("relay"))["relay"]

    assert relay.ok and (relay.outcome.new, relay.outcome.seen, relay.warnings) == (1, 3, 0)
    assert node.store.get(foreign).origin.id == "ki-05154"
    assert node.registry.get("relay").warnings == []


# -- the bundled demo -------------------------------------------------------------------------

EXPECTED = {  # source: (items seen, live, tombstones)
    "ki-05170-kreis-wesel": (8, 8, 0),
    "ki-05154-kreis-kleve": (8, 8, 0),
    "ki-05112-duisburg": (8, 7, 1),
    "stadt-oberhausen-rss": (7, 7, 0),
    "kreis-recklinghausen-atom": (6, 6, 0),
}


async def test_the_bundled_examples_sync_end_to_end(database_url, engine):
    settings = load_settings(REPO / "config.yaml", environ={"KISYNC_DATABASE_URL": database_url})
    registry, store = SourceRegistry(engine), Store(engine)
    registry.sync_config(settings.sources, settings.sync.default_interval)
    syncer = Syncer(settings, engine)

    first = {r.source_id: r for r in await syncer.sync_sources(registry.select())}

    assert {i: (r.status, r.outcome.seen, r.outcome.new, r.outcome.deleted) for i, r in first.items()} == {
        i: ("ok", seen, live, deleted) for i, (seen, live, deleted) in EXPECTED.items()
    }
    assert store.counts() == {"live": 36, "deleted": 1}
    for source_id, centre in [("stadt-oberhausen-rss", "ki-05119"), ("kreis-recklinghausen-atom", "ki-05562")]:
        items = [store.get(p["item_id"]) for p in _provenance_of(store, source_id)]
        assert len(items) == EXPECTED[source_id][0]
        for item in items:
            assert isinstance(item, Item) and item.id.startswith("urn:kisync:feed:")
            assert item.origin.id == centre
            assert item.model_extra["_classification"], item.id
            assert item.fields_of_action
    assert all(registry.get(i).healthy for i in EXPECTED)
    seq = store.last_seq()

    second = await syncer.sync_sources(registry.select())

    assert [(r.source_id, r.status, r.outcome.http_status) for r in second] == [
        (i, "not modified", 304) for i in sorted(EXPECTED)
    ]
    assert store.last_seq() == seq and store.counts() == {"live": 36, "deleted": 1}
    assert summary(second).endswith("5 source(s): 5 ok, 0 failed, 5 not modified; nothing changed")
    assert registry.get("ki-05170-kreis-wesel").seen == 8  # a 304 keeps the counts of the last full read


def _provenance_of(store: Store, source_id: str) -> list[dict]:
    return [p for i in store.versions() for p in store.provenance(i) if p["source_id"] == source_id]


# -- `kisync sync` as the operator runs it ----------------------------------------------------


def run_kisync(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kisync", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def closed_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    return port


@pytest.mark.slow
def test_kisync_sync_on_the_bundled_config(tmp_path):
    shutil.copy(REPO / "config.yaml", tmp_path / "config.yaml")
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KISYNC_")}
    env["KISYNC_DATABASE_URL"] = f"sqlite:///{tmp_path / 'state' / 'kisync.db'}"

    unmigrated = run_kisync("sync", cwd=tmp_path, env=env)
    assert unmigrated.returncode == 1
    assert "has no kisync tables: run `kisync db upgrade` first" in unmigrated.stderr

    assert run_kisync("db", "upgrade", cwd=tmp_path, env=env).returncode == 0
    first = run_kisync("sync", "--all", cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "5 source(s): 5 ok, 0 failed; 36 new, 0 updated, 1 deleted" in first.stdout

    second = run_kisync("sync", "--all", cwd=tmp_path, env=env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert second.stdout.count("not modified") >= 5
    assert "5 source(s): 5 ok, 0 failed, 5 not modified; nothing changed" in second.stdout

    port = closed_port()
    with (tmp_path / "config.yaml").open("a", encoding="utf-8") as config:
        config.write(f"\n  - id: unreachable\n    url: http://127.0.0.1:{port}/feed.json\n    format: exchange\n"
                     "    centre: ki-05158\n")
    env["KISYNC_FETCH_ALLOW_PRIVATE_NETWORKS"] = "true"
    third = run_kisync("sync", "--all", cwd=tmp_path, env=env)
    assert third.returncode == 1, third.stdout + third.stderr
    assert f"cannot connect to 127.0.0.1:{port}: connection refused" in third.stdout
    assert "6 source(s): 5 ok, 1 failed, 5 not modified; nothing changed" in third.stdout


async def test_outcomes_that_queue_while_the_store_is_busy_are_recorded_together(aiohttp_server, engine):
    node, _, _ = await three_source_node(aiohttp_server, engine)
    batches: list[int] = []
    record = node.syncer._record
    original = record._together
    record._together = lambda outcomes: batches.append(len(outcomes)) or original(outcomes)
    busy = threading.Event()
    node.syncer._writer.submit(lambda: busy.wait(10))  # a merge in progress, say
    when = datetime(2026, 3, 1, tzinfo=UTC)
    outcomes = {
        source.id: kisync.sync.Outcome(attempted=when, ok=False, error=f"boom {source.id}", next_due=when)
        for source in node.registry.select()
    }
    recording = asyncio.gather(*(node.syncer._record((i, o)) for i, o in outcomes.items()))
    await asyncio.sleep(0.1)
    busy.set()
    await recording
    assert batches == [3], "one transaction for the three"
    assert {s.id: s.error for s in node.registry.select()} == {i: o.error for i, o in outcomes.items()}


async def test_a_direct_source_is_parsed_while_the_store_is_busy(aiohttp_server, engine):
    """Only a relay's merge context reads the store: the others' parsing does not wait for the writer's merges."""
    node, state, _ = await three_source_node(aiohttp_server, engine, sync={"parse_processes": 0})
    state.validators = False  # every source answers 200 and is parsed again
    parsed: list[str] = []
    process = node.syncer.process

    async def recording(source, page):
        parsed.append(source.id)
        return await process(source, page)

    node.syncer.process = recording
    busy = threading.Event()
    node.syncer._writer.submit(lambda: busy.wait(10))  # a long merge in progress, say
    syncing = asyncio.ensure_future(node.sync())
    try:
        for _ in range(100):
            if len(parsed) == 3:
                break
            await asyncio.sleep(0.05)
        assert sorted(parsed) == ["kleve", "oberhausen", "wesel"], "parsing waited for the store"
    finally:
        busy.set()
    reports = await syncing
    assert all(r.ok for r in reports.values()), {i: r.error for i, r in reports.items()}


def test_parser_processes_run_below_the_syncing_process():
    """When the cores are busy, the store writer and the event loop go before parsing."""
    kisync.parallel.shutdown()  # a pool made now, with the current initializer
    worker = kisync.parallel.pool(1).submit(os.nice, 0).result(timeout=60)
    assert worker == min(os.nice(0) + kisync.parallel.WORKER_NICENESS, 19)


async def test_fetched_bodies_wait_in_bounded_numbers_and_304s_never_wait(aiohttp_server, engine):
    """While parsing lags, new fetches wait: a cold sync does not hold every body at once; a 304 holds none."""
    server = await aiohttp_server(make_app())
    sources = [{"id": f"rss-{n:02d}", "url": url(server, f"/oberhausen.rss?n={n}"), "format": "feed",
                "centre": "ki-05119"} for n in range(80)]
    node = Node(engine, sources, sync={"parse_processes": 0}, concurrency=2, per_host_concurrency=2)
    slots = node.syncer.ingest_slots
    assert 2 + 2 * slots < len(sources)
    ingest, release = node.syncer._ingest_pages, asyncio.Event()

    async def slow_ingest(*args, **kwargs):
        await release.wait()
        return await ingest(*args, **kwargs)

    node.syncer._ingest_pages = slow_ingest
    requests = server.app[STATE].requests
    first = asyncio.ensure_future(node.sync())
    await asyncio.sleep(0.5)
    # The ingest slots all taken; then fetch.concurrency + slots admitted.
    assert len(requests) == slots + (2 + slots)
    release.clear()
    release.set()
    assert all(r.ok for r in (await first).values()) and len(requests) == 80

    release.clear()  # ingest blocked again: only a source with a body would notice
    second = await asyncio.wait_for(node.sync(), 10)
    assert all(r.not_modified for r in second.values())



async def test_a_merge_waits_for_the_sources_being_parsed_and_they_share_a_commit(aiohttp_server, engine, monkeypatch):
    """A group commit: the first source parsed waits for the two still being parsed; one transaction for all three."""
    monkeypatch.setattr(kisync.sync, "MERGE_LINGER", 60)  # the wait ends when they are queued, not by time
    server = await aiohttp_server(make_app())
    sources = [{"id": f"rss-{n}", "url": url(server, f"/oberhausen.rss?n={n}"), "format": "feed",
                "centre": "ki-05119"} for n in range(3)]
    node = Node(engine, sources, sync={"parse_processes": 0})
    groups: list[list[str]] = []
    merge_many = node.syncer.store.merge_many

    def recorded(batches):
        groups.append(sorted(context.source_id for _, context, _, _ in batches))
        return merge_many(batches)

    node.syncer._merge._together = recorded
    process, parsing, later = node.syncer.process, asyncio.Event(), asyncio.Event()

    async def slow_for_two(source, page):
        if source.id != "rss-0":
            parsing.set()
            await later.wait()
        return await process(source, page)

    node.syncer.process = slow_for_two
    syncing = asyncio.ensure_future(node.sync())
    await parsing.wait()
    await asyncio.sleep(0.2)  # rss-0 parsed and queued by now
    assert groups == []
    later.set()
    assert all(r.ok for r in (await syncing).values())
    assert groups == [["rss-0", "rss-1", "rss-2"]]
