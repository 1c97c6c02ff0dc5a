"""``privacy.publish_contacts``: personal contact data in no public output unless it is set.

Every output is read, not a sample: the HTML pages (list, every item page,
centres, statistics), the three feeds, the items API and every single item,
the changes feed, the snapshot (whole and per origin) and the CSV. None may
contain a name, personal e-mail address, phone number or contact extension
of any stored item; the organisation's contact stays. With the setting on,
the same data shows.
"""

from __future__ import annotations

import html
import json
from urllib.parse import quote

from kisync.model import Item
from kisync.store.merge import MergeContext
from kisync.web.public import ORGANISATION_CONTACT_FIELDS
from tests.factories import live
from tests.test_web_support import NODE, NOW, example_items, generated_items, get_json, make_settings

pytest_plugins = ["tests.test_web_support"]

WESEL_KITA = "https://www.kreis-wesel.de/ki/projekte/rucksack-kita-moers"
# A contact with an extension: a CMS's own field may be personal too (a mobile number).
EXTENDED = live(
    "https://example.org/kontakt/erweitert",
    minutes=478_000,
    origin="ki-05112",
    title="Eintrag mit erweitertem Kontakt",
    contact={"organisation": "KI Stadt Duisburg", "name": "Jana Beispiel", "_mobil": "+49 170 5550123"},
)


def stored_items() -> list[Item]:
    return [i for i in [*example_items(), *generated_items(), EXTENDED] if isinstance(i, Item)]


def personal_values() -> set[str]:
    """Every name, e-mail address, phone number and contact extension of any stored item.

    Except what an origin wrote into an item's own text: a functional mailbox
    (``ki@kreis-kleve.de`` in "Anmeldung: ki@kreis-kleve.de") is content, and
    content is published as its author wrote it.
    """
    values: set[str] = set()
    for item in stored_items():
        contact = item.contact
        if contact is None:
            continue
        values |= {v for v in (contact.name, contact.email, contact.phone) if v}
        values |= {str(v) for v in (contact.model_extra or {}).values()}
    texts = " ".join(f"{i.title} {i.summary or ''} {i.content_html or ''}" for i in stored_items())
    in_text = {v for v in values if v in texts}
    named = {i.contact.email for i in stored_items() if i.contact and i.contact.name}
    assert not in_text & named, in_text & named  # no person's address is in a text: the check below covers them all
    return values - in_text


def spellings(value: str) -> set[str]:
    """How a value can appear in a body: as is, HTML/XML-escaped, JSON-escaped."""
    return {value, html.escape(value), html.escape(value, quote=False), json.dumps(value)[1:-1]}


def public_paths() -> list[str]:
    items = stored_items()
    origins = sorted({i.origin.id for i in items})
    paths = [
        "/",
        "/?limit=500",
        "/zentren",
        "/statistik",
        "/feed.rss?limit=500",
        "/feed.atom?limit=500",
        "/feed.json?limit=500",
        "/api/v1/items?limit=500",
        "/api/v1/items?limit=500&modified_since=2000-01-01T00:00:00Z",
        "/api/v1/changes?limit=500",
        "/api/v1/snapshot",
        "/api/v1/items.csv",
        "/api/v1/centres",
        "/api/v1/stats",
    ]
    paths += [f"/api/v1/snapshot?origin={origin}" for origin in origins]
    for item in items:
        encoded = quote(item.id, safe="")
        paths += [f"/items/{encoded}", f"/api/v1/items/{encoded}"]
    return paths


async def read_all(client) -> dict[str, str]:
    bodies = {}
    for path in public_paths():
        response = await client.get(path)
        assert response.status == 200, (path, response.status)
        bodies[path] = (await response.read()).decode("utf-8-sig")
    return bodies


async def test_no_personal_contact_data_in_any_public_output(make_client, populated_store):
    populated_store.merge([EXTENDED], MergeContext(node_centre=NODE, now=NOW, relay=True))
    client = await make_client(make_settings())  # publish_contacts: false, the default
    personal = personal_values()
    assert {"Selin Arslan", "selin.arslan@kreis-wesel.de", "+49 281 207-4417", "Erika Mustermann", "+49 170 5550123"} <= personal
    bodies = await read_all(client)
    assert len(bodies) > 2 * len(stored_items())
    for path, body in bodies.items():
        for value in personal:
            for spelling in spellings(value):
                assert spelling not in body, (path, value)
    # The organisation's contact stays, on the page and in the data.
    wesel = next(i for i in stored_items() if i.id == WESEL_KITA)
    page = bodies[f"/items/{quote(WESEL_KITA, safe='')}"]
    assert wesel.contact.organisation in page and wesel.contact.url in page
    assert "Persönliche Kontaktdaten" in page  # and says why the rest is missing
    data = json.loads(bodies[f"/api/v1/items/{quote(WESEL_KITA, safe='')}"])
    assert set(data["contact"]) == set(ORGANISATION_CONTACT_FIELDS)
    extended = json.loads(bodies[f"/api/v1/items/{quote(EXTENDED.id, safe='')}"])
    assert extended["contact"] == {"organisation": "KI Stadt Duisburg"}


async def test_published_contacts_show_where_the_setting_allows_them(make_client, populated_store):
    client = await make_client(make_settings(publish_contacts=True))
    response = await client.get(f"/items/{quote(WESEL_KITA, safe='')}")
    page = await response.text()
    for value in ("Selin Arslan", "selin.arslan@kreis-wesel.de", "+49 281 207-4417"):
        assert value in page
    assert 'href="mailto:selin.arslan@kreis-wesel.de"' in page and "Persönliche Kontaktdaten" not in page
    item = await get_json(client, f"/api/v1/items/{quote(WESEL_KITA, safe='')}")
    assert item["contact"]["name"] == "Selin Arslan"
    csv_body = await (await client.get("/api/v1/items.csv")).text()
    assert "Selin Arslan" in csv_body
