"""Shared set-up of the HTML tests: stores filled through the real pipeline, and the app on a real port.

No tests here; ``test_html_*`` modules import the helpers and load the
fixtures with ``pytest_plugins``.

"Realistic" data is what a node of the KI Stadt Köln would hold: the three
example snapshots (exchange format) and the two example feeds (RSS, Atom),
each served by a loopback HTTP server and synced with kisync.sync.Syncer,
plus a source that fails (404) and one that is switched off. "Hostile"
data is the same pipeline fed with the documents in tests/fixtures/html/,
full of XSS payloads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy.engine import Engine

from kisync.config import Settings
from kisync.sources import SourceRegistry
from kisync.sync import Syncer
from kisync.web import create_app

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "html"
EXAMPLES = REPO / "examples"
NODE = "ki-05315"
NODE_NAME = "Kommunales Integrationszentrum Stadt Köln"
# The examples are dated up to 2026-11-28; the pipeline refuses what lies more than a day ahead of its clock.
SYNCED_AT = datetime(2026, 11, 29, 7, 0, tzinfo=UTC)
MEDIA = {".json": "application/json", ".rss": "application/rss+xml", ".atom": "application/atom+xml"}

# Served documents, by path: (file, status).
REALISTIC_FILES = {
    "/wesel.json": EXAMPLES / "ki-05170-kreis-wesel.json",
    "/kleve.json": EXAMPLES / "ki-05154-kreis-kleve.json",
    "/duisburg.json": EXAMPLES / "ki-05112-duisburg.json",
    "/oberhausen.rss": EXAMPLES / "feeds" / "stadt-oberhausen-integration.rss",
    "/recklinghausen.atom": EXAMPLES / "feeds" / "kreis-recklinghausen-integration.atom",
}
REALISTIC_SOURCES = [
    {"id": "wesel", "path": "/wesel.json", "format": "exchange", "centre": "ki-05170"},
    {"id": "kleve", "path": "/kleve.json", "format": "exchange", "centre": "ki-05154"},
    {"id": "duisburg", "path": "/duisburg.json", "format": "exchange", "centre": "ki-05112"},
    {"id": "oberhausen", "path": "/oberhausen.rss", "format": "feed", "centre": "ki-05119", "defaults": {"kind": "news"}},
    {"id": "recklinghausen", "path": "/recklinghausen.atom", "format": "feed", "centre": "ki-05562"},
    {"id": "muelheim", "path": "/muelheim.json", "format": "exchange", "centre": "ki-05117"},  # 404
    {"id": "bonn", "path": "/bonn.json", "format": "exchange", "centre": "ki-05314", "enabled": False},
]

HOSTILE_FILES = {
    "/hostile.rss": FIXTURES / "hostile.rss",
    "/hostile.atom": FIXTURES / "hostile.atom",
    "/hostile-feed.json": FIXTURES / "hostile-feed.json",
    "/hostile-exchange.json": FIXTURES / "hostile-exchange.json",
}
HOSTILE_CENTRES = {"ki-05158": "rss", "ki-05162": "atom", "ki-05166": "jsonfeed", "ki-05362": "exchange"}
HOSTILE_SOURCES = [
    {"id": "boese-rss", "path": "/hostile.rss", "format": "feed", "centre": "ki-05158"},
    {"id": "boese-atom", "path": "/hostile.atom", "format": "feed", "centre": "ki-05162"},
    {"id": "boese-jsonfeed", "path": "/hostile-feed.json", "format": "auto", "centre": "ki-05166"},
    {"id": "boese-exchange", "path": "/hostile-exchange.json", "format": "exchange", "centre": "ki-05362"},
    # A redirect to a script URL: the fetcher refuses it, and its error text (with the URL) reaches /zentren.
    {"id": "boese-umleitung", "path": "/redirect", "format": "auto", "centre": "ki-05158"},
]
REDIRECT_TARGET = "javascript:window.__kisyncXss=1;alert('umleitung')//<script>alert(1)</script>"


def sources_app(files: dict[str, Path]) -> web.Application:
    """A loopback server for source documents: the files by path, a 404 for anything else."""

    async def serve(request: web.Request) -> web.StreamResponse:
        if request.path == "/redirect":
            return web.Response(status=302, headers={"Location": REDIRECT_TARGET})
        path = files.get(request.path)
        if path is None:
            raise web.HTTPNotFound()
        return web.Response(body=path.read_bytes(), content_type=MEDIA[path.suffix])

    app = web.Application()
    app.router.add_get("/{tail:.*}", serve)
    return app


def node_settings(sources: list[dict[str, Any]], server: TestServer, **privacy: Any) -> Settings:
    configured = [
        {**{k: v for k, v in source.items() if k != "path"}, "url": str(server.make_url(source["path"]))} for source in sources
    ]
    return Settings.model_validate(
        {
            "node": {"centre": NODE, "name": NODE_NAME, "base_url": "https://kisync.koeln.example"},
            "fetch": {"allow_private_networks": True, "connect_timeout": 5, "total_timeout": 10},
            "sync": {"min_interval": 60},
            "privacy": privacy,
            "sources": configured,
        }
    )


async def sync_all(settings: Settings, engine: Engine) -> list:
    """What `kisync sync` does: register the configured sources, sync every enabled one."""
    registry = SourceRegistry(engine)
    registry.sync_config(settings.sources, settings.sync.default_interval)
    syncer = Syncer(settings, engine, now=lambda: SYNCED_AT)
    return await syncer.sync_sources([s for s in registry.select() if s.enabled])


@dataclass
class Site:
    """A node's web app on a real loopback port, after a sync of its sources."""

    url: str
    settings: Settings
    engine: Engine
    reports: list

    def __call__(self, path: str) -> str:
        return self.url.rstrip("/") + path


async def start_site(engine: Engine, files: dict[str, Path], sources: list[dict], **privacy: Any):
    """Sync ``sources`` (served from ``files``) into the store, then serve the app; returns (Site, servers)."""
    source_server = TestServer(sources_app(files), host="127.0.0.1")
    await source_server.start_server()
    settings = node_settings(sources, source_server, **privacy)
    reports = await sync_all(settings, engine)
    app_server = TestServer(create_app(settings, engine, admin_token=""), host="127.0.0.1")
    await app_server.start_server()
    return Site(str(app_server.make_url("/")), settings, engine, reports), [app_server, source_server]


@pytest.fixture
async def realistic_site(engine, monkeypatch):
    monkeypatch.delenv("KISYNC_ADMIN_TOKEN", raising=False)
    site, servers = await start_site(engine, REALISTIC_FILES, REALISTIC_SOURCES)
    yield site
    for server in servers:
        await server.close()


@pytest.fixture
async def hostile_site(engine, monkeypatch):
    monkeypatch.delenv("KISYNC_ADMIN_TOKEN", raising=False)
    site, servers = await start_site(engine, HOSTILE_FILES, HOSTILE_SOURCES)
    yield site
    for server in servers:
        await server.close()
