"""The read API: items and their filters, keyset pages, one item, changes, snapshot, centres, sources, stats, CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

import pytest
import sqlalchemy as sa

from kisync.config import SourceSettings
from kisync.model import Item, Tombstone
from kisync.sources import Outcome, SourceRegistry
from kisync.store.tables import CHANGE_SEQ, PURGED_SEQ
from kisync.web.public import Publication, publish_item
from tests.test_web_support import (
    BASE_URL,
    NODE,
    PERSONAL,
    assert_error_shape,
    example_items,
    exchange_validator,
    generated_items,
    get_json,
    item_validator,
    live_ids,
    make_settings,
)

pytest_plugins = ["tests.test_web_support"]

ALL = example_items() + generated_items()
LIVE = [i for i in ALL if isinstance(i, Item)]


def reference(**flt: list[str]) -> set[str]:
    """What a filter should find, computed from the items themselves (OR within, AND across)."""

    def matches(item: Item) -> bool:
        checks = {
            "field": [f.value for f in item.fields_of_action],
            "centre": [item.origin.id],
            "kind": [item.kind.value],
            "audience": item.audience,
            "programme": item.programmes,
            "tag": [t.lower() for t in item.tags],
        }
        for name, wanted in flt.items():
            if name == "lang":
                if not any(item.language.lower() == w or item.language.lower().startswith(w + "-") for w in wanted):
                    return False
            elif not set(wanted) & set(checks[name]):
                return False
        return True

    return {i.id for i in LIVE if matches(i)}


def path_of(url: str) -> str:
    assert url.startswith(BASE_URL), url
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


async def collect_pages(client, first: str) -> tuple[list[dict], int]:
    items, pages, url = [], 0, first
    while url:
        document = await get_json(client, url)
        exchange_validator().validate(document)
        items += document["data"]
        pages += 1
        next_url = document["links"].get("next")
        url = path_of(next_url) if next_url else None
    return items, pages


FILTER_CASES = [
    {"field": ["schule"]},
    {"field": ["schule", "elementarbereich"]},
    {"field": ["schule"], "kind": ["event"]},
    {"centre": ["ki-05170", "ki-05112"]},
    {"kind": ["best_practice"]},
    {"audience": ["eltern"]},
    {"programme": ["komm_an"]},
    {"programme": ["rucksack_kita"], "centre": ["ki-05154"]},
    {"tag": ["generiert"], "audience": ["eltern"], "field": ["querschnitt"]},
    {"lang": ["de"]},
    {"lang": ["en", "tr"]},
    {"lang": ["de-at"]},
]


async def test_every_filter_finds_what_the_items_say(web_client):
    for case in FILTER_CASES:
        query = "&".join(f"{name}={quote(value)}" for name, values in case.items() for value in values)
        document = await get_json(web_client, f"/api/v1/items?limit=500&{query}")
        found = {item["id"] for item in document["data"]}
        expected = reference(**case)
        assert expected, case  # a filter that finds nothing tests nothing
        assert found == expected, case
    # Tags are matched case-insensitively.
    upper = await get_json(web_client, "/api/v1/items?limit=500&tag=GENERIERT")
    assert {i["id"] for i in upper["data"]} == reference(tag=["generiert"])


async def test_full_text_search(web_client):
    found = await get_json(web_client, "/api/v1/items?q=Zirkusprojekt")
    assert [i["title"] for i in found["data"]] == ["Generiert 07"]
    # Title and summary count too; several words must all be there.
    found = await get_json(web_client, "/api/v1/items?q=Erzeugter+Eintrag+Nummer&limit=500")
    assert len(found["data"]) == 40
    found = await get_json(web_client, "/api/v1/items?q=Zirkusprojekt&field=schule")
    assert found["data"] == []
    # FTS syntax in user input is just text: never a database error.
    for text in ['"Zirkus', "Zirkus* OR NEAR(", "AND", "-Zirkus", "title:Zirkus", "(a OR", "'; DROP TABLE item; --"]:
        response = await web_client.get("/api/v1/items", params={"q": text})
        assert response.status == 200, (text, await response.text())
    error = await get_json(web_client, "/api/v1/items?q=%3B%3B%3B", 400)
    assert error["error"]["details"] == {"parameter": "q"}


async def test_pages_by_cursor_without_duplicates_or_gaps(web_client):
    items, pages = await collect_pages(web_client, "/api/v1/items?limit=7")
    ids = [i["id"] for i in items]
    assert len(ids) == len(set(ids)), "no duplicates"
    assert set(ids) == live_ids(), "no gaps"
    assert pages == -(-len(ids) // 7)
    keys = [(i["modified"], i["id"]) for i in items]
    assert keys == sorted(keys, reverse=True), "newest first, ties by id"
    # The same across a filter, with ties in `modified` at page borders.
    items, _ = await collect_pages(web_client, "/api/v1/items?limit=2&tag=generiert")
    assert [i["id"] for i in items] == sorted(reference(tag=["generiert"]), key=lambda i: ids.index(i))
    first = await get_json(web_client, "/api/v1/items?limit=3")
    assert first["_pagination"]["limit"] == 3 and first["_pagination"]["next_cursor"]
    assert first["links"]["self"] == f"{BASE_URL}/api/v1/items?limit=3"


async def test_modified_range_lists_tombstones(web_client):
    everything = await get_json(web_client, "/api/v1/items?limit=500")
    assert not any(i.get("deleted") for i in everything["data"])
    since = await get_json(web_client, "/api/v1/items?limit=500&modified_since=2025-01-01T00:00:00Z")
    deleted = {i["id"] for i in since["data"] if i.get("deleted")}
    assert deleted == {i.id for i in ALL if i.deleted}
    exchange_validator().validate(since)
    window = await get_json(
        web_client, "/api/v1/items?limit=500&modified_since=2026-01-01T00:05:00%2B00:00&modified_until=2026-01-01T00:10:00Z"
    )
    start, end = datetime(2026, 1, 1, 0, 5, tzinfo=UTC), datetime(2026, 1, 1, 0, 10, tzinfo=UTC)
    expected = {i.id for i in ALL if start <= i.modified <= end}
    assert {i["id"] for i in window["data"]} == expected and expected


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("field=familie", "field"),
        ("kind=projekt", "kind"),
        ("centre=KI%2005170", "centre"),
        ("lang=deutsch!", "lang"),
        ("limit=ten", "limit"),
        ("limit=501", "limit"),
        ("limit=%D9%A3", "limit"),  # an Arabic-Indic three
        ("limit=-1", "limit"),
        ("cursor=not-a-cursor", "cursor"),
        ("modified_since=gestern", "modified_since"),
        ("modified_since=2026-01-01T00:00:00", "modified_since"),
        ("modified_until=2026-13-01T00:00:00Z", "modified_until"),
        ("sort=title", "sort"),
        ("q=a&q=b", "q"),
        ("audience=", "audience"),
    ],
)
async def test_bad_parameters_are_named(web_client, query, parameter):
    error = await get_json(web_client, f"/api/v1/items?{query}", 400)
    assert_error_shape(error, "invalid_parameter")
    assert error["error"]["details"] == {"parameter": parameter}
    assert parameter in error["error"]["message"]


async def test_one_item_by_its_percent_encoded_id(web_client):
    generated = "https://example.org/generated/009?x=1&y=2#teil"
    item = await get_json(web_client, f"/api/v1/items/{quote(generated, safe='')}")
    item_validator().validate(item)
    assert item["id"] == generated
    assert item["via"] == ["ki-05170", NODE]
    assert item["contact"] == {"organisation": "KI Test"}
    # An id with slashes unescaped reaches the same item.
    moers = "https://www.kreis-wesel.de/ki/projekte/rucksack-kita-moers"
    assert (await get_json(web_client, f"/api/v1/items/{moers}"))["id"] == moers
    gone = await get_json(web_client, f"/api/v1/items/{quote('https://example.org/generated/gone', safe='')}")
    assert gone["deleted"] is True and gone["via"] == [NODE]
    item_validator().validate(gone)
    missing = await get_json(web_client, "/api/v1/items/urn%3Anothing", 404)
    assert_error_shape(missing, "not_found")
    assert missing["error"]["details"] == {"id": "urn:nothing"}


async def test_changes_feed_pages_through_every_change(web_client, engine):
    with engine.connect() as conn:
        last = conn.execute(sa.text(f"SELECT value FROM counter WHERE name = '{CHANGE_SEQ}'")).scalar_one()
    documents, url, cursors = [], "/api/v1/changes?limit=10", []
    while url:
        document = await get_json(web_client, url)
        exchange_validator().validate(document)
        documents.append(document)
        cursors.append(int(document["cursor"]))
        url = path_of(document["links"]["next"]) if "next" in document["links"] else None
    data = [item for d in documents for item in d["data"]]
    assert len(data) == len(ALL) == last
    assert {i["id"] for i in data} == {i.id for i in ALL}
    assert sum(1 for i in data if i.get("deleted")) == 2
    assert cursors == sorted(cursors) and cursors[-1] == last
    assert all(i["via"][-1] == NODE for i in data)
    assert documents[0]["publisher"]["id"] == NODE
    # A client that is current gets an empty page with its own cursor back, and no next link.
    current = await get_json(web_client, f"/api/v1/changes?since={last}")
    assert current["data"] == [] and current["cursor"] == str(last) and "next" not in current["links"]
    wesel = await get_json(web_client, "/api/v1/changes?origin=ki-05170&limit=500")
    assert {i["origin"]["id"] for i in wesel["data"]} == {"ki-05170"}
    assert len(wesel["data"]) == sum(1 for i in ALL if i.origin.id == "ki-05170")
    bad = (
        ("since=abc", "since"),
        ("since=-1", "since"),
        ("since=%C2%B2", "since"),  # a digit to str.isdigit, not to int()
        ("since=99999999999999999999", "since"),  # beyond BIGINT
        ("origin=Wesel", "origin"),
        ("origin=ki-05170%0A", "origin"),
        ("field=schule", "field"),
    )
    for query, parameter in bad:
        error = await get_json(web_client, f"/api/v1/changes?{query}", 400)
        assert error["error"]["details"] == {"parameter": parameter}


async def test_changes_after_a_purge_answer_410_resync_required(web_client, engine):
    assert (await web_client.get("/api/v1/changes?since=3")).status == 200  # cached now
    with engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE counter SET value = 5 WHERE name = '{PURGED_SEQ}'"))
    error = await get_json(web_client, "/api/v1/changes?since=3", 410)
    assert_error_shape(error, "resync_required")
    assert error["error"]["details"]["purged_seq"] == 5
    assert error["error"]["details"]["snapshot"] == f"{BASE_URL}/api/v1/snapshot"
    # From the start, or from the horizon on, the feed is whole.
    assert (await web_client.get("/api/v1/changes?since=0")).status == 200
    assert (await web_client.get("/api/v1/changes?since=5")).status == 200


async def test_snapshot_is_complete(web_client, engine):
    document = await get_json(web_client, "/api/v1/snapshot")
    exchange_validator().validate(document)
    assert document["complete"] is True
    assert {i["id"] for i in document["data"]} == live_ids()
    assert document["publisher"]["id"] == NODE
    with engine.connect() as conn:
        last = conn.execute(sa.text(f"SELECT value FROM counter WHERE name = '{CHANGE_SEQ}'")).scalar_one()
    assert document["cursor"] == str(last)
    wesel = await get_json(web_client, "/api/v1/snapshot?origin=ki-05170")
    exchange_validator().validate(wesel)
    assert wesel["publisher"] == {
        "id": "ki-05170",
        "name": "Kommunales Integrationszentrum Kreis Wesel",
        "ars": "05170",
        "url": "https://www.kreis-wesel.de/ki",
    }
    assert {i["id"] for i in wesel["data"]} == {i.id for i in LIVE if i.origin.id == "ki-05170"}
    # The extension field of the origin is passed on.
    assert any("_wesel_intern_nr" in i for i in wesel["data"])
    empty = await get_json(web_client, "/api/v1/snapshot?origin=ki-05111")
    assert empty["data"] == [] and empty["publisher"]["id"] == "ki-05111" and empty["complete"] is True
    error = await get_json(web_client, "/api/v1/snapshot?limit=5", 400)
    assert error["error"]["details"] == {"parameter": "limit"}


async def test_centres_with_their_counts(web_client):
    centres = (await get_json(web_client, "/api/v1/centres"))["data"]
    assert sum(1 for c in centres if c["registered"]) == 54
    by_id = {c["id"]: c for c in centres}
    for centre_id in ("ki-05170", "ki-05154", "ki-05112", "ki-05711", "ki-99999"):
        assert by_id[centre_id]["items"] == sum(1 for i in LIVE if i.origin.id == centre_id)
    assert by_id["ki-99999"]["registered"] is False
    assert by_id["ki-05111"]["items"] == 0
    assert by_id["ki-05170"]["name"] == "KI Kreis Wesel" and by_id["ki-05170"]["region"] == "Düsseldorf"


async def test_sources_show_their_health(web_client, engine):
    registry = SourceRegistry(engine)
    registry.sync_config(
        [
            SourceSettings(id="wesel", url="https://user:secret@www.kreis-wesel.de/ki/export.json", centre="ki-05170"),
            SourceSettings(id="kleve", url="https://www.kreis-kleve.de/ki.json", centre="ki-05154"),
            SourceSettings(id="relay", url="https://other.example/api/v1/changes", relay=True, enabled=False),
            SourceSettings(id="new", url="https://new.example/feed.rss", centre="ki-05112"),
            SourceSettings(id="local", url="/srv/kisync/feeds/hamm.json", centre="ki-05915"),
        ],
        3600,
    )
    now = datetime(2026, 11, 29, 6, tzinfo=UTC)
    warnings = [{"code": "w", "message": "a warning"}]
    registry.record("wesel", Outcome(attempted=now, ok=True, http_status=200, seen=8, new=8, next_due=now, warnings=warnings))
    registry.record("kleve", Outcome(attempted=now, ok=False, http_status=503, error="HTTP 503"))
    registry.record("kleve", Outcome(attempted=now, ok=False, http_status=503, error="HTTP 503"))
    response = await web_client.get("/api/v1/sources")
    assert "secret" not in await response.text()
    sources = {s["id"]: s for s in (await response.json())["data"]}
    assert sources["wesel"]["status"] == "ok" and sources["wesel"]["healthy"] is True
    assert sources["wesel"]["url"] == "https://www.kreis-wesel.de/ki/export.json"
    assert sources["wesel"]["counts"] == {"seen": 8, "new": 8, "updated": 0, "deleted": 0}
    assert sources["wesel"]["warnings"] == [{"code": "w", "message": "a warning"}]
    assert sources["kleve"]["status"] == "failing" and sources["kleve"]["consecutive_failures"] == 2
    assert sources["kleve"]["error"] == "HTTP 503" and sources["kleve"]["http_status"] == 503
    assert sources["relay"]["status"] == "disabled"
    assert sources["new"]["status"] == "never_fetched"
    opml = await (await web_client.get("/sources.opml")).text()
    assert "kreis-kleve.de" in opml and "secret" not in opml
    assert "/srv/kisync" not in opml  # a local file is no source for anyone else


async def test_stats_count_live_items(web_client):
    stats = await get_json(web_client, "/api/v1/stats")
    assert stats["total"] == len(LIVE) and stats["deleted"] == 2
    by_field = {e["code"]: e["count"] for e in stats["by_field"]}
    fields = ("querschnitt", "elementarbereich", "schule", "uebergang_schule_beruf")
    assert by_field == {f: len(reference(field=[f])) for f in fields}
    assert {e["code"]: e["count"] for e in stats["by_kind"]} == {
        k: sum(1 for i in LIVE if i.kind.value == k) for k in ("project", "best_practice", "event", "news")
    }
    assert {e["code"]: e["count"] for e in stats["by_centre"]} == {
        c: sum(1 for i in LIVE if i.origin.id == c) for c in {i.origin.id for i in LIVE}
    }
    programmes = {e["code"]: e for e in stats["by_programme"]}
    assert programmes["komm_an"]["count"] == len(reference(programme=["komm_an"]))
    assert programmes["komm_an"]["label"] == "KOMM-AN NRW"
    assert {e["code"]: e["count"] for e in stats["by_audience"]}["eltern"] == len(reference(audience=["eltern"]))
    labels = {e["code"]: e["label"] for e in stats["by_field"]}
    assert labels["schule"] == "Interkulturelle Schulentwicklung"


def read_csv(body: bytes) -> list[dict[str, str]]:
    assert body.startswith("\ufeff".encode())
    text = body.decode("utf-8-sig")
    assert "\r\n" in text
    return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=";"))


async def test_csv_for_german_excel(web_client):
    response = await web_client.get("/api/v1/items.csv")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="kisync-projekte.csv"' in response.headers["Content-Disposition"]
    rows = read_csv(await response.read())
    assert len(rows) == len(LIVE)  # every item, not a page
    assert list(rows[0])[:12] == [
        "Titel", "Zentrum", "Art", "Handlungsfelder", "Zielgruppen", "Programme",
        "Status", "Beginn", "Ende", "Sprache", "Link", "Geändert",
    ]
    for personal_column in ("Ansprechperson", "E-Mail", "Telefon"):
        assert personal_column not in rows[0]
    moers = next(r for r in rows if r["ID"].endswith("rucksack-kita-moers"))
    assert moers["Art"] == "Projekt"
    assert moers["Handlungsfelder"] == "Elementarbereich (frühkindliche Bildung)"
    assert moers["Zielgruppen"] == "Eltern, Kinder, Fachkräfte in Kitas"
    assert moers["Programme"] == "Rucksack KiTa"
    assert moers["Status"] == "laufend"
    assert moers["Beginn"] == "01.08.2019"
    assert moers["Geändert"] == "03.09.2026 11:20"  # Berlin time, as written in the example
    assert moers["Zentrum"] == "Kommunales Integrationszentrum Kreis Wesel"
    formula = next(r for r in rows if r["ID"].startswith("https://example.org/generated/010"))
    assert formula["Titel"].startswith("'=")  # not run as a formula
    filtered = read_csv(await (await web_client.get("/api/v1/items.csv?centre=ki-05170&kind=project")).read())
    assert {r["ID"] for r in filtered} == reference(centre=["ki-05170"], kind=["project"])
    limited = read_csv(await (await web_client.get("/api/v1/items.csv?limit=5")).read())
    assert len(limited) == 5
    error = await get_json(web_client, "/api/v1/items.csv?field=x", 400)
    assert error["error"]["details"] == {"parameter": "field"}


async def test_csv_with_published_contacts(make_client, populated_store):
    client = await make_client(make_settings(publish_contacts=True))
    rows = read_csv(await (await client.get("/api/v1/items.csv")).read())
    moers = next(r for r in rows if r["ID"].endswith("rucksack-kita-moers"))
    assert moers["Ansprechperson"] == "Selin Arslan"
    assert moers["E-Mail"] == "selin.arslan@kreis-wesel.de"
    assert moers["Telefon"] == "'+49 281 207-4417"  # a leading + would be a formula


OUTPUTS = [
    "/feed.rss?limit=500",
    "/feed.atom?limit=500",
    "/feed.json?limit=500",
    "/api/v1/items?limit=500",
    "/api/v1/items?limit=500&modified_since=2000-01-01T00:00:00Z",
    "/api/v1/changes?limit=500",
    "/api/v1/snapshot",
    "/api/v1/snapshot?origin=ki-05170",
    "/api/v1/items.csv",
    f"/api/v1/items/{quote('https://www.kreis-wesel.de/ki/projekte/rucksack-kita-moers', safe='')}",
]


async def test_no_personal_contact_data_in_any_output(web_client):
    for path in OUTPUTS:
        body = (await (await web_client.get(path)).read()).decode("utf-8-sig")
        for personal in (*PERSONAL, "Erika Mustermann", "erika@example.org", "0221 12345"):
            assert personal not in body, (path, personal)
        if "feed" not in path:
            assert "KI Test" in body or "Kommunales Integrationszentrum Kreis Wesel" in body  # the organisation stays


async def test_contacts_are_published_when_configured(make_client, populated_store):
    client = await make_client(make_settings(publish_contacts=True))
    for path in OUTPUTS[3:8]:
        body = await (await client.get(path)).text()
        assert "selin.arslan@kreis-wesel.de" in body, path


def test_via_and_privacy_in_one_function():
    publication = Publication(node_centre=NODE, publish_contacts=False)
    contact = {"organisation": "O", "name": "N", "email": "n@o.example", "phone": "123", "url": "https://o.example"}
    base = {"id": "urn:x", "origin": {"id": "ki-05170", "name": "x"}, "contact": contact}
    published = publish_item({**base, "contact": dict(contact)}, publication)
    assert published["contact"] == {"organisation": "O", "url": "https://o.example"}
    kept = publish_item({**base, "contact": dict(contact)}, Publication(node_centre=NODE, publish_contacts=True))
    assert kept["contact"] == contact
    assert publish_item({**base}, publication)["via"] == [NODE]
    assert publish_item({**base, "via": ["ki-05112"]}, publication)["via"] == ["ki-05112", NODE]
    assert publish_item({**base, "via": [NODE]}, publication)["via"] == [NODE]
    own = {**base, "origin": {"id": NODE, "name": "wir"}}
    assert publish_item(own, publication)["via"] == []
    assert publish_item({**base, "via": [NODE, "ki-05112"]}, publication)["via"] == [NODE, "ki-05112", NODE]
    moment = "2026-01-01T00:00:00Z"
    tomb = Tombstone.model_validate(
        {"id": "urn:t", "kind": "news", "origin": base["origin"], "created": moment, "modified": moment, "deleted": True}
    )
    assert publish_item(tomb.model_dump(mode="json"), publication)["via"] == [NODE]
