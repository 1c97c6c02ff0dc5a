"""Admin API under /api/v1/admin: manage sources, trigger a sync.

Enabled only when ``KISYNC_ADMIN_TOKEN`` is set when the app is created;
without it every admin route answers 404, as if it did not exist. The
bearer token is compared in constant time and never logged.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from kisync.config import SourceSettings
from kisync.sources import Source, SourceError
from kisync.web.api import source_status
from kisync.web.context import TRIGGER_SYNC, WebContext, context
from kisync.web.errors import BadRequest, Conflict, Forbidden, NotFound, ServiceUnavailable, Unauthorized
from kisync.web.models import SyncAccepted

ENV_TOKEN = "KISYNC_ADMIN_TOKEN"
# A source definition is small; anything bigger is a mistake or an attack.
MAX_BODY = 64 * 1024


def require_admin(request: web.Request) -> WebContext:
    ctx = context(request)
    if ctx.admin_token is None:
        raise NotFound("no such resource")
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            "admin endpoints need a bearer token (Authorization: Bearer …)",
            headers={"WWW-Authenticate": 'Bearer realm="kisync admin"'},
        )
    if not ctx.admin_token_matches(token.strip()):
        raise Forbidden("the token is not valid for the admin API")
    return ctx


def _source_json(source: Source, status: int = 200) -> web.Response:
    # The admin sees the URL as configured (credentials included): the admin configured it.
    body = source_status(source).model_dump(mode="json")
    body["url"] = source.url
    return web.json_response(body, status=status, headers={"Cache-Control": "no-store"})


async def _settings_from_body(request: web.Request, *, source_id: str | None = None) -> SourceSettings:
    raw = await request.content.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise BadRequest(f"body larger than {MAX_BODY} bytes")
    try:
        data: Any = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError) as error:
        raise BadRequest(f"body is not JSON: {error}", details={"errors": [{"path": "", "message": str(error)}]}) from None
    if not isinstance(data, dict):
        raise BadRequest("body must be a JSON object (a source definition)", details={"errors": []})
    if source_id is not None:
        if "id" in data and data["id"] != source_id:
            raise BadRequest(
                f"the body's id {data['id']!r} is not the id in the path {source_id!r}",
                details={"errors": [{"path": "id", "message": "must match the path"}]},
            )
        data = {**data, "id": source_id}
    try:
        return SourceSettings.model_validate(data)
    except ValidationError as error:
        errors = [
            {
                "path": ".".join(str(p) for p in e["loc"]),
                "message": e["msg"].removeprefix("Value error, "),
                "type": e["type"],
            }
            for e in error.errors()
        ]
        raise BadRequest("the source definition is not valid", details={"errors": errors}) from None


async def _get(ctx: WebContext, source_id: str) -> Source:
    try:
        return await asyncio.to_thread(ctx.sources.get, source_id)
    except SourceError:
        raise NotFound(f"no source {source_id!r}", details={"id": source_id}) from None


def _admin_managed(source: Source) -> None:
    if source.managed_by == "config":
        raise Conflict(
            f"source {source.id!r} is defined in config.yaml: change it there",
            details={"id": source.id, "managed_by": source.managed_by},
        )


async def add_source(request: web.Request) -> web.Response:
    ctx = require_admin(request)
    settings = await _settings_from_body(request)
    interval = ctx.settings.sync.default_interval
    try:
        source = await asyncio.to_thread(ctx.sources.add, settings, interval)
    except SourceError as error:
        raise Conflict(str(error), details={"id": settings.id}) from None
    response = _source_json(source, status=201)
    response.headers["Location"] = ctx.url(f"/api/v1/admin/sources/{source.id}")
    return response


async def update_source(request: web.Request) -> web.Response:
    ctx = require_admin(request)
    source_id = request.match_info["id"]
    _admin_managed(await _get(ctx, source_id))
    settings = await _settings_from_body(request, source_id=source_id)
    source = await asyncio.to_thread(ctx.sources.update, source_id, settings, ctx.settings.sync.default_interval)
    return _source_json(source)


async def remove_source(request: web.Request) -> web.Response:
    ctx = require_admin(request)
    source_id = request.match_info["id"]
    _admin_managed(await _get(ctx, source_id))
    await asyncio.to_thread(ctx.sources.remove, source_id)
    return web.Response(status=204, headers={"Cache-Control": "no-store"})


async def enable_source(request: web.Request) -> web.Response:
    ctx = require_admin(request)
    source_id = request.match_info["id"]
    await _get(ctx, source_id)
    return _source_json(await asyncio.to_thread(ctx.sources.set_enabled, source_id, True))


async def disable_source(request: web.Request) -> web.Response:
    ctx = require_admin(request)
    source_id = request.match_info["id"]
    await _get(ctx, source_id)
    return _source_json(await asyncio.to_thread(ctx.sources.set_enabled, source_id, False))


async def sync_source(request: web.Request) -> web.Response:
    ctx = require_admin(request)
    source_id = request.match_info["id"]
    source = await _get(ctx, source_id)
    if not source.enabled:
        # As `kisync sync ID` refuses it: a disabled source is fetched by nobody until it is enabled.
        who = " and ".join({"config": "config.yaml (enabled: false)", "operator": "an operator"}[w] for w in source.disabled_by)
        raise Conflict(
            f"source {source_id!r} is disabled by {who}: enable it first",
            details={"id": source_id, "disabled_by": source.disabled_by},
        )
    trigger = request.app.get(TRIGGER_SYNC) or request.app.get("kisync.trigger_sync")  # type: ignore[call-overload]
    if trigger is None:
        raise ServiceUnavailable("no worker in this process: run `kisync run`, or sync with `kisync sync`")
    await trigger(source_id)
    body = SyncAccepted(status="accepted", source=source_id).model_dump(mode="json")
    return web.json_response(body, status=202, headers={"Cache-Control": "no-store"})
