"""The OpenAPI 3.1 description of the app (served at /openapi.json).

Written by hand route by route, so that a test comparing it with the
app's router catches an undocumented route (and a documented one that is
gone), as datasette's test_docs does for its endpoints. Schemas are not
written by hand: the exchange format comes from ``kisync.schema`` (the
same JSON Schema as ``schemas/``), the other bodies from the pydantic
models in ``kisync.web.models``.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic.json_schema import models_json_schema

from kisync import __version__
from kisync.config import Settings, SourceSettings
from kisync.schema import generate_schemas
from kisync.vocab import FieldOfAction, Kind
from kisync.web.models import RESPONSE_MODELS
from kisync.web.params import API_LIMIT, FEED_LIMIT, MAX_LIMIT, MAX_Q

REF = "#/components/schemas/"
JSON = "application/json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF + name}


def _rewrite_refs(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: (REF + v.removeprefix("#/$defs/") if k == "$ref" and v.startswith("#/$defs/") else _rewrite_refs(v))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rewrite_refs(v) for v in node]
    return node


def component_schemas() -> dict[str, Any]:
    """Exchange v1 (hoisted out of its ``$defs``) and the API's own bodies."""
    schemas = generate_schemas()
    defs: dict[str, Any] = {}
    tops: dict[str, Any] = {}
    for file_name, component in (("exchange-v1.schema.json", "ExchangeDocument"), ("item-v1.schema.json", "AnyItem")):
        schema = copy.deepcopy(schemas[file_name])
        defs.update(schema.pop("$defs", {}))
        for key in ("$schema", "$id"):
            schema.pop(key, None)
        tops[component] = schema
    models = [(model, "serialization") for model in RESPONSE_MODELS] + [(SourceSettings, "validation")]
    _, generated = models_json_schema(models, ref_template=REF + "{model}")
    own = generated.get("$defs", {})
    # Shared enums (Kind, FieldOfAction) come out the same from both; keep one.
    return _rewrite_refs({**own, **defs, **tops})


# -- parameters ------------------------------------------------------------------

_ARRAY = {"style": "form", "explode": True}


def _array_param(name: str, description: str, items: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description + " Repeat the parameter for several values (OR); different parameters combine with AND.",
        "schema": {"type": "array", "items": items, "maxItems": 50},
        **_ARRAY,
    }


def _limit(name: str, default: int | None, description: str) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}
    if default is not None:
        schema["default"] = default
    return {"name": "limit", "in": "query", "required": False, "description": description, "schema": schema}


PARAMETERS: dict[str, Any] = {
    "field": _array_param(
        "field", "Field of action (Handlungsfeld).", {"type": "string", "enum": [f.value for f in FieldOfAction]}
    ),
    "centre": _array_param(
        "centre", "Origin centre id, e.g. `ki-05170`.", {"type": "string", "pattern": r"^[a-z0-9][a-z0-9._\-]{0,99}$"}
    ),
    "kind": _array_param("kind", "Kind of item.", {"type": "string", "enum": [k.value for k in Kind]}),
    "audience": _array_param("audience", "Audience code, e.g. `eltern`.", {"type": "string", "minLength": 1, "maxLength": 100}),
    "programme": _array_param(
        "programme", "Programme code, e.g. `rucksack_kita`.", {"type": "string", "minLength": 1, "maxLength": 100}
    ),
    "tag": _array_param("tag", "Tag (case-insensitive).", {"type": "string", "minLength": 1, "maxLength": 100}),
    "lang": _array_param(
        "lang",
        "Language (BCP 47); `de` also finds `de-AT`.",
        {"type": "string", "pattern": r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$"},
    ),
    "q": {
        "name": "q",
        "in": "query",
        "required": False,
        "description": "Full text over title, summary and content (German stemming on PostgreSQL, word prefixes on SQLite).",
        "schema": {"type": "string", "maxLength": MAX_Q},
    },
    "limitFeed": _limit("limit", FEED_LIMIT, f"Items in the feed (default {FEED_LIMIT}, at most {MAX_LIMIT})."),
    "limitApi": _limit("limit", API_LIMIT, f"Items per page (default {API_LIMIT}, at most {MAX_LIMIT})."),
    "limitCsv": _limit("limit", None, f"At most this many rows (at most {MAX_LIMIT}); without it, every matching item."),
    "cursor": {
        "name": "cursor",
        "in": "query",
        "required": False,
        "description": "Continue after this position: the `_pagination.next_cursor` (or `links.next`) of the previous page.",
        "schema": {"type": "string"},
    },
    "modifiedSince": {
        "name": "modified_since",
        "in": "query",
        "required": False,
        "description": "Only items modified at or after this time (RFC 3339 with offset); tombstones are listed too (OParl 1.1).",
        "schema": {"type": "string", "format": "date-time"},
    },
    "modifiedUntil": {
        "name": "modified_until",
        "in": "query",
        "required": False,
        "description": "Only items modified at or before this time (RFC 3339 with offset).",
        "schema": {"type": "string", "format": "date-time"},
    },
    "since": {
        "name": "since",
        "in": "query",
        "required": False,
        "description": "The `cursor` of the previous page (or of a snapshot): changes after it. 0 or absent: from the start.",
        "schema": {"type": "string", "pattern": "^[0-9]+$", "default": "0"},
    },
    "origin": {
        "name": "origin",
        "in": "query",
        "required": False,
        "description": "Only items of this origin centre; safe for sync, since an item's origin never changes.",
        "schema": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9._\-]{0,99}$"},
    },
    "itemId": {
        "name": "id",
        "in": "path",
        "required": True,
        "description": "The item id (a URI), percent-encoded.",
        "schema": {"type": "string"},
    },
    "sourceId": {
        "name": "id",
        "in": "path",
        "required": True,
        "description": "Source id.",
        "schema": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9._\-]{0,99}$"},
    },
}

