"""Admin API: bearer token from the environment, source CRUD, triggering a sync; the token never logged."""

from __future__ import annotations

import logging

import pytest

from kisync.config import SourceSettings
from kisync.sources import SourceRegistry
from kisync.web import AccessLogger
from kisync.web.app import RUNNER_OPTIONS
from tests.test_web_support import assert_error_shape, get_json

pytest_plugins = ["tests.test_web_support"]

TOKEN = "s3cr3t-admin-token-4711"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SOURCE = {"id": "oberhausen", "url": "https://www.oberhausen.de/integration/feed.rss", "centre": "ki-05119", "format": "feed"}


@pytest.fixture
async def admin(make_client, populated_store, monkeypatch):
    monkeypatch.setenv("KISYNC_ADMIN_TOKEN", TOKEN)
    return await make_client(server_kwargs=RUNNER_OPTIONS)


async def test_admin_is_off_without_a_token(web_client):
    routes = (("POST", "/api/v1/admin/sources"), ("POST", "/api/v1/admin/sources/x/sync"), ("DELETE", "/api/v1/admin/sources/x"))
    for method, path in routes:
        response = await web_client.request(method, path, headers=AUTH, json=SOURCE)
        assert response.status == 404, path
        assert_error_shape(await response.json(), "not_found")


async def test_bearer_token_is_required_and_checked(admin):
    missing = await admin.post("/api/v1/admin/sources", json=SOURCE)
    assert missing.status == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert_error_shape(await missing.json(), "unauthorized")
    basic = await admin.post("/api/v1/admin/sources", json=SOURCE, headers={"Authorization": "Basic YWRtaW46YWRtaW4="})
    assert basic.status == 401
    for wrong in ("wrong", TOKEN[:-1], TOKEN + "x", TOKEN.upper()):
        response = await admin.post("/api/v1/admin/sources", json=SOURCE, headers={"Authorization": f"Bearer {wrong}"})
        assert response.status == 403, wrong
        assert_error_shape(await response.json(), "forbidden")
    assert (await admin.post("/api/v1/admin/sources", json=SOURCE, headers={"Authorization": f"bearer {TOKEN}"})).status == 201


async def test_add_update_enable_disable_remove(admin, engine):
    added = await admin.post("/api/v1/admin/sources", json=SOURCE, headers=AUTH)
    assert added.status == 201
    body = await added.json()
    assert body["id"] == "oberhausen" and body["managed_by"] == "admin" and body["enabled"] is True
    assert added.headers["Location"].endswith("/api/v1/admin/sources/oberhausen")
    assert (await admin.post("/api/v1/admin/sources", json=SOURCE, headers=AUTH)).status == 409
    listed = await get_json(admin, "/api/v1/sources")
    assert [s["id"] for s in listed["data"]] == ["oberhausen"]

    changed = await admin.put("/api/v1/admin/sources/oberhausen", json={**SOURCE, "interval": "2h"}, headers=AUTH)
    assert changed.status == 200 and (await changed.json())["interval"] == 7200
    no_id = {k: v for k, v in SOURCE.items() if k != "id"}
    assert (await admin.put("/api/v1/admin/sources/oberhausen", json=no_id, headers=AUTH)).status == 200
    mismatch = await admin.put("/api/v1/admin/sources/oberhausen", json={**SOURCE, "id": "other"}, headers=AUTH)
    assert mismatch.status == 400
    assert (await admin.put("/api/v1/admin/sources/nope", json=SOURCE, headers=AUTH)).status == 404

    disabled = await admin.post("/api/v1/admin/sources/oberhausen/disable", headers=AUTH)
    assert disabled.status == 200 and (await disabled.json())["enabled"] is False
    assert SourceRegistry(engine).get("oberhausen").enabled is False
    enabled = await admin.post("/api/v1/admin/sources/oberhausen/enable", headers=AUTH)
    assert (await enabled.json())["enabled"] is True
    assert (await admin.post("/api/v1/admin/sources/nope/enable", headers=AUTH)).status == 404

    removed = await admin.delete("/api/v1/admin/sources/oberhausen", headers=AUTH)
    assert removed.status == 204
    assert (await admin.delete("/api/v1/admin/sources/oberhausen", headers=AUTH)).status == 404
    assert (await get_json(admin, "/api/v1/sources"))["data"] == []


async def test_sources_from_the_config_file_are_changed_there(admin, engine):
    configured = SourceSettings(id="wesel", url="https://www.kreis-wesel.de/ki.json", centre="ki-05170")
    SourceRegistry(engine).sync_config([configured], 3600)
    body = {"id": "wesel", "url": "https://elsewhere.example/x.json", "centre": "ki-05170"}
    for response in (
        await admin.put("/api/v1/admin/sources/wesel", json=body, headers=AUTH),
        await admin.delete("/api/v1/admin/sources/wesel", headers=AUTH),
    ):
        assert response.status == 409
        error = await response.json()
        assert_error_shape(error, "conflict")
        assert "config.yaml" in error["error"]["message"]
    # Enabling and disabling is kept in the store for config sources too, apart from the file's `enabled`.
    disabled = await admin.post("/api/v1/admin/sources/wesel/disable", headers=AUTH)
    assert disabled.status == 200
    assert {k: (await disabled.json())[k] for k in ("enabled", "disabled_by")} == {"enabled": False, "disabled_by": ["operator"]}
    SourceRegistry(engine).sync_config([configured.model_copy(update={"enabled": False})], 3600)
    enabled = await admin.post("/api/v1/admin/sources/wesel/enable", headers=AUTH)
    assert {k: (await enabled.json())[k] for k in ("enabled", "disabled_by")} == {"enabled": False, "disabled_by": ["config"]}
    listed = {s["id"]: s for s in (await get_json(admin, "/api/v1/sources"))["data"]}
    assert (listed["wesel"]["status"], listed["wesel"]["disabled_by"]) == ("disabled", ["config"])


