"""Leases and workers: several processes share one database without fetching a source twice."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from aiohttp import web

from kisync.config import SourceSettings
from kisync.sources import SourceRegistry
from kisync.store.db import create_engine
from kisync.store.leases import claim, claim_due, release
from tests.conftest import REPO, reset_store

NOW = datetime(2026, 6, 1, tzinfo=UTC)
LEASE = timedelta(minutes=5)


def add_sources(engine, count: int, url: str = "https://example.org/feed/{n}") -> None:
    registry = SourceRegistry(engine)
    for n in range(count):
        registry.add(SourceSettings(id=f"s{n:02d}", url=url.format(n=n), centre="ki-05170"), 3600)


def test_claims_do_not_overlap_and_lapse(engine):
    add_sources(engine, 5)
    first = claim_due(engine, "a", NOW, LEASE, 3)
    second = claim_due(engine, "b", NOW, LEASE, 10)
    assert len(first) == 3 and len(second) == 2 and not set(first) & set(second)
    assert claim_due(engine, "c", NOW, LEASE, 10) == []
    # "a" crashed: its leases lapse, another worker takes them over.
    assert sorted(claim_due(engine, "c", NOW + LEASE + timedelta(seconds=1), LEASE, 10)) == sorted(first + second)


def test_release_and_trigger(engine):
    add_sources(engine, 1)
    assert claim_due(engine, "a", NOW, LEASE, 1) == ["s00"]
    assert not claim(engine, "s00", "b", NOW, LEASE)  # held by a
    release(engine, "s00", "b")  # not b's: nothing happens
    assert not claim(engine, "s00", "b", NOW, LEASE)
    release(engine, "s00", "a")
    assert claim(engine, "s00", "b", NOW, LEASE)


def test_disabled_and_not_yet_due_sources_are_not_claimed(engine):
    add_sources(engine, 2)
    registry = SourceRegistry(engine)
    registry.set_enabled("s00", False)
    from kisync.sources import Outcome

    registry.record("s01", Outcome(attempted=NOW, ok=True, http_status=200, next_due=NOW + timedelta(hours=1)))
    assert claim_due(engine, "a", NOW, LEASE, 10) == []
    assert claim_due(engine, "a", NOW + timedelta(hours=1), LEASE, 10) == ["s01"]


class FeedServer:
    """A loopback server with one small exchange snapshot per source, counting requests."""

    def __init__(self, count: int):
        self.count = count
        self.hits: dict[int, list[float]] = defaultdict(list)
        self.lock = threading.Lock()

    async def handle(self, request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        with self.lock:
            self.hits[n].append(time.monotonic())
        await asyncio.sleep(0.05)  # widen the window in which a second fetch could sneak in
        centre = {"id": "ki-05170", "name": "KI Kreis Wesel"}
        item = {
            "id": f"https://www.kreis-wesel.de/ki/p/{n}", "kind": "project", "origin": centre,
            "created": "2026-01-01T00:00:00Z", "modified": "2026-01-01T00:00:00Z",
            "title": f"Projekt {n}", "fields_of_action": ["schule"],
        }
        doc = {"exchange_version": "1.0", "publisher": centre, "generated": "2026-01-01T00:00:00Z", "data": [item]}
        return web.json_response(doc)


@pytest.mark.slow
async def test_two_worker_processes_fetch_each_source_once_per_period(aiohttp_server, postgres_url, tmp_path: Path):
    engine = create_engine(postgres_url)
    reset_store(engine)
    engine.dispose()
    feeds = FeedServer(50)
    app = web.Application()
    app.router.add_get("/feed/{n}", feeds.handle)
    server = await aiohttp_server(app)
    interval = 4.0
    config = {
        "database": {"url": postgres_url},
        "fetch": {"allow_private_networks": True, "concurrency": 8},
        "sync": {"tick": 0.2, "min_interval": 1, "default_interval": interval},
        "logging": {"format": "json", "level": "INFO"},
        "sources": [
            {"id": f"s{n:02d}", "url": f"http://127.0.0.1:{server.port}/feed/{n}", "centre": "ki-05170", "format": "exchange"}
            for n in range(50)
        ],
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "kisync", "worker", "-c", str(path)],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for _ in range(2)
    ]
    started = time.monotonic()
    await asyncio.sleep(10)  # the event loop keeps serving the feeds meanwhile
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    outputs = []
    for worker in workers:
        _, err = await asyncio.to_thread(worker.communicate, timeout=60)
        assert worker.returncode == 0, err[-2000:]
        outputs.append(err)
    elapsed = time.monotonic() - started

    assert sorted(feeds.hits) == list(range(50)), "every source was fetched"
    for n, hits in feeds.hits.items():
        gaps = [b - a for a, b in zip(hits, hits[1:], strict=False)]
        # Once per due period: never two fetches of one source within its interval.
        assert all(gap > interval - 0.5 for gap in gaps), (n, gaps)
        assert 2 <= len(hits) <= int(elapsed // interval) + 1, (n, len(hits))
    synced_by = [sum('"message": "sync ok"' in line for line in err.splitlines()) for err in outputs]
    assert all(count > 0 for count in synced_by), f"both workers share the work: {synced_by}"
    assert sum(synced_by) == sum(len(h) for h in feeds.hits.values())
    lines = [json.loads(line) for err in outputs for line in err.splitlines() if line.startswith("{")]
    assert any(line["message"] == "worker stopped" for line in lines)
