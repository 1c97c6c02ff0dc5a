"""HTTP done right: ETags and 304s, Last-Modified, gzip once per change, the render cache, CORS, media types, errors."""

from __future__ import annotations

import asyncio
import gzip
import threading
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime

from kisync.store.db import create_engine
from kisync.store.merge import MergeContext
from kisync.web import SEQ, caching, create_app
from kisync.web.caching import ChangeSeq, RenderCache, Rendered, accepts_gzip, etag_matches
from kisync.web.context import CONTEXT
from tests.factories import live
from tests.test_web_support import NODE, app_of, assert_error_shape, get_json, make_settings

pytest_plugins = ["tests.test_web_support"]

MEDIA_TYPES = {
    "/feed.rss": "application/rss+xml; charset=utf-8",
    "/feed.atom": "application/atom+xml; charset=utf-8",
    "/feed.json": "application/feed+json; charset=utf-8",
    "/api/v1/items": "application/json; charset=utf-8",
    "/api/v1/items.csv": "text/csv; charset=utf-8",
    "/api/v1/changes": "application/json; charset=utf-8",
    "/api/v1/snapshot": "application/json; charset=utf-8",
    "/api/v1/centres": "application/json; charset=utf-8",
    "/api/v1/sources": "application/json; charset=utf-8",
    "/api/v1/stats": "application/json; charset=utf-8",
    "/sources.opml": "text/x-opml; charset=utf-8",
    "/openapi.json": "application/json; charset=utf-8",
    "/metrics": "text/plain; version=0.0.4; charset=utf-8",
    "/healthz": "application/json; charset=utf-8",
}
CACHED = [p for p in MEDIA_TYPES if p not in ("/metrics", "/healthz")]


@contextmanager
def count_statements(engine):
    """How many SQL statements the engine runs inside the block."""
    import sqlalchemy as sa

    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def slow_refresh(client) -> None:
    """Keep the known change sequence for the whole test: what a request reads is then only what it needs."""
    app_of(client)[SEQ].refresh_seconds = 3600


async def test_media_types_and_cache_control(web_client):
    for path, media_type in MEDIA_TYPES.items():
        response = await web_client.get(path)
        assert response.status == 200, path
        assert response.headers["Content-Type"] == media_type, path
    for path in ("/feed.rss", "/feed.atom", "/feed.json"):
        assert (await web_client.get(path)).headers["Cache-Control"] == "public, max-age=60"
    for path in ("/api/v1/items", "/api/v1/changes", "/api/v1/snapshot", "/api/v1/stats"):
        response = await web_client.get(path)
        assert response.headers["Cache-Control"] == "no-cache" and response.headers["ETag"]


async def test_etag_and_304_for_every_cached_read(web_client, engine):
    slow_refresh(web_client)
    for path in CACHED:
        first = await web_client.get(path)
        etag = first.headers["ETag"]
        assert first.headers["Vary"] == "Accept-Encoding"
        with count_statements(engine) as statements:
            again = await web_client.get(path, headers={"If-None-Match": etag})
        assert again.status == 304, path
        assert await again.read() == b""
        assert again.headers["ETag"] == etag
        if path not in ("/api/v1/sources", "/sources.opml", "/openapi.json"):
            assert statements == [], f"{path}: a 304 by ETag needs no query"
        listed = await web_client.get(path, headers={"If-None-Match": f'"other", {etag.removeprefix("W/")}'})
        assert listed.status == 304, path
        assert (await web_client.get(path, headers={"If-None-Match": '"other"'})).status == 200


async def test_etag_follows_the_normalized_query_and_the_change_sequence(web_client, populated_store):
    one = await web_client.get("/feed.json?kind=event&field=schule&limit=50")
    same = await web_client.get("/feed.json?field=schule&kind=event")
    other = await web_client.get("/feed.json?field=schule")
    assert one.headers["ETag"] == same.headers["ETag"] != other.headers["ETag"]
    assert (await web_client.get("/feed.rss?field=schule")).headers["ETag"] != other.headers["ETag"]
    old = await web_client.get("/feed.json")
    # A sync in this process makes its change visible at once.
    ctx = MergeContext(node_centre=NODE, now=datetime(2026, 11, 29, tzinfo=UTC), relay=True)
    result = populated_store.merge([live("https://example.org/new", minutes=477_000, title="Ganz neu")], ctx)
    app_of(web_client)[SEQ].bump(result.last_seq)
    new = await web_client.get("/feed.json", headers={"If-None-Match": old.headers["ETag"]})
    assert new.status == 200 and new.headers["ETag"] != old.headers["ETag"]
    assert "Ganz neu" in {item["title"] for item in (await new.json())["items"]}