FILTERS = ["field", "centre", "kind", "audience", "programme", "tag", "q", "lang"]


def _params(*names: str) -> list[dict[str, str]]:
    return [{"$ref": f"#/components/parameters/{name}"} for name in names]


# -- responses -------------------------------------------------------------------

HEADERS = {
    "ETag": {"description": "Changes with the store's change sequence and the query.", "schema": {"type": "string"}},
    "Last-Modified": {"description": "The newest change in the answer or in the store.", "schema": {"type": "string"}},
    "Cache-Control": {"description": "`public, max-age=60` for feeds, `no-cache` for the API.", "schema": {"type": "string"}},
}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": _ref("ErrorResponse")}}}


RESPONSES: dict[str, Any] = {
    "NotModified": {"description": "Not modified: the client's copy (If-None-Match, If-Modified-Since) is current."},
    "BadRequest": _error("A parameter or the body is unknown or malformed; `details.parameter` names the parameter."),
    "NotFound": _error("No such resource."),
    "Unauthorized": {
        **_error("No bearer token."),
        "headers": {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "`Bearer`"}},
    },
    "Forbidden": _error("The bearer token is wrong."),
    "Conflict": _error("The source exists already, or is defined in config.yaml."),
    "Gone": _error("`resync_required`: tombstones after `since` were purged; fetch the snapshot."),
    "Unavailable": _error("The database is not available (or, for a sync, no worker runs in this process)."),
    "Error": _error("Unexpected error."),
    "Preflight": {
        "description": "CORS preflight answer.",
        "headers": {
            "Access-Control-Allow-Origin": {"schema": {"type": "string", "const": "*"}},
            "Access-Control-Allow-Methods": {"schema": {"type": "string"}},
        },
    },
}


def _ok(media_type: str, schema: dict[str, Any], description: str, *, cached: bool = True) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "content": {media_type: {"schema": schema}}}
    if cached:
        response["headers"] = {name: {"$ref": f"#/components/headers/{name}"} for name in HEADERS}
    return response


