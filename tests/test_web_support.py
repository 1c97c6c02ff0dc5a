"""Shared set-up of the web tests: settings, a realistic store, the app and checkers.

No tests here; the ``test_web_*`` modules import the helpers and load the
fixtures with ``pytest_plugins``.
The store holds the three example snapshots (with their tombstone and
their personal contact data) plus generated items that exercise every
filter, ties in ``modified`` for the keyset, a non-NRW origin, languages
and ``via`` paths.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from kisync.config import Settings
from kisync.model import Document, Item, Tombstone
from kisync.store.merge import MergeContext
from kisync.store.repository import Store
from kisync.web import create_app
from tests.factories import live, tombstone

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "web"
NODE = "ki-05315"
BASE_URL = "https://kisync.example.org"
NOW = datetime(2026, 11, 29, tzinfo=UTC)
EXAMPLES = sorted(REPO.glob("examples/ki-*.json"))
PERSONAL = ("selin.arslan", "Selin Arslan", "+49 281 207-4417")

GENERATED = 40
FIELDS = ["querschnitt", "elementarbereich", "schule", "uebergang_schule_beruf"]
KINDS = ["project", "event", "news", "best_practice"]
ORIGINS = ["ki-05170", "ki-05154", "ki-05112", "ki-05711"]
LANGS = ["de", "de", "en", "de-AT"]


def make_settings(**privacy: Any) -> Settings:
    return Settings.model_validate(
        {
            "node": {"centre": NODE, "name": "KI Stadt Köln", "base_url": BASE_URL},
            "privacy": privacy,
        }
    )


def example_items() -> list[Item | Tombstone]:
    items: list[Item | Tombstone] = []
    for path in EXAMPLES:
        items += Document.model_validate_json(path.read_text(encoding="utf-8")).data
    return items


def generated_items() -> list[Item | Tombstone]:
    """Items numbered 0..39: three share each `modified` (keyset ties), facets cycle."""
    items: list[Item | Tombstone] = []
    for n in range(GENERATED):
        fields: dict[str, Any] = {
            "kind": KINDS[n % 4],
            "fields_of_action": [FIELDS[n % 4]] + ([FIELDS[(n + 1) % 4]] if n % 5 == 0 else []),
            "audience": ["eltern"] if n % 2 else ["jugendliche", "lehrkraefte"],
            "programmes": ["komm_an"] if n % 3 == 0 else [],
            "tags": ["Generiert", f"gruppe-{n % 3}"],
            "language": LANGS[n % 4],
            "summary": f"Erzeugter Eintrag Nummer {n} für die Tests.",
            "contact": {
                "organisation": "KI Test",
                "name": "Erika Mustermann",
                "email": "erika@example.org",
                "phone": "0221 12345",
            },
        }
        if n == 7:
            fields["content_html"] = "<p>Ein <b>Zirkusprojekt</b> für Kinder &amp; Eltern.</p>"
        if n == 8:
            fields["via"] = ["ki-05170", NODE]  # already ends with us: not appended again
        if n == 9:
            fields["via"] = ["ki-05170"]
        if n == 10:
            fields["title"] = "=HYPERLINK(\"http://evil.example\")"  # a formula, to a spreadsheet
        if n == 11:
            fields["title"] = "Steuerzeichen\x0b im Titel"  # not allowed in XML 1.0
        item_id = f"https://example.org/generated/{n:03d}?x=1&y=2#teil"
        items.append(live(item_id, minutes=n // 3, origin=ORIGINS[n % 4], **{"title": f"Generiert {n:02d}", **fields}))
    # A centre outside the registry, and a deletion of a generated item.
    items.append(live("urn:example:outside", minutes=100, origin="ki-99999", title="Außerhalb NRW"))
    items.append(tombstone("https://example.org/generated/gone", minutes=50))
    return items


def populate(store: Store) -> int:
    ctx = MergeContext(node_centre=NODE, now=NOW, relay=True)
    result = store.merge(example_items() + generated_items(), ctx)
    assert result.new + result.deleted == len(example_items()) + GENERATED + 2, result
    return result.last_seq


def live_ids() -> set[str]:
    return {i.id for i in example_items() + generated_items() if not i.deleted}


@pytest.fixture
def populated_store(store: Store) -> Store:
    populate(store)
    return store


@pytest.fixture
def make_client(aiohttp_client, engine, monkeypatch):
    """Build an app on the test database with given settings and options; return its test client."""
    monkeypatch.delenv("KISYNC_ADMIN_TOKEN", raising=False)

    async def make(
        settings: Settings | None = None, prepare=None, server_kwargs: dict | None = None, **options: Any
    ) -> TestClient:
        app = create_app(settings or make_settings(), engine, **options)
        if prepare is not None:
            prepare(app)  # e.g. add a route, before the app is frozen
        if server_kwargs:
            # The test server hands no runner options on: start it with them ourselves.
            server = TestServer(app)
            await server.start_server(**server_kwargs)
            return await aiohttp_client(server)
        return await aiohttp_client(app)

    return make


@pytest.fixture
async def web_client(make_client, populated_store) -> TestClient:
    """A client of an app on the populated store, default settings, no admin token."""
    return await make_client()


def app_of(client: TestClient) -> web.Application:
    return client.server.app  # type: ignore[attr-defined,return-value]


async def get_json(client: TestClient, path: str, status: int = 200, **kwargs: Any) -> Any:
    response = await client.get(path, **kwargs)
    text = await response.text()
    assert response.status == status, (path, response.status, text[:500])
    return json.loads(text)


# -- checkers --------------------------------------------------------------------

FORMATS = jsonschema.Draft202012Validator.FORMAT_CHECKER


def exchange_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads((REPO / "schemas" / "exchange-v1.schema.json").read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema, format_checker=FORMATS)


def item_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads((REPO / "schemas" / "item-v1.schema.json").read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema, format_checker=FORMATS)


def assert_error_shape(body: Any, code: str | None = None) -> None:
    """The one error shape, pinned: exactly error.{code, message, details}."""
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert isinstance(body["error"]["code"], str) and body["error"]["code"]
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)
    if code is not None:
        assert body["error"]["code"] == code, body