async def test_settings_that_shape_the_output_change_the_etag(make_client, populated_store):
    private = await make_client()
    public = await make_client(make_settings(publish_contacts=True))
    assert (await private.get("/api/v1/items")).headers["ETag"] != (await public.get("/api/v1/items")).headers["ETag"]


async def test_last_modified_and_if_modified_since(web_client):
    first = await web_client.get("/feed.atom")
    last_modified = first.headers["Last-Modified"]
    moment = parsedate_to_datetime(last_modified)
    assert moment <= datetime.now(UTC)
    assert (await web_client.get("/feed.atom", headers={"If-Modified-Since": last_modified})).status == 304
    later = format_datetime(moment + timedelta(hours=1), usegmt=True)
    assert (await web_client.get("/feed.atom", headers={"If-Modified-Since": later})).status == 304
    earlier = format_datetime(moment - timedelta(seconds=1), usegmt=True)
    assert (await web_client.get("/feed.atom", headers={"If-Modified-Since": earlier})).status == 200
    assert (await web_client.get("/feed.atom", headers={"If-Modified-Since": "gestern"})).status == 200
    # If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2).
    both = await web_client.get("/feed.atom", headers={"If-Modified-Since": later, "If-None-Match": '"other"'})
    assert both.status == 200
    # One item: its own `modified` at the least.
    item = await web_client.get("/api/v1/items/urn%3Aexample%3Aoutside")
    assert parsedate_to_datetime(item.headers["Last-Modified"]) >= datetime(2026, 1, 1, 1, 40, tzinfo=UTC)


async def test_head_answers_like_get_without_a_body(web_client):
    get = await web_client.get("/feed.rss")
    head = await web_client.head("/feed.rss")
    assert head.status == 200 and await head.read() == b""
    assert head.headers["ETag"] == get.headers["ETag"]
    assert head.headers["Content-Type"] == get.headers["Content-Type"]


async def test_gzip_once_per_representation_and_change(web_client, monkeypatch):
    calls = []
    original = caching.gzip_body

    def counting(body: bytes) -> bytes:
        calls.append(len(body))
        return original(body)

    monkeypatch.setattr(caching, "gzip_body", counting)
    slow_refresh(web_client)
    plain = await web_client.get("/feed.rss", headers={"Accept-Encoding": "identity"})
    plain_body = await plain.read()
    assert "Content-Encoding" not in plain.headers
    bodies = []
    for _ in range(3):
        response = await web_client.get("/feed.rss", headers={"Accept-Encoding": "gzip"}, auto_decompress=False)
        assert response.headers["Content-Encoding"] == "gzip"
        assert response.headers["ETag"] == plain.headers["ETag"]
        bodies.append(await response.read())
    assert len(calls) == 1, "compressed once, then served from the cache"
    assert bodies[0] is not None and bodies.count(bodies[0]) == 3
    assert gzip.decompress(bodies[0]) == plain_body and len(bodies[0]) < len(plain_body)
    refused = await web_client.get("/feed.rss", headers={"Accept-Encoding": "gzip;q=0, identity"}, auto_decompress=False)
    assert "Content-Encoding" not in refused.headers
    # An answer too small to gain from it stays plain.
    small = await web_client.get("/api/v1/items?q=nichtsdergleichen", headers={"Accept-Encoding": "gzip"}, auto_decompress=False)
    assert "Content-Encoding" not in small.headers


async def test_a_large_body_is_compressed_once_by_concurrent_requests(monkeypatch):
    calls = []
    original = caching.gzip_body
    monkeypatch.setattr(caching, "gzip_body", lambda body: calls.append(1) or original(body))
    cache = RenderCache()
    key = ("/big", "", 1)
    entry = Rendered(b"kisync " * 50_000, "text/plain")  # beyond the inline size: compressed in a thread
    cache.put(key, entry)
    results = await asyncio.gather(*(caching._gzipped(entry, cache, key) for _ in range(5)))
    assert len(calls) == 1 and all(r is results[0] for r in results)
    assert gzip.decompress(results[0]) == entry.body
    assert cache.bytes == len(entry.body) + len(results[0])


def test_accept_encoding_parsing():
    assert accepts_gzip("gzip")
    assert accepts_gzip("br, gzip;q=0.5")
    assert accepts_gzip("*")
    assert accepts_gzip("deflate, x-gzip")
    assert not accepts_gzip(None)
    assert not accepts_gzip("identity")
    assert not accepts_gzip("gzip;q=0")
    assert not accepts_gzip("*, gzip;q=0")
    assert not accepts_gzip("gzip;q=nonsense")


