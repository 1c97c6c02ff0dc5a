"""The web app: routes, middlewares, and what the handlers share.

``create_app(settings, engine)`` builds it; ``kisync serve``/``kisync run``
start it with ``web.AppRunner(app, **RUNNER_OPTIONS)``: kisync's
``AccessLogger`` (kisync.web.accesslog), which logs method, path, status
and time, never headers, so the admin token cannot reach a log.

A syncer in the same process makes its changes visible at once with
``app[SEQ].bump(result.last_seq)``; a worker in the same process sets
``trigger_sync`` so that POST /api/v1/admin/sources/{id}/sync can reach it.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy.engine import Engine

from kisync.config import Settings
from kisync.sources import SourceRegistry
from kisync.web import accesslog, admin, api, ops, syndication
from kisync.web.accesslog import RUNNER_OPTIONS, AccessLogger  # noqa: F401  (what `kisync serve` runs the app with)
from kisync.web.caching import ChangeSeq, RenderCache
from kisync.web.context import CONTEXT, SEQ, TRIGGER_SYNC, TriggerSync, WebContext
from kisync.web.errors import error_middleware
from kisync.web.hot import HOT, HotAnswers
from kisync.web.html import pages
from kisync.web.html.security import security_headers_middleware
from kisync.web.html.templates import STYLESHEET_PATH
from kisync.web.metrics import REQUEST_TALLY, request_metrics
from kisync.web.public import Publication


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: object
    name: str
    cors: bool = False  # read-only JSON: browsers on other sites may read it
    api: bool = True  # part of the API, described in /openapi.json; False for the HTML pages and their stylesheet


ROUTES: list[Route] = [
    Route("GET", "/feed.rss", syndication.feed_rss, "feed_rss"),
    Route("GET", "/feed.atom", syndication.feed_atom, "feed_atom"),
    Route("GET", "/feed.json", syndication.feed_json, "feed_json", cors=True),
    Route("GET", "/api/v1/items", api.list_items, "items", cors=True),
    Route("GET", "/api/v1/items.csv", api.items_csv, "items_csv"),
    # The id is a URI: percent-encoded in the path, slashes included.
    Route("GET", "/api/v1/items/{id:.+}", api.get_item, "item", cors=True),
    Route("GET", "/api/v1/changes", api.changes, "changes", cors=True),
    Route("GET", "/api/v1/snapshot", api.snapshot, "snapshot", cors=True),
    Route("GET", "/api/v1/centres", api.centres, "centres", cors=True),
    Route("GET", "/api/v1/sources", api.sources, "sources", cors=True),
    Route("GET", "/api/v1/stats", api.stats, "stats", cors=True),
    Route("GET", "/sources.opml", syndication.sources_opml, "sources_opml"),
    Route("GET", "/healthz", ops.healthz, "healthz"),
    Route("GET", "/readyz", ops.readyz, "readyz"),
    Route("GET", "/metrics", ops.metrics, "metrics"),
    Route("GET", "/openapi.json", ops.openapi, "openapi", cors=True),
    Route("POST", "/api/v1/admin/sources", admin.add_source, "admin_add_source"),
    Route("PUT", "/api/v1/admin/sources/{id}", admin.update_source, "admin_update_source"),
    Route("DELETE", "/api/v1/admin/sources/{id}", admin.remove_source, "admin_remove_source"),
    Route("POST", "/api/v1/admin/sources/{id}/enable", admin.enable_source, "admin_enable_source"),
    Route("POST", "/api/v1/admin/sources/{id}/disable", admin.disable_source, "admin_disable_source"),
    Route("POST", "/api/v1/admin/sources/{id}/sync", admin.sync_source, "admin_sync_source"),
    # The HTML overview for people (kisync.web.html): German pages, not part of the API description.
    Route("GET", "/", pages.overview, "html_overview", api=False),
    Route("GET", "/items/{id:.+}", pages.item_page, "html_item", api=False),
    Route("GET", "/zentren", pages.centres_page, "html_centres", api=False),
    Route("GET", "/statistik", pages.stats_page, "html_stats", api=False),
    Route("GET", STYLESHEET_PATH, pages.stylesheet, "html_stylesheet", api=False),
]

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "ETag, Last-Modified, Content-Disposition",
}
PREFLIGHT_HEADERS = {
    **CORS_HEADERS,
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "Accept, Accept-Language, If-None-Match, If-Modified-Since",
    "Access-Control-Max-Age": "86400",
}


def _canonical(path: str) -> str:
    return web.DynamicResource(path).canonical if "{" in path else path


_CORS_PATHS = {_canonical(r.path) for r in ROUTES if r.cors}
# Routes left out of /openapi.json on purpose: the pages for people (the OpenAPI test excludes exactly these).
PAGE_ROUTES = frozenset((r.method, _canonical(r.path)) for r in ROUTES if not r.api)


def _route_template(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "(unmatched)"


async def preflight(request: web.Request) -> web.Response:
    """CORS preflight (Fetch standard, "CORS protocol") for the read-only JSON endpoints."""
    return web.Response(status=204, headers=PREFLIGHT_HEADERS)


@web.middleware
async def cors_middleware(request: web.Request, handler) -> web.StreamResponse:
    response = await handler(request)
    if _route_template(request) in _CORS_PATHS:
        response.headers.update(CORS_HEADERS)
    return response


def serving_middleware(hot: HotAnswers):
    """The outermost middleware: a repeated read from the hot path, else the chain (and the hot path learns); all counted.

    One middleware for both, as every layer costs a call on every request.
    """

    @web.middleware
    async def serve(request: web.Request, handler) -> web.StreamResponse:
        started = time.perf_counter()
        hit = hot.answer(request)
        if hit is None:
            response = await handler(request)
            metrics = request_metrics(_route_template(request), response.status)
            hot.learn(request, response, metrics)
        else:
            response, metrics = hit
        REQUEST_TALLY.add(metrics, time.perf_counter() - started)
        return response

    return serve


async def _flush_access_log(app: web.Application) -> None:
    accesslog.flush()  # the lines of the last tenth of a second


def create_app(
    settings: Settings,
    engine: Engine,
    *,
    trigger_sync: TriggerSync | None = None,
    admin_token: str | None = None,
    cache: RenderCache | None = None,
) -> web.Application:
    """The web app on a migrated database.

    ``admin_token`` defaults to the environment's ``KISYNC_ADMIN_TOKEN``;
    without a token the admin API answers 404.
    """
    token = admin_token if admin_token is not None else os.environ.get(admin.ENV_TOKEN, "")
    seq = ChangeSeq(engine)
    cache = cache or RenderCache()
    ctx = WebContext(
        settings=settings,
        engine=engine,
        publication=Publication.from_settings(settings),
        seq=seq,
        cache=cache,
        sources=SourceRegistry(engine),
        admin_token=token.encode() if token else None,
    )
    hot = HotAnswers(seq, cache)
    middlewares = [serving_middleware(hot), security_headers_middleware, cors_middleware, error_middleware]
    app = web.Application(middlewares=middlewares)
    app[CONTEXT] = ctx
    app[HOT] = hot
    app[SEQ] = seq
    if trigger_sync is not None:
        app[TRIGGER_SYNC] = trigger_sync
    app[ops.OPENAPI_KEY] = ops.render_openapi(settings)
    app.on_cleanup.append(_flush_access_log)
    _add_routes(app)
    return app


def _add_routes(app: web.Application) -> None:
    resources: dict[str, web.Resource] = {}
    for route in ROUTES:
        resource = resources.get(route.path)
        if resource is None:
            resource = resources[route.path] = app.router.add_resource(route.path, name=route.name)
            if route.cors:
                resource.add_route("OPTIONS", preflight)
        resource.add_route(route.method, route.handler)  # type: ignore[arg-type]
        if route.method == "GET":
            resource.add_route("HEAD", route.handler)  # type: ignore[arg-type]