def _responses(ok: dict[str, Any], *errors: str, status: str = "200", conditional: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {status: ok}
    if conditional:
        out["304"] = {"$ref": "#/components/responses/NotModified"}
    for code, name in (
        ("400", "BadRequest"),
        ("401", "Unauthorized"),
        ("403", "Forbidden"),
        ("404", "NotFound"),
        ("409", "Conflict"),
        ("410", "Gone"),
        ("503", "Unavailable"),
    ):
        if name in errors:
            out[code] = {"$ref": f"#/components/responses/{name}"}
    out["500"] = {"$ref": "#/components/responses/Error"}
    return out


def _get(summary: str, description: str, parameters: list, responses: dict[str, Any], tag: str) -> dict[str, Any]:
    return {"summary": summary, "description": description, "tags": [tag], "parameters": parameters, "responses": responses}


def _preflight() -> dict[str, Any]:
    return {
        "summary": "CORS preflight",
        "tags": ["cors"],
        "responses": {"204": {"$ref": "#/components/responses/Preflight"}},
    }


_TEXT = {"type": "string"}


def _paths() -> dict[str, Any]:
    feed_params = _params(*FILTERS, "limitFeed")
    list_params = _params(*FILTERS, "limitApi", "cursor", "modifiedSince", "modifiedUntil")
    csv_params = _params(*FILTERS, "limitCsv", "cursor", "modifiedSince", "modifiedUntil")
    paths: dict[str, Any] = {
        "/feed.rss": {
            "get": _get(
                "RSS 2.0 feed",
                "The merged set of live items, newest first (by modified).",
                feed_params,
                _responses(_ok("application/rss+xml", _TEXT, "RSS 2.0"), "BadRequest", "Unavailable"),
                "feeds",
            )
        },
        "/feed.atom": {
            "get": _get(
                "Atom 1.0 feed",
                "The merged set of live items, newest first (by modified).",
                feed_params,
                _responses(_ok("application/atom+xml", _TEXT, "Atom 1.0 (RFC 4287)"), "BadRequest", "Unavailable"),
                "feeds",
            )
        },
        "/feed.json": {
            "get": _get(
                "JSON Feed 1.1",
                "The merged set of live items, newest first, each with a `_kisync` extension (origin, fields of action, via).",
                feed_params,
                _responses(_ok("application/feed+json", {"type": "object"}, "JSON Feed 1.1"), "BadRequest", "Unavailable"),
                "feeds",
            ),
            "options": _preflight(),
        },
        "/api/v1/items": {
            "get": _get(
                "Items",
                "Live items newest first, paged by cursor; with `modified_since` tombstones are listed too. "
                "An exchange v1 document with `_pagination`.",
                list_params,
                _responses(_ok(JSON, _ref("ExchangeDocument"), "A page of items"), "BadRequest", "Unavailable"),
                "items",
            ),
            "options": _preflight(),
        },
        "/api/v1/items.csv": {
            "get": _get(
                "Items as CSV",
                "For spreadsheets: UTF-8 with BOM, `;`-separated, German headers and labels, opened by German Excel as is.",
                csv_params,
                _responses(_ok("text/csv", _TEXT, "CSV"), "BadRequest", "Unavailable"),
                "items",
            )
        },
        "/api/v1/items/{id}": {
            "parameters": _params("itemId"),
            "get": _get(
                "One item",
                "The current version of one item, a tombstone if it was deleted.",
                [],
                _responses(_ok(JSON, _ref("AnyItem"), "The item"), "BadRequest", "NotFound", "Unavailable"),
                "items",
            ),
            "options": _preflight(),
        },
        "/api/v1/changes": {
            "get": _get(
                "Changes feed",
                "Every change after `since` in the order of this node's change sequence, tombstones included, each id once "
                "at its latest version. Continue with `cursor` as `since`; `links.next` while more may follow.",
                _params("since", "limitApi", "origin"),
                _responses(_ok(JSON, _ref("ExchangeDocument"), "A page of changes"), "BadRequest", "Gone", "Unavailable"),
                "exchange",
            ),
            "options": _preflight(),
        },
        "/api/v1/snapshot": {
            "get": _get(
                "Snapshot",
                "Every live item in one complete exchange document (`complete: true`); with `origin` the publisher is that "
                "centre. Its `cursor` continues the changes feed.",
                _params("origin"),
                _responses(_ok(JSON, _ref("ExchangeDocument"), "A complete document"), "BadRequest", "Unavailable"),
                "exchange",
            ),
            "options": _preflight(),
        },
        "/api/v1/centres": {
            "get": _get(
                "Centres",
                "The registry of the Kommunale Integrationszentren with the number of live items of each.",
                [],
                _responses(_ok(JSON, _ref("CentreList"), "Centres"), "BadRequest", "Unavailable"),
                "registry",
            ),
            "options": _preflight(),
        },
        "/api/v1/sources": {
            "get": _get(
                "Sources and their health",
                "Each source with its last attempt and success, status, error, failures, next due time, counts and warnings.",
                [],
                _responses(_ok(JSON, _ref("SourceList"), "Sources"), "BadRequest", "Unavailable"),
                "registry",
            ),
            "options": _preflight(),
        },
        "/api/v1/stats": {
            "get": _get(
                "Statistics",
                "Live items counted by field of action, centre, kind, programme and audience.",
                [],
                _responses(_ok(JSON, _ref("Stats"), "Counts"), "BadRequest", "Unavailable"),
                "registry",
            ),
            "options": _preflight(),
        },
        "/sources.opml": {
            "get": _get(
                "Sources as OPML",
                "The source list as OPML 2.0 for feed readers.",
                [],
                _responses(_ok("text/x-opml", _TEXT, "OPML 2.0"), "BadRequest", "Unavailable"),
                "registry",
            )
        },
        "/healthz": {
            "get": _get(
                "Liveness",
                "The process answers.",
                [],
                _responses(_ok(JSON, _ref("Health"), "Alive", cached=False), "BadRequest", conditional=False),
                "operations",
            )
        },
        "/readyz": {
            "get": _get(
                "Readiness",
                "The database is reachable and migrated; 503 with the reason otherwise.",
                [],
                _responses(_ok(JSON, _ref("Ready"), "Ready", cached=False), "BadRequest", "Unavailable", conditional=False),
                "operations",
            )
        },
        "/metrics": {
            "get": _get(
                "Prometheus metrics",
                "Items by kind, failing sources, fetches and their durations, HTTP requests.",
                [],
                _responses(
                    _ok("text/plain", _TEXT, "Prometheus text format 0.0.4", cached=False), "BadRequest", conditional=False
                ),
                "operations",
            )
        },
        "/openapi.json": {
            "get": _get(
                "This description",
                "OpenAPI 3.1.",
                [],
                _responses(_ok(JSON, {"type": "object"}, "OpenAPI 3.1"), "BadRequest"),
                "operations",
            ),
            "options": _preflight(),
        },
    }
    paths.update(_admin_paths())
    return paths


def _admin(summary: str, responses: dict[str, Any], parameters: list, body: bool = False) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "description": "Needs `Authorization: Bearer <KISYNC_ADMIN_TOKEN>`; answers 404 when no token is configured.",
        "tags": ["admin"],
        "security": [{"adminToken": []}],
        "parameters": parameters,
        "responses": responses,
    }
    if body:
        op["requestBody"] = {"required": True, "content": {JSON: {"schema": _ref("SourceSettings")}}}
    return op