def test_etag_comparison():
    assert etag_matches('W/"1-a"', 'W/"1-a"')
    assert etag_matches('"1-a"', 'W/"1-a"')  # weak comparison
    assert etag_matches('"x", W/"1-a"', 'W/"1-a"')
    assert etag_matches("*", 'W/"1-a"')
    assert not etag_matches('"1-b"', 'W/"1-a"')
    assert not etag_matches("", 'W/"1-a"')


async def test_a_second_read_is_served_from_the_cache(web_client, engine):
    slow_refresh(web_client)
    await web_client.get("/api/v1/snapshot")
    with count_statements(engine) as statements:
        await web_client.get("/api/v1/snapshot")
        await web_client.get("/api/v1/snapshot", headers={"Accept-Encoding": "gzip"})
    assert statements == []
    cache = app_of(web_client)[CONTEXT].cache
    assert cache.hits >= 2


async def test_the_change_sequence_is_read_at_most_twice_a_second(engine, populated_store, monkeypatch):
    reads = []
    original = caching.read_counters
    monkeypatch.setattr(caching, "read_counters", lambda e: reads.append(1) or original(e))
    now = [100.0]
    seq = ChangeSeq(engine, clock=lambda: now[0])
    first = await seq.current()
    assert first > 0 and len(reads) == 1
    now[0] += 0.4
    await asyncio.gather(*(seq.current() for _ in range(10)))
    assert len(reads) == 1
    now[0] += 0.2
    await asyncio.gather(*(seq.current() for _ in range(10)))
    assert len(reads) == 2, "one refresh for many waiting requests"
    seq.bump(first + 5)
    assert await seq.current() == first + 5 and len(reads) == 2
    changed = seq.changed_at
    seq.bump(first + 5)
    assert seq.changed_at == changed


async def test_the_fast_path_reads_the_change_sequence_ahead_and_never_past_the_bound(engine, populated_store, monkeypatch):
    reads = []
    original = caching.read_counters
    monkeypatch.setattr(caching, "read_counters", lambda e: reads.append(1) or original(e))
    now = [100.0]
    seq = ChangeSeq(engine, refresh_seconds=0.5, clock=lambda: now[0])
    assert seq.known() is None, "never read: unknown"
    first = await seq.current()
    now[0] = 100.3
    assert seq.known() == first
    await asyncio.sleep(0.05)
    assert len(reads) == 1, "early in the interval: no read"
    now[0] = 100.4
    assert seq.known() == first  # answered at once, and the next read starts in the background
    # Until the early read is over, not only started: `reads` counts a read when it begins.
    await until(lambda: len(reads) == 2 and seq._early is None)
    now[0] = 100.85
    assert seq.known() is not None, "fresh from the early read"
    now[0] = 100.9
    assert seq.known() is None, "as old as the bound: only a read may answer"
    await until(lambda: len(reads) == 3)  # the one started at 100.85


async def test_a_read_that_overlaps_an_in_process_commit_does_not_take_the_value_back(engine, populated_store, monkeypatch):
    original = caching.read_counters
    started, release = threading.Event(), threading.Event()

    def slow_read(e):
        result = original(e)  # the value before the commit below
        started.set()
        release.wait(5)
        return result

    seq = ChangeSeq(engine)
    first = await seq.current()
    monkeypatch.setattr(caching, "read_counters", slow_read)
    reading = asyncio.create_task(seq.refresh())
    await asyncio.to_thread(started.wait, 5)
    seq.bump(first + 3)  # a commit of this process, announced while the read is under way
    release.set()
    assert await reading == first + 3
    assert seq.value == first + 3


async def until(condition, seconds: float = 2.0) -> None:
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met in time")


async def test_render_cache_bounds_and_single_flight():
    cache = RenderCache(max_entries=3, max_bytes=400)
    for n in range(5):
        cache.put(("/p", str(n), 1), Rendered(b"x" * 50, "text/plain"))
    assert len(cache) == 3 and cache.get(("/p", "0", 1)) is None and cache.get(("/p", "4", 1)) is not None
    cache.put(("/p", "big", 1), Rendered(b"x" * 150, "text/plain"))
    assert cache.bytes <= 400
    cache.put(("/p", "huge", 1), Rendered(b"x" * 101, "text/plain"))  # more than a quarter of the budget
    assert cache.get(("/p", "huge", 1)) is None
    cache.put(("/p", "4", 1), Rendered(b"x" * 90, "text/plain"))
    cache.put(("/p", "4", 1), Rendered(b"x" * 90, "text/plain"))
    assert cache.bytes == sum(e.size for e in cache._entries.values())

    renders = []

    async def render() -> Rendered:
        renders.append(1)
        await asyncio.sleep(0.01)
        return Rendered(b"body", "text/plain")

    results = await asyncio.gather(*(cache.get_or_render(("/q", "", 2), render) for _ in range(5)))
    assert len(renders) == 1 and all(r is results[0] for r in results)
    # Bodies of earlier sequences are dropped when a later one is cached.
    assert all(key[2] >= 2 for key in cache._entries)

    async def failing() -> Rendered:
        await asyncio.sleep(0.01)
        raise RuntimeError("no")

    outcomes = await asyncio.gather(*(cache.get_or_render(("/f", "", 2), failing) for _ in range(3)), return_exceptions=True)
    assert all(isinstance(o, RuntimeError) for o in outcomes)
    assert cache.get(("/f", "", 2)) is None