@pytest.mark.parametrize(
    ("body", "paths"),
    [
        ({**SOURCE, "url": "ftp://example.org/feed"}, ["url"]),
        ({**SOURCE, "format": "xml", "interval": "often"}, ["format", "interval"]),
        ({"id": "x", "url": "https://example.org/feed"}, [""]),  # neither centre nor relay
        ({**SOURCE, "typo": 1}, ["typo"]),
        ({**SOURCE, "defaults": {"kind": "projekt"}}, ["defaults.kind"]),
    ],
)
async def test_invalid_source_definitions_name_their_paths(admin, body, paths):
    response = await admin.post("/api/v1/admin/sources", json=body, headers=AUTH)
    assert response.status == 400
    error = await response.json()
    assert_error_shape(error, "bad_request")
    assert sorted(e["path"] for e in error["error"]["details"]["errors"]) == paths


async def test_bodies_that_are_not_a_source(admin):
    for data in (b"{not json", b"[1, 2]", b"", b"{}" + b" " * 70_000):
        response = await admin.post("/api/v1/admin/sources", data=data, headers={**AUTH, "Content-Type": "application/json"})
        assert response.status == 400, data[:20]
        assert_error_shape(await response.json())


async def test_trigger_a_sync(make_client, populated_store, engine, monkeypatch):
    monkeypatch.setenv("KISYNC_ADMIN_TOKEN", TOKEN)
    SourceRegistry(engine).add(SourceSettings.model_validate(SOURCE), 3600)
    without = await make_client()
    response = await without.post("/api/v1/admin/sources/oberhausen/sync", headers=AUTH)
    assert response.status == 503
    error = await response.json()
    assert_error_shape(error, "service_unavailable")
    assert "no worker in this process" in error["error"]["message"]

    triggered: list[str] = []

    async def trigger(source_id: str) -> None:
        triggered.append(source_id)

    worker = await make_client(trigger_sync=trigger)
    accepted = await worker.post("/api/v1/admin/sources/oberhausen/sync", headers=AUTH)
    assert accepted.status == 202 and await accepted.json() == {"status": "accepted", "source": "oberhausen"}
    assert triggered == ["oberhausen"]
    assert (await worker.post("/api/v1/admin/sources/nope/sync", headers=AUTH)).status == 404
    assert triggered == ["oberhausen"]
    assert (await worker.post("/api/v1/admin/sources/oberhausen/sync")).status == 401

    # A disabled source is refused, as `kisync sync ID` refuses it, and says who disabled it.
    SourceRegistry(engine).set_enabled("oberhausen", False)
    refused = await worker.post("/api/v1/admin/sources/oberhausen/sync", headers=AUTH)
    assert refused.status == 409
    error = await refused.json()
    assert_error_shape(error, "conflict")
    assert error["error"]["message"] == "source 'oberhausen' is disabled by an operator: enable it first"
    assert triggered == ["oberhausen"]


@pytest.mark.parametrize("runner_options", [RUNNER_OPTIONS, {}], ids=["kisync-access-log", "aiohttp-access-log"])
async def test_the_token_never_reaches_a_log(make_client, populated_store, monkeypatch, caplog, runner_options):
    monkeypatch.setenv("KISYNC_ADMIN_TOKEN", TOKEN)
    admin = await make_client(server_kwargs={"access_log": logging.getLogger("aiohttp.access"), **runner_options})
    caplog.set_level(logging.DEBUG)
    await admin.post("/api/v1/admin/sources", json=SOURCE, headers=AUTH)
    await admin.post("/api/v1/admin/sources", json=SOURCE, headers={"Authorization": f"Bearer {TOKEN}-wrong"})
    await admin.post("/api/v1/admin/sources/oberhausen/sync", headers=AUTH)  # 503: no worker
    await admin.put("/api/v1/admin/sources/oberhausen", json={**SOURCE, "url": "ftp://x"}, headers=AUTH)
    access = [r for r in caplog.records if r.name in ("kisync.web.access", "aiohttp.access")]
    assert len(access) >= 4
    if runner_options:
        assert {r.name for r in access} == {"kisync.web.access"}
        assert {r.status for r in access} >= {201, 403, 503, 400}
    logged = "\n".join(f"{r.getMessage()} {vars(r)}" for r in caplog.records)
    assert TOKEN not in logged
    assert "Bearer" not in logged and "Authorization" not in logged


def test_the_access_logger_logs_no_headers():
    assert RUNNER_OPTIONS["access_log_class"] is AccessLogger
