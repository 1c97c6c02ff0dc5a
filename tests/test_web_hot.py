"""Repeated reads answered without the handler: the same answer as the chain's, and never a stale one past the bound."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Histogram

from kisync.store.db import create_engine
from kisync.store.merge import MergeContext
from kisync.store.repository import Store
from kisync.web import SEQ
from kisync.web.hot import HOT
from kisync.web.metrics import RequestTally
from tests.factories import live
from tests.test_web_support import NODE, app_of

pytest_plugins = ["tests.test_web_support"]

# Every read that follows the change sequence, the HTML pages and the CSV included.
HOT_READS = [
    "/feed.rss",
    "/feed.atom?field=schule&kind=event",
    "/feed.json",
    "/api/v1/items?limit=100",
    "/api/v1/items.csv",
    "/api/v1/items/urn%3Aexample%3Aoutside",
    "/api/v1/changes",
    "/api/v1/snapshot",
    "/api/v1/centres",
    "/api/v1/stats",
    "/?field=schule",
    "/items/urn%3Aexample%3Aoutside",
    "/statistik",
]


def hot_hits(client) -> int:
    return app_of(client)[HOT].hits


def answer(response, body: bytes) -> tuple:
    """Everything the client gets but the Date."""
    return response.status, [(k, v) for k, v in response.headers.items() if k != "Date"], body


async def fetch(client, path: str, headers: dict[str, str]) -> tuple:
    response = await client.get(path, headers=headers, auto_decompress=False)
    return answer(response, await response.read())


async def test_a_repeated_read_is_the_chains_answer_byte_for_byte(web_client):
    app_of(web_client)[SEQ].refresh_seconds = 3600  # one sequence for the whole test
    for path in HOT_READS:
        first = await web_client.get(path)
        assert first.status == 200, path
        etag = first.headers["ETag"]
        answers = []
        for headers in ({"Accept-Encoding": "identity"}, {"Accept-Encoding": "gzip"}, {"If-None-Match": etag}):
            chain = await fetch(web_client, path, headers)
            hits = hot_hits(web_client)
            again = await fetch(web_client, path, headers)
            assert hot_hits(web_client) == hits + 1, (path, headers)
            assert again == chain, (path, headers)
            answers.append(again)
        plain, zipped, not_modified = answers
        assert not_modified[0] == 304 and not_modified[2] == b""
        # A 304 says what the 200 says about the representation, with the same values (RFC 9110 §15.4.5).
        full = {name.lower(): value for name, value in plain[1]}
        for name, value in not_modified[1]:
            if name.lower() != "content-length":
                assert full[name.lower()] == value, (path, name)
        described = {"etag", "last-modified", "cache-control", "vary", "content-security-policy"}
        assert described <= {n.lower() for n, _ in not_modified[1]}
        assert {name.lower(): value for name, value in zipped[1]}["etag"] == full["etag"]


async def test_what_the_hot_path_leaves_to_the_chain(web_client):
    app_of(web_client)[SEQ].refresh_seconds = 3600
    first = await web_client.get("/feed.rss")
    await web_client.get("/feed.rss")
    hits = hot_hits(web_client)
    head = await web_client.head("/feed.rss")
    assert head.status == 200 and await head.read() == b""
    since = await web_client.get("/feed.rss", headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert since.status == 304
    for _ in range(2):
        assert (await web_client.get("/api/v1/changes?since=3")).status == 200
    assert (await web_client.get("/api/v1/sources")).status == 200
    assert (await web_client.get("/api/v1/sources")).status == 200
    assert hot_hits(web_client) == hits


async def test_hot_answers_are_counted_in_the_metrics(web_client):
    app_of(web_client)[SEQ].refresh_seconds = 3600

    async def count() -> float:
        text = await (await web_client.get("/metrics")).text()
        found = re.search(r'^kisync_http_requests_total\{route="/feed.json",status="200"\} (\S+)$', text, re.M)
        return float(found.group(1)) if found else 0.0

    before = await count()
    for _ in range(5):
        await web_client.get("/feed.json")
    assert hot_hits(web_client) >= 4
    assert await count() == before + 5


async def test_a_write_by_another_process_is_served_after_the_refresh_interval(web_client, database_url):
    seq = app_of(web_client)[SEQ]
    seq.refresh_seconds = 0.2
    old = await web_client.get("/feed.json")
    current = {"If-None-Match": old.headers["ETag"]}
    for _ in range(2):
        await web_client.get("/feed.json")
        assert (await web_client.get("/feed.json", headers=current)).status == 304
    assert hot_hits(web_client) >= 2, "both answers are prepared"
    # Another process: its own engine and connection pool, no bump of this app's sequence.
    other = create_engine(database_url)
    try:
        ctx = MergeContext(node_centre=NODE, now=datetime(2026, 11, 29, tzinfo=UTC), relay=True)
        Store(other).merge([live("https://example.org/elsewhere", minutes=477_000, title="Von nebenan")], ctx)
    finally:
        other.dispose()
    await asyncio.sleep(seq.refresh_seconds)
    new = await web_client.get("/feed.json")
    assert new.headers["ETag"] != old.headers["ETag"]
    assert "Von nebenan" in {item["title"] for item in (await new.json())["items"]}
    assert (await web_client.get("/feed.json", headers=current)).status == 200


def test_the_request_tally_counts_in_bulk_and_loses_nothing():
    registry = CollectorRegistry()
    requests = Counter("t_requests_total", "", ["route"], registry=registry).labels("/x")
    seconds = Histogram("t_seconds", "", buckets=(0.01, 1), registry=registry)
    tally = RequestTally()
    tally.LIMIT = 3

    def counted() -> tuple[float | None, float | None, float | None]:
        return (registry.get_sample_value("t_requests_total", {"route": "/x"}),
                registry.get_sample_value("t_seconds_count"), registry.get_sample_value("t_seconds_bucket", {"le": "0.01"}))

    tally.add((requests, seconds), 0.001)
    tally.add((requests, seconds), 0.5)
    assert counted() == (0.0, 0.0, 0.0)  # kept until the limit or a scrape
    tally.add((requests, seconds), 0.002)
    assert counted() == (3.0, 3.0, 2.0)
    tally.add((requests, seconds), 0.003)
    tally.flush()  # what /metrics does first
    assert counted() == (4.0, 4.0, 3.0)