def _admin_paths() -> dict[str, Any]:
    errors = ("BadRequest", "Unauthorized", "Forbidden", "NotFound")
    source = _ok(JSON, _ref("SourceStatus"), "The source", cached=False)
    one: list = []  # the path parameter is declared on the path
    return {
        "/api/v1/admin/sources": {
            "post": _admin(
                "Add a source",
                _responses({**source, "description": "Added"}, *errors, "Conflict", status="201", conditional=False),
                [],
                body=True,
            )
        },
        "/api/v1/admin/sources/{id}": {
            "parameters": _params("sourceId"),
            "put": _admin(
                "Update a source added through the API",
                _responses(source, *errors, "Conflict", conditional=False),
                one,
                body=True,
            ),
            "delete": _admin(
                "Remove a source added through the API",
                _responses({"description": "Removed"}, *errors, "Conflict", status="204", conditional=False),
                one,
            ),
        },
        "/api/v1/admin/sources/{id}/enable": {
            "parameters": _params("sourceId"),
            "post": _admin(
                "Enable a source (`enabled: false` in config.yaml still wins)",
                _responses(source, *errors, conditional=False),
                one,
            )
        },
        "/api/v1/admin/sources/{id}/disable": {
            "parameters": _params("sourceId"),
            "post": _admin("Disable a source", _responses(source, *errors, conditional=False), one)
        },
        "/api/v1/admin/sources/{id}/sync": {
            "parameters": _params("sourceId"),
            "post": _admin(
                "Sync a source now (a disabled source is refused: 409)",
                _responses(
                    _ok(JSON, _ref("SyncAccepted"), "Handed to the worker", cached=False),
                    *errors,
                    "Conflict",
                    "Unavailable",
                    status="202",
                    conditional=False,
                ),
                one,
            )
        },
    }


def build_openapi(settings: Settings) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "kisync",
            "version": __version__,
            "summary": "Projects of the Kommunale Integrationszentren of NRW: merged feeds and the exchange API.",
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "servers": [{"url": settings.node.base_url.rstrip("/")}],
        "tags": [{"name": name} for name in ("feeds", "items", "exchange", "registry", "operations", "admin", "cors")],
        "paths": _paths(),
        "components": {
            "schemas": component_schemas(),
            "parameters": PARAMETERS,
            "responses": RESPONSES,
            "headers": HEADERS,
            "securitySchemes": {"adminToken": {"type": "http", "scheme": "bearer"}},
        },
    }
