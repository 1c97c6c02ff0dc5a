"""Operations endpoints and the API description: /healthz, /readyz, /metrics, /openapi.json.

The OpenAPI test compares the document with the app's router both ways,
checks each endpoint's accepted parameters against the documented ones by
asking the endpoint itself, and validates real answers against the
documented response schemas.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import jsonschema
import pytest
from openapi_spec_validator import validate as validate_openapi
from prometheus_client.parser import text_string_to_metric_families

from kisync.config import SourceSettings
from kisync.sources import Outcome, SourceRegistry
from kisync.web import create_app
from kisync.web.app import PAGE_ROUTES
from kisync.web.metrics import FETCH_SECONDS, FETCHES
from tests.test_web_support import FORMATS, app_of, example_items, generated_items, get_json, make_settings

pytest_plugins = ["tests.test_web_support"]

TOKEN = "ops-test-token"
METHODS = {"GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}


async def test_health_and_readiness(web_client):
    assert await get_json(web_client, "/healthz") == {"status": "ok"}
    ready = await get_json(web_client, "/readyz")
    assert ready["status"] == "ready" and ready["change_seq"] == len(example_items() + generated_items())
    assert (await web_client.get("/healthz")).headers["Cache-Control"] == "no-store"


def samples(text: str) -> dict[tuple[str, tuple], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


async def test_metrics(web_client, engine):
    registry = SourceRegistry(engine)
    registry.sync_config(
        [
            SourceSettings(id="a", url="https://a.example/x", centre="ki-05170"),
            SourceSettings(id="b", url="https://b.example/x", centre="ki-05154"),
        ],
        3600,
    )
    registry.record("b", Outcome(attempted=datetime.now(UTC), ok=False, error="HTTP 500"))
    before = samples(await (await web_client.get("/metrics")).text())
    FETCHES.labels("ok").inc()
    FETCH_SECONDS.observe(0.3)
    response = await web_client.get("/metrics")
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    after = samples(await response.text())
    live = [i for i in example_items() + generated_items() if not i.deleted]
    for kind in ("project", "best_practice", "event", "news"):
        assert after[("kisync_items", (("kind", kind),))] == sum(1 for i in live if i.kind.value == kind)
    assert after[("kisync_tombstones", ())] == 2
    assert after[("kisync_sources_failing", ())] == 1
    assert after[("kisync_sources_enabled", ())] == 2
    ok = ("kisync_fetches_total", (("outcome", "ok"),))
    assert after[ok] == before.get(ok, 0) + 1
    assert after[("kisync_fetch_seconds_count", ())] == before.get(("kisync_fetch_seconds_count", ()), 0) + 1
    assert any(name == "kisync_http_requests_total" and ("route", "/metrics") in labels for name, labels in after)


async def test_several_apps_in_one_process_share_no_registration(engine, aiohttp_client, populated_store):
    first = await aiohttp_client(create_app(make_settings(), engine))
    second = await aiohttp_client(create_app(make_settings(), engine))
    assert (await first.get("/metrics")).status == (await second.get("/metrics")).status == 200


# -- OpenAPI ---------------------------------------------------------------------


@pytest.fixture
async def openapi_client(make_client, populated_store, monkeypatch):
    monkeypatch.setenv("KISYNC_ADMIN_TOKEN", TOKEN)
    return await make_client()


def app_routes(app) -> set[tuple[str, str]]:
    """The API's routes: the HTML pages (``api=False`` in kisync.web.app.ROUTES) are not part of /openapi.json."""
    routes = set()
    for route in app.router.routes():
        if route.method in METHODS:
            routes.add((route.method, route.resource.canonical))
    return routes - PAGE_ROUTES


def documented_routes(spec: dict) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in spec["paths"].items() for method in item if method.upper() in METHODS}


def parameters_of(spec: dict, path: str, method: str = "get") -> dict[str, dict]:
    def resolve(p):
        return spec["components"]["parameters"][p["$ref"].rsplit("/", 1)[1]] if "$ref" in p else p

    item = spec["paths"][path]
    params = [resolve(p) for p in item.get("parameters", []) + item[method].get("parameters", [])]
    return {p["name"]: p for p in params}


def schema_validator(spec: dict, schema: dict) -> jsonschema.Draft202012Validator:
    """A validator for one schema of the document, its $refs resolved inside the document."""
    root = {**spec, **schema}
    return jsonschema.Draft202012Validator(root, format_checker=FORMATS)