CORS_PATHS = ["/feed.json", "/api/v1/items", "/api/v1/items/urn%3Aexample%3Aoutside", "/api/v1/changes",
              "/api/v1/snapshot", "/api/v1/centres", "/api/v1/sources", "/api/v1/stats", "/openapi.json"]


async def test_cors_on_the_read_only_json_only(web_client):
    for path in CORS_PATHS:
        response = await web_client.get(path, headers={"Origin": "https://elsewhere.example"})
        assert response.headers["Access-Control-Allow-Origin"] == "*", path
        assert "ETag" in response.headers["Access-Control-Expose-Headers"]
        preflight = await web_client.options(
            path, headers={"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "GET"}
        )
        assert preflight.status == 204, path
        assert preflight.headers["Access-Control-Allow-Origin"] == "*"
        assert "GET" in preflight.headers["Access-Control-Allow-Methods"]
        assert "If-None-Match" in preflight.headers["Access-Control-Allow-Headers"]
    for path in ("/feed.rss", "/feed.atom", "/api/v1/items.csv", "/sources.opml", "/metrics", "/healthz"):
        response = await web_client.get(path, headers={"Origin": "https://elsewhere.example"})
        assert "Access-Control-Allow-Origin" not in response.headers, path
        assert (await web_client.options(path)).status == 405, path
    # An error of a CORS endpoint is readable by the page that caused it.
    error = await web_client.get("/api/v1/items?limit=x", headers={"Origin": "https://elsewhere.example"})
    assert error.status == 400 and error.headers["Access-Control-Allow-Origin"] == "*"
    admin = await web_client.post("/api/v1/admin/sources", headers={"Origin": "https://elsewhere.example"})
    assert "Access-Control-Allow-Origin" not in admin.headers


async def test_one_error_shape_for_every_error(make_client, populated_store, caplog):
    async def boom(request):
        raise RuntimeError("secret internals: password=hunter2")

    client = await make_client(prepare=lambda app: app.router.add_get("/boom", boom))
    cases = [
        ("GET", "/nowhere", 404, "not_found"),
        ("GET", "/api/v1/items/urn%3Anothing", 404, "not_found"),
        ("POST", "/feed.rss", 405, "method_not_allowed"),
        ("DELETE", "/api/v1/items", 405, "method_not_allowed"),
        ("GET", "/api/v1/items?limit=0", 400, "invalid_parameter"),
        ("GET", "/api/v1/admin/nothing", 404, "not_found"),
        ("GET", "/boom", 500, "internal_error"),
    ]
    for method, path, status, code in cases:
        response = await client.request(method, path)
        assert response.status == status, (method, path)
        assert response.headers["Content-Type"] == "application/json; charset=utf-8"
        body = await response.json()
        assert_error_shape(body, code)
        text = await response.text()
        assert "Traceback" not in text and "hunter2" not in text
    not_allowed = await client.post("/feed.rss")
    assert "GET" in not_allowed.headers["Allow"]
    assert (await not_allowed.json())["error"]["details"]["allowed"]
    assert "hunter2" in caplog.text  # the log has what the client must not see


async def test_a_database_that_is_gone_answers_503(aiohttp_client, tmp_path):
    broken = create_engine(f"sqlite:///{tmp_path / 'nothing-here.db'}")  # never migrated
    client = await aiohttp_client(create_app(make_settings(), broken))
    ready = await client.get("/readyz")
    assert ready.status == 503
    body = await ready.json()
    assert_error_shape(body, "service_unavailable")
    assert "kisync db upgrade" in body["error"]["message"]
    items = await client.get("/api/v1/items")
    assert items.status == 503
    assert_error_shape(await items.json(), "service_unavailable")
    assert (await client.get("/healthz")).status == 200
    broken.dispose()


async def test_the_default_cache_keeps_the_error_shape_for_bad_queries(web_client):
    # Errors are never cached: the same bad request twice, the same answer twice.
    for _ in range(2):
        error = await get_json(web_client, "/feed.json?field=nix", 400)
        assert error["error"]["details"] == {"parameter": "field"}
