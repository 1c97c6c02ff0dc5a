"""Feeds: RSS 2.0, Atom 1.0 and JSON Feed 1.1, checked by independent means.

Atom against the RELAX NG grammar of RFC 4287 Appendix B (plus its
Schematron rules in Python), RSS against the rules of the RSS 2.0
specification, JSON Feed against a JSON Schema written from its
specification; all three re-read by feedparser, and the RSS consumed by a
real feed reader (lemon24/reader) over a real loopback server.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import feedparser
import jsonschema
import pytest
from lxml import etree

from tests.test_web_support import (
    BASE_URL,
    FIXTURES,
    FORMATS,
    NODE,
    PERSONAL,
    example_items,
    generated_items,
    get_json,
    live_ids,
)

pytest_plugins = ["tests.test_web_support"]

ATOM_NS = "http://www.w3.org/2005/Atom"
A = f"{{{ATOM_NS}}}"
# RFC 822 §5 as RSS 2.0 uses it (with the four-digit years of RFC 1123).
RFC822 = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
    r"\d{2}:\d{2}:\d{2} (GMT|UT|[+-]\d{4})$"
)
LIVE = len(live_ids())


def _absolute(url: str | None) -> bool:
    parts = urlsplit(url or "")
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def check_rss(body: bytes) -> etree._Element:
    """The rules of the RSS 2.0 specification that a renderer can break."""
    root = etree.fromstring(body)
    assert root.tag == "rss" and root.get("version") == "2.0"
    (channel,) = root.findall("channel")
    for required in ("title", "link", "description"):
        element = channel.find(required)
        assert element is not None and (element.text or "").strip(), f"channel/{required} missing"
    assert _absolute(channel.findtext("link"))
    for date in ("lastBuildDate", "pubDate"):
        if channel.find(date) is not None:
            assert RFC822.match(channel.findtext(date)), channel.findtext(date)
    self_link = channel.find(f"{A}link")
    assert self_link is not None and self_link.get("rel") == "self" and _absolute(self_link.get("href"))
    guids = []
    for item in channel.findall("item"):
        # "All elements of an item are optional, however at least one of title or description must be present."
        assert item.findtext("title") or item.findtext("description")
        assert _absolute(item.findtext("link")), item.findtext("link")
        assert RFC822.match(item.findtext("pubDate") or ""), item.findtext("pubDate")
        guid = item.find("guid")
        assert guid is not None and guid.text
        if guid.get("isPermaLink", "true") == "true":
            assert _absolute(guid.text)
        guids.append(guid.text)
        for category in item.findall("category"):
            assert category.text
    assert len(guids) == len(set(guids)), "guids must be unique"
    return channel


def check_atom(body: bytes) -> etree._Element:
    grammar = etree.RelaxNG(etree.parse(str(FIXTURES / "atom.rng")))
    document = etree.fromstring(body)
    assert grammar.validate(document), grammar.error_log
    # The Schematron rules of RFC 4287 Appendix B.
    entries = document.findall(f"{A}entry")
    assert document.find(f"{A}author") is not None or all(e.find(f"{A}author") is not None for e in entries)
    for entry in entries:
        alternates = [link for link in entry.findall(f"{A}link") if link.get("rel", "alternate") == "alternate"]
        assert entry.find(f"{A}content") is not None or alternates
        pairs = [(link.get("type"), link.get("hreflang")) for link in alternates]
        assert len(pairs) == len(set(pairs))
        content = entry.find(f"{A}content")
        if content is not None and content.get("src"):
            assert entry.find(f"{A}summary") is not None
    ids = [e.findtext(f"{A}id") for e in entries]
    assert len(ids) == len(set(ids))
    return document


def check_jsonfeed(body: bytes) -> dict:
    schema = json.loads((FIXTURES / "jsonfeed-1.1.schema.json").read_text(encoding="utf-8"))
    feed = json.loads(body)
    jsonschema.Draft202012Validator(schema, format_checker=FORMATS).validate(feed)
    return feed


def test_the_checkers_catch_broken_feeds():
    """The grammar and the schema are only worth something if they refuse what is wrong."""
    good = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><id>urn:x</id><title>t</title>'
        b"<updated>2026-01-01T00:00:00Z</updated><author><name>n</name></author></feed>"
    )
    check_atom(good)
    for broken in (
        good.replace(b"<updated>2026-01-01T00:00:00Z</updated>", b""),
        good.replace(b"2026-01-01T00:00:00Z", b"Thu, 01 Jan 2026 00:00:00 GMT"),
        good.replace(b"<title>t</title>", b"<title>t</title><bogus>x</bogus>"),
    ):
        with pytest.raises(AssertionError):
            check_atom(broken)
    minimal = {"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": [{"id": "1", "content_text": "x"}]}
    check_jsonfeed(json.dumps(minimal).encode())
    broken_items = (
        {"id": "1"},
        {"id": "1", "content_text": "x", "date_modified": "gestern"},
        {"id": "1", "content_text": "x", "tilte": "x"},
    )
    for broken_item in broken_items:
        with pytest.raises(jsonschema.ValidationError):
            check_jsonfeed(json.dumps({**minimal, "items": [broken_item]}).encode())
    with pytest.raises(AssertionError):
        check_rss(b'<rss version="2.0"><channel><title>t</title><link>/x</link><description>d</description></channel></rss>')


async def test_rss_is_valid_and_complete(web_client):
    response = await web_client.get("/feed.rss?limit=500")
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/rss+xml; charset=utf-8"
    body = await response.read()
    channel = check_rss(body)
    items = channel.findall("item")
    assert len(items) == LIVE
    assert {i.findtext("guid") for i in items} == live_ids()
    dates = [parsedate_to_datetime(i.findtext("pubDate")) for i in items]
    assert dates == sorted(dates, reverse=True), "newest first"
    assert channel.find(f"{A}link").get("href") == f"{BASE_URL}/feed.rss?limit=500"
    titles = {i.findtext("title") for i in items}
    assert "Steuerzeichen im Titel" in titles  # the vertical tab XML forbids is gone
    parsed = feedparser.parse(body)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert [e.id for e in parsed.entries] == [i.findtext("guid") for i in items]


async def test_atom_is_valid_and_complete(web_client):
    response = await web_client.get("/feed.atom?limit=500")
    assert response.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    body = await response.read()
    document = check_atom(body)
    entries = document.findall(f"{A}entry")
    assert {e.findtext(f"{A}id") for e in entries} == live_ids()
    wesel = next(e for e in entries if e.findtext(f"{A}id").endswith("rucksack-kita-moers"))
    assert wesel.findtext(f"{A}author/{A}name") == "Kommunales Integrationszentrum Kreis Wesel"
    terms = {(c.get("scheme"), c.get("term")) for c in wesel.findall(f"{A}category")}
    assert ("https://kisync.example/ns/field", "elementarbereich") in terms
    assert wesel.find(f"{A}content").get("type") == "html"
    parsed = feedparser.parse(body)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert len(parsed.entries) == LIVE
    assert parsed.feed.title.startswith("KI Stadt Köln")


async def test_json_feed_is_valid_and_carries_the_extension(web_client):
    response = await web_client.get("/feed.json?limit=500")
    assert response.headers["Content-Type"] == "application/feed+json; charset=utf-8"
    body = await response.read()
    feed = check_jsonfeed(body)
    assert len(feed["items"]) == LIVE
    assert feed["feed_url"] == f"{BASE_URL}/feed.json?limit=500"
    by_id = {item["id"]: item for item in feed["items"]}
    moers = by_id["https://www.kreis-wesel.de/ki/projekte/rucksack-kita-moers"]
    extension = moers["_kisync"]
    assert extension["origin"]["id"] == "ki-05170"
    assert extension["fields_of_action"] == ["elementarbereich"]
    assert extension["via"] == [NODE]
    assert by_id["https://example.org/generated/008?x=1&y=2#teil"]["_kisync"]["via"] == ["ki-05170", NODE]
    assert by_id["https://example.org/generated/009?x=1&y=2#teil"]["_kisync"]["via"] == ["ki-05170", NODE]
    # Without content_html the text stands in (one of the two is required).
    assert by_id["urn:example:outside"]["content_text"] == "Außerhalb NRW"
    modified = [item["date_modified"] for item in feed["items"]]
    assert modified == sorted(modified, reverse=True)


async def test_feeds_hold_no_personal_contact_data(web_client):
    for path in ("/feed.rss", "/feed.atom", "/feed.json"):
        body = (await (await web_client.get(path + "?limit=500")).read()).decode()
        for personal in (*PERSONAL, "Erika Mustermann", "erika@example.org", "0221 12345"):
            assert personal not in body, (path, personal)


@pytest.mark.parametrize("path", ["/feed.rss", "/feed.atom", "/feed.json"])
async def test_feed_limit(web_client, path):
    for query, expected in (("", 50), ("?limit=5", 5), ("?limit=500", LIVE)):
        body = await (await web_client.get(path + query)).read()
        # feedparser 6.0 reads no JSON Feed
        count = len(json.loads(body)["items"]) if path == "/feed.json" else len(feedparser.parse(body).entries)
        assert count == expected, (path, query)
    for query in ("?limit=501", "?limit=0", "?limit=fünf", "?limit=1&limit=2"):
        error = await get_json(web_client, path + query, 400)
        assert error["error"]["details"] == {"parameter": "limit"}
    # Feeds do not page: a cursor is an unknown parameter there.
    error = await get_json(web_client, path + "?cursor=abc", 400)
    assert error["error"]["details"] == {"parameter": "cursor"}


async def test_feed_filters_and_their_title(web_client):
    feed = await get_json(web_client, "/feed.json?field=schule&kind=event&kind=news&limit=500")
    assert feed["items"]
    for item in feed["items"]:
        assert "schule" in item["_kisync"]["fields_of_action"]
        assert item["_kisync"]["kind"] in ("event", "news")
    assert "Handlungsfeld: Interkulturelle Schulentwicklung" in feed["title"]
    assert "Art: Veranstaltung, Meldung" in feed["title"]
    # The same filters in another order: the same feed, the same self link.
    again = await get_json(web_client, "/feed.json?kind=news&limit=500&kind=event&field=schule")
    assert again["feed_url"] == feed["feed_url"]
    assert [i["id"] for i in again["items"]] == [i["id"] for i in feed["items"]]
    kleve = await get_json(web_client, "/feed.json?centre=ki-05154&limit=500")
    assert kleve["items"] and {i["_kisync"]["origin"]["id"] for i in kleve["items"]} == {"ki-05154"}
    rss = feedparser.parse(await (await web_client.get("/feed.rss?centre=ki-05154&limit=500")).read())
    assert [e.id for e in rss.entries] == [i["id"] for i in kleve["items"]]
    atom = feedparser.parse(await (await web_client.get("/feed.atom?q=Zirkusprojekt")).read())
    assert [e.title for e in atom.entries] == ["Generiert 07"]


async def test_a_feed_reader_subscribes_and_sees_the_same_entries(make_client, populated_store, tmp_path):
    """lemon24/reader fetches /feed.rss over HTTP from a real server on loopback."""
    reader_lib = pytest.importorskip("reader")
    client = await make_client()
    url = str(client.make_url("/feed.rss?limit=500"))
    expected = feedparser.parse(await (await client.get("/feed.rss?limit=500")).read())

    def subscribe_and_update() -> list[tuple[str, str]]:
        reader = reader_lib.make_reader(str(tmp_path / "reader.sqlite"))
        try:
            reader.add_feed(url)
            reader.update_feeds()
            feed = reader.get_feed(url)
            assert feed.last_exception is None, feed.last_exception
            return [(entry.id, entry.title) for entry in reader.get_entries(feed=url)]
        finally:
            reader.close()

    # reader is synchronous (requests): it runs in a thread while the loop serves it.
    entries = await asyncio.to_thread(subscribe_and_update)
    assert Counter(entries) == Counter((e.id, e.title) for e in expected.entries)
    assert len(entries) == LIVE


def test_examples_have_what_the_feed_tests_rely_on():
    items = example_items() + generated_items()
    assert any(getattr(i, "content_html", None) for i in items)
    assert sum(1 for i in items if i.deleted) == 2
