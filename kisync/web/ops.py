"""Operations: liveness, readiness, metrics, the API description."""

from __future__ import annotations

import asyncio
import json

from aiohttp import web

from kisync.errors import StorageError
from kisync.store.db import require_migrated
from kisync.web.caching import Rendered
from kisync.web.context import context
from kisync.web.errors import ServiceUnavailable
from kisync.web.metrics import CONTENT_TYPE as METRICS_TYPE
from kisync.web.metrics import REQUEST_TALLY, render_metrics
from kisync.web.models import Health, Ready
from kisync.web.openapi import build_openapi
from kisync.web.params import parse_no_params
from kisync.web.respond import JSON, serve_fresh

_NO_STORE = {"Cache-Control": "no-store"}


async def healthz(request: web.Request) -> web.Response:
    """The process is alive; says nothing about the database (that is /readyz)."""
    parse_no_params(request.query)
    return web.json_response(Health(status="ok").model_dump(), headers=_NO_STORE)


async def readyz(request: web.Request) -> web.Response:
    """The database is reachable and migrated to the code's revision: ready for traffic."""
    ctx = context(request)
    parse_no_params(request.query)
    try:
        await asyncio.to_thread(require_migrated, ctx.engine)
        seq = await ctx.seq.refresh()
    except StorageError as error:
        # The message names the command that fixes it; describe_url has hidden the password.
        raise ServiceUnavailable(str(error), details={"reason": "database"}) from None
    return web.json_response(Ready(status="ready", change_seq=seq).model_dump(), headers=_NO_STORE)


async def metrics(request: web.Request) -> web.Response:
    ctx = context(request)
    parse_no_params(request.query)
    REQUEST_TALLY.flush()  # every request answered before this one is counted
    body = await asyncio.to_thread(render_metrics, ctx.engine)
    return web.Response(body=body, headers={**_NO_STORE, "Content-Type": METRICS_TYPE})


OPENAPI_KEY = web.AppKey("kisync.openapi", bytes)


def render_openapi(settings) -> bytes:
    return json.dumps(build_openapi(settings), ensure_ascii=False, indent=1).encode()


async def openapi(request: web.Request) -> web.Response:
    """The OpenAPI 3.1 description of every route; built once per app."""
    parse_no_params(request.query)
    return await serve_fresh(request, Rendered(request.app[OPENAPI_KEY], JSON), cache_control="public, max-age=3600")