async def test_openapi_is_valid_and_lists_every_route(openapi_client):
    spec = await get_json(openapi_client, "/openapi.json")
    validate_openapi(spec)
    assert spec["openapi"].startswith("3.1")
    routes = app_routes(app_of(openapi_client))
    documented = documented_routes(spec)
    assert routes - documented == set(), "routes missing from /openapi.json"
    assert documented - routes == set(), "documented routes the app does not have"
    assert len(routes) > 30


SAMPLE_VALUES = {
    "field": "schule",
    "centre": "ki-05170",
    "kind": "event",
    "audience": "eltern",
    "programme": "komm_an",
    "tag": "generiert",
    "q": "Rucksack",
    "lang": "de",
    "limit": "3",
    "modified_since": "2026-01-01T00:00:00Z",
    "modified_until": "2026-12-01T00:00:00Z",
    "since": "2",
    "origin": "ki-05170",
}


async def test_every_get_endpoint_takes_exactly_its_documented_parameters(openapi_client):
    spec = await get_json(openapi_client, "/openapi.json")
    for path, item in spec["paths"].items():
        if "get" not in item or "{" in path:
            continue
        documented = {name for name, p in parameters_of(spec, path).items() if p["in"] == "query"}
        # The endpoint itself says what it takes when it refuses an unknown parameter.
        error = await get_json(openapi_client, f"{path}?zzz=1", 400)
        assert error["error"]["details"] == {"parameter": "zzz"}
        taken = re.search(r"this endpoint takes: ([^)]*)\)", error["error"]["message"]).group(1)
        accepted = set() if taken == "none" else set(taken.split(", "))
        assert accepted == documented, path
        for name in documented:
            value = SAMPLE_VALUES.get(name)
            if name == "cursor":
                first = await get_json(openapi_client, f"{path.replace('.csv', '')}?limit=2")
                value = first["_pagination"]["next_cursor"]
            response = await openapi_client.get(path, params={name: value})
            assert response.status == 200, (path, name, await response.text())


async def test_answers_match_their_documented_schemas(openapi_client, engine):
    SourceRegistry(engine).sync_config([SourceSettings(id="a", url="https://a.example/x", centre="ki-05170")], 3600)
    spec = await get_json(openapi_client, "/openapi.json")

    def response_schema(path: str, method: str, status: str) -> dict:
        response = spec["paths"][path][method]["responses"][status]
        if "$ref" in response:
            response = spec["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
        return response["content"]["application/json"]["schema"]

    reads = {
        "/api/v1/items": "/api/v1/items?limit=5",
        "/api/v1/items/{id}": "/api/v1/items/urn%3Aexample%3Aoutside",
        "/api/v1/changes": "/api/v1/changes?limit=5",
        "/api/v1/snapshot": "/api/v1/snapshot",
        "/api/v1/centres": "/api/v1/centres",
        "/api/v1/sources": "/api/v1/sources",
        "/api/v1/stats": "/api/v1/stats",
        "/healthz": "/healthz",
        "/readyz": "/readyz",
    }
    for path, url in reads.items():
        schema_validator(spec, response_schema(path, "get", "200")).validate(await get_json(openapi_client, url))
    errors = [
        ("/api/v1/items", "get", "400", "/api/v1/items?limit=x"),
        ("/api/v1/items/{id}", "get", "404", "/api/v1/items/urn%3Anone"),
    ]
    for path, method, status, url in errors:
        body = await get_json(openapi_client, url, int(status))
        schema_validator(spec, response_schema(path, method, status)).validate(body)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    source = {"id": "neu", "url": "https://neu.example/feed", "centre": "ki-05112"}
    added = await openapi_client.post("/api/v1/admin/sources", json=source, headers=auth)
    schema_validator(spec, response_schema("/api/v1/admin/sources", "post", "201")).validate(await added.json())
    unauthorized = await openapi_client.post("/api/v1/admin/sources/neu/enable")
    enable = response_schema("/api/v1/admin/sources/{id}/enable", "post", "401")
    schema_validator(spec, enable).validate(await unauthorized.json())
    # The request body schema refuses what the API refuses.
    body_schema = spec["paths"]["/api/v1/admin/sources"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    schema_validator(spec, body_schema).validate(source)
    with pytest.raises(jsonschema.ValidationError):
        schema_validator(spec, body_schema).validate({**source, "format": "xml"})


async def test_openapi_embeds_the_exchange_schema(openapi_client):
    from kisync.schema import generate_schemas

    spec = await get_json(openapi_client, "/openapi.json")
    schemas = spec["components"]["schemas"]
    exchange = generate_schemas()["exchange-v1.schema.json"]
    assert set(exchange["$defs"]) <= set(schemas)
    assert set(schemas["ExchangeDocument"]["properties"]) == set(exchange["properties"])
    assert "#/$defs/" not in str(spec)
