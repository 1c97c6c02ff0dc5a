"""The HTML pages over HTTP, on both backends: content, filters as in the API, errors, headers, caching.

What a browser does with them (axe-core, keyboard, 320 px, XSS) is in
test_html_browser.py; the privacy rule across every output in
test_html_privacy.py; the pure helpers in test_html_units.py.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, quote, unquote, urlsplit

import pytest
from aiohttp import ClientSession
from lxml import html as lxml_html

from kisync.model import Item
from kisync.store.merge import MergeContext
from kisync.web import SEQ
from kisync.web.app import PAGE_ROUTES, ROUTES
from kisync.web.html.pages import PAGE_SIZE
from kisync.web.html.security import PAGE_CSP
from kisync.web.html.templates import STYLESHEET_VERSION
from tests.factories import live
from tests.test_html_support import NODE as SYNC_NODE
from tests.test_web_support import NODE, NOW, app_of, example_items, generated_items, get_json, live_ids

pytest_plugins = ["tests.test_web_support", "tests.test_html_support"]

HTML = "text/html; charset=utf-8"
WESEL_KITA = "https://www.kreis-wesel.de/ki/projekte/rucksack-kita-moers"
LIVE = [i for i in example_items() + generated_items() if isinstance(i, Item)]


def item_href(item_id: str) -> str:
    return "/items/" + quote(item_id, safe="")


async def get_page(client, path: str, status: int = 200):
    response = await client.get(path)
    text = await response.text()
    assert response.status == status, (path, response.status, text[:1000])
    assert response.headers["Content-Type"] == HTML, path
    return response, lxml_html.document_fromstring(text)


def listed_ids(doc) -> list[str]:
    """The items a list page shows, by the id in their links."""
    return [unquote(a.get("href").removeprefix("/items/")) for a in doc.cssselect("ol.items article h3 a")]


def described(element) -> dict[str, str]:
    """A description list as {term: description}, whitespace collapsed."""
    return {
        " ".join(dt.text_content().split()): " ".join(dt.getnext().text_content().split())
        for dt in element.cssselect("dl.meta dt")
    }


def assert_page_frame(doc, path: str) -> None:
    """What every page has: German, one h1, landmarks, skip link, our stylesheet only, no script, no inline style."""
    root = doc.getroottree().getroot()
    assert root.get("lang") == "de", path
    assert len(doc.cssselect("h1")) == 1, path
    for landmark in ("header", "nav", "main", "footer"):
        assert len(doc.cssselect(landmark)) >= 1, (path, landmark)
    skip = doc.cssselect("a.skip-link")[0]
    assert skip.get("href") == "#inhalt" and doc.get_element_by_id("inhalt").tag == "main", path
    assert doc.cssselect("title")[0].text_content().strip(), path
    assert not doc.cssselect("script, iframe, object, embed, img, base"), path
    assert not doc.cssselect("[style]"), path
    assert not [e for e in doc.iter() if isinstance(e.tag, str) and any(a.startswith("on") for a in e.attrib)], path
    sheets = [link.get("href") for link in doc.cssselect('link[rel="stylesheet"]')]
    assert sheets == [f"/static/kisync.css?v={STYLESHEET_VERSION}"], path
    for element in doc.cssselect("[src]"):
        raise AssertionError(f"{path}: loads {element.get('src')}")
    for link in doc.cssselect("link[href]"):
        assert link.get("href").startswith("/"), (path, link.get("href"))  # nothing from elsewhere
    for form in doc.cssselect("form"):
        assert form.get("action") == "/", path


# -- every page --------------------------------------------------------------------------


async def test_every_page_is_german_html_with_its_frame_and_security_headers(web_client):
    pages = ["/", "/?field=schule&kind=event", item_href(WESEL_KITA), "/zentren", "/statistik"]
    for path in pages:
        response, doc = await get_page(web_client, path)
        assert_page_frame(doc, path)
        csp = response.headers["Content-Security-Policy"]
        assert csp == PAGE_CSP
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp and "script-src" not in csp
        assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert "Set-Cookie" not in response.headers
        assert response.headers["Cache-Control"] == "no-cache" and response.headers["ETag"]
    # HEAD answers like GET, without a body.
    head = await web_client.head("/statistik")
    assert head.status == 200 and head.headers["Content-Security-Policy"] == PAGE_CSP


async def test_every_other_answer_has_a_locked_down_csp(web_client):
    for path in ("/feed.rss", "/feed.json", "/api/v1/items", "/api/v1/stats", "/nowhere", "/static/kisync.css"):
        response = await web_client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert csp.startswith("default-src 'none'") and "frame-ancestors 'none'" in csp and "sandbox" in csp, path
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert "Set-Cookie" not in response.headers
    # A 304 of a page carries the page's CSP: a cache updates the stored headers from it (RFC 9111 §4.3.4).
    first = await web_client.get("/")
    again = await web_client.get("/", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status == 304 and again.headers["Content-Security-Policy"] == PAGE_CSP


async def test_html_pages_are_routes_of_their_own_outside_the_api_description(web_client):
    spec = await get_json(web_client, "/openapi.json")
    pages = {(r.method, r.path.replace("{id:.+}", "{id}")) for r in ROUTES if not r.api}
    assert (
        pages
        == PAGE_ROUTES
        == {
            ("GET", "/"),
            ("GET", "/items/{id}"),
            ("GET", "/zentren"),
            ("GET", "/statistik"),
            ("GET", "/static/kisync.css"),
        }
    )
    assert not {path for _, path in PAGE_ROUTES} & set(spec["paths"])
    router = {(r.method, r.resource.canonical) for r in app_of(web_client).router.routes()}
    assert router >= PAGE_ROUTES


# -- the list ----------------------------------------------------------------------------

FILTERS = [
    "field=elementarbereich",
    "field=schule&field=querschnitt&kind=event",
    "centre=ki-05170&lang=de",
    "audience=eltern&programme=komm_an",
    "q=Rucksack",
    "lang=ar",
    "tag=generiert&kind=news",
]


@pytest.mark.parametrize("query", FILTERS)
async def test_the_list_shows_what_the_api_finds(web_client, query):
    api = await get_json(web_client, f"/api/v1/items?{query}&limit=500")
    _, doc = await get_page(web_client, f"/?{query}&limit=500")
    assert listed_ids(doc) == [item["id"] for item in api["data"]]
    heading = doc.get_element_by_id("results-heading").text_content()
    assert heading.startswith(f"{len(api['data'])} Eintr"), heading
    # The form shows the filter it was given.
    params = parse_qs(query)
    for value in params.get("field", []):
        assert doc.get_element_by_id(f"field-{value}").get("checked") is not None
    for value in params.get("centre", []):
        (option,) = doc.cssselect(f'#filter-centre option[value="{value}"]')
        assert option.get("selected") is not None
    if "q" in params:
        assert doc.get_element_by_id("filter-q").get("value") == params["q"][0]


async def test_each_item_shows_title_centre_fields_period_status_and_summary(web_client):
    _, doc = await get_page(web_client, f"/?centre=ki-05170&limit={PAGE_SIZE}")
    by_id = {i.id: i for i in LIVE}
    for article in doc.cssselect("ol.items article"):
        item = by_id[unquote(article.cssselect("h3 a")[0].get("href").removeprefix("/items/"))]
        text = " ".join(article.text_content().split())
        assert item.title in text and item.origin.name in text
        labels = [li.text_content() for li in article.cssselect("ul.labels li")]
        assert labels == [f.label for f in item.fields_of_action]
        if item.status:
            assert article.cssselect(f".status-{item.status.value}")
        if item.start_date:
            assert article.cssselect(f'time[datetime="{item.start_date.isoformat()}"]')
        if item.summary:
            assert " ".join(item.summary.split()) in text


async def test_pages_follow_the_keyset_and_end(web_client):
    seen: list[str] = []
    path = "/"
    pages = 0
    while path:
        _, doc = await get_page(web_client, path)
        seen += listed_ids(doc)
        pages += 1
        nav = doc.cssselect('nav.pagination[aria-label="Seiten der Ergebnisliste"]')
        following = doc.cssselect('nav.pagination a[rel="next"]')
        path = following[0].get("href") if following else None
        if pages > 1:
            assert nav and nav[0].cssselect("a")[0].get("href") == "/"  # back to the first page
    assert len(seen) == len(set(seen)) == len(live_ids())
    assert set(seen) == live_ids()
    assert pages == -(-len(live_ids()) // PAGE_SIZE)


async def test_empty_form_values_filter_nothing(web_client):
    plain = await web_client.get("/")
    empty = await web_client.get("/?field=&centre=&kind=&audience=&programme=&lang=&q=")
    assert empty.status == 200
    assert empty.headers["ETag"] == plain.headers["ETag"]  # the same normalized query: the same representation


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("field=nix", "„Handlungsfeld“"),
        ("centre=K%C3%B6ln", "„Zentrum“"),
        ("lang=deutsch!", "„Sprache“"),
        ("q=%21%21%21", "Suchbegriff"),
        ("cursor=kaputt", "ersten Seite"),
        ("feild=schule", "unbekannte Angabe „feild“"),
        ("limit=0", "„Anzahl“"),
    ],
)
async def test_a_bad_filter_is_a_german_page_with_400(web_client, query, words):
    response, doc = await get_page(web_client, f"/?{query}", 400)
    notice = doc.cssselect(".notice-error")[0].text_content()
    assert words in notice, notice
    assert doc.cssselect("title")[0].text_content().startswith("Fehler: ")
    assert doc.cssselect("form.filters select#filter-centre")  # the form is there to try again
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Security-Policy"] == PAGE_CSP
    assert_page_frame(doc, query)


async def test_feed_links_and_autodiscovery_follow_the_filter(web_client):
    query = "field=schule&kind=event&q=Generiert"
    _, doc = await get_page(web_client, f"/?{query}&limit=7")
    alternates = {link.get("type"): link.get("href") for link in doc.cssselect('head link[rel="alternate"]')}
    assert set(alternates) == {"application/rss+xml", "application/atom+xml", "application/feed+json", "text/csv"}
    visible = {a.get("type"): a.get("href") for a in doc.cssselect("ul.feed-links a")}
    assert visible == alternates
    shown = set(listed_ids((await get_page(web_client, f"/?{query}&limit=500"))[1]))
    for media_type, href in alternates.items():
        parts = urlsplit(href)
        # The filter, without the page's limit or cursor.
        assert parse_qs(parts.query) == {"field": ["schule"], "kind": ["event"], "q": ["Generiert"]}, href
        response = await web_client.get(href)
        assert response.status == 200, href
        assert response.headers["Content-Type"].startswith(media_type)
        if media_type == "application/feed+json":
            assert {i["id"] for i in (await response.json())["items"]} == shown
    # Every list page has them, unfiltered too.
    _, plain = await get_page(web_client, "/")
    assert {link.get("href") for link in plain.cssselect('head link[rel="alternate"]')} == {
        "/feed.rss",
        "/feed.atom",
        "/feed.json",
        "/api/v1/items.csv",
    }


async def test_languages_and_writing_direction(web_client):
    _, doc = await get_page(web_client, "/?limit=500")
    by_id = {i.id: i for i in LIVE}
    seen_rtl = False
    for link in doc.cssselect("ol.items article h3 a"):
        item = by_id[unquote(link.get("href").removeprefix("/items/"))]
        primary = item.language.split("-")[0].lower()
        if primary == "de":
            assert link.get("lang") is None and link.get("dir") is None
        else:
            assert link.get("lang") == item.language
            assert link.get("dir") == ("rtl" if primary == "ar" else None)
            seen_rtl |= primary == "ar"
    assert seen_rtl
    arabic = next(i for i in LIVE if i.language == "ar")
    _, page = await get_page(web_client, item_href(arabic.id))
    title = page.cssselect("h1")[0]
    assert (title.get("lang"), title.get("dir")) == ("ar", "rtl")
    for part in page.cssselect("p.summary, div.content"):
        assert (part.get("lang"), part.get("dir")) == ("ar", "rtl")
    # The labels around it are German: no lang of their own.
    assert page.cssselect("dl.meta")[0].get("lang") is None


# -- one item ----------------------------------------------------------------------------


async def test_the_item_page(web_client):
    item = next(i for i in LIVE if i.id == WESEL_KITA)
    _, doc = await get_page(web_client, item_href(item.id))
    assert doc.cssselect("h1")[0].text_content() == item.title
    text = " ".join(doc.text_content().split())
    assert "Rucksack KiTa ist ein Programm zur Sprachförderung" in text  # the content
    assert item.contact.organisation in text
    # Links and attachments; headings of the content one level down.
    hrefs = {a.get("href") for a in doc.cssselect("a")}
    assert item.url in hrefs and {a.url for a in item.attachments} <= hrefs
    assert not doc.cssselect("div.content h1, div.content h2")
    # Provenance: origin, route, when it changed; merged straight into the store, no source delivered it.
    provenance = " ".join(doc.cssselect("dl.provenance")[0].text_content().split())
    assert item.origin.name in provenance and "(dieser Knoten)" in provenance
    assert doc.cssselect(f'dl.provenance time[datetime="{item.modified.isoformat().replace("+00:00", "Z")}"]')
    assert "keiner Quelle" in provenance
    api_link = doc.cssselect('article a[type="application/json"]')[0].get("href")
    assert (await get_json(web_client, api_link))["id"] == item.id


async def test_unknown_and_deleted_items_are_german_pages(web_client):
    response, doc = await get_page(web_client, "/items/urn%3Anichts", 404)
    assert "gibt es hier nicht" in doc.text_content() and response.headers["Cache-Control"] == "no-store"
    assert_page_frame(doc, "404")
    tombstone = next(i for i in example_items() if i.deleted)
    _, gone = await get_page(web_client, item_href(tombstone.id), 410)
    assert "gelöscht" in gone.cssselect(".notice-error")[0].text_content()
    _, unknown = await get_page(web_client, item_href(WESEL_KITA) + "?x=1", 400)
    assert "„x“" in unknown.text_content()


async def test_provenance_of_a_synced_item(realistic_site):
    async with ClientSession() as session, session.get(realistic_site(item_href(WESEL_KITA))) as response:
        assert response.status == 200
        doc = lxml_html.document_fromstring(await response.text())
    provenance = " ".join(doc.cssselect("dl.provenance")[0].text_content().split())
    assert "Quelle wesel (KI Kreis Wesel): zuerst erhalten" in provenance
    assert [li.text_content() for li in doc.cssselect("ol.route li")] == [
        "KI Kreis Wesel (Urheber)",
        "KI Stadt Köln (dieser Knoten)",
    ]
    assert SYNC_NODE == "ki-05315"
    assert doc.cssselect('dl.provenance a[href="/zentren#quelle-wesel"]')


# -- centres and statistics ---------------------------------------------------------------


async def test_centres_and_the_health_of_their_sources(realistic_site):
    async with ClientSession() as session, session.get(realistic_site("/zentren")) as response:
        assert response.status == 200 and response.headers["Content-Security-Policy"] == PAGE_CSP
        doc = lxml_html.document_fromstring(await response.text())
    assert_page_frame(doc, "/zentren")
    sections = {s.get("id"): s for s in doc.cssselect("section.source")}
    assert set(sections) == {
        f"quelle-{s}" for s in ("wesel", "kleve", "duisburg", "oberhausen", "recklinghausen", "muelheim", "bonn")
    }
    # Trouble first.
    assert doc.cssselect("section.source")[0].get("id") == "quelle-muelheim"
    failing = " ".join(sections["quelle-muelheim"].text_content().split())
    assert "gestört seit 1 Abruf" in failing
    assert "Unter der Adresse der Quelle ist nichts (mehr) zu finden." in failing
    detail = sections["quelle-muelheim"].cssselect("details p")[0]
    assert detail.get("lang") == "en" and "HTTP 404" in detail.text_content()
    assert "noch keiner" in failing  # never succeeded
    ok = described(sections["quelle-wesel"])
    assert (
        ok["Zustand"] == "in Ordnung"
        and ok["Letzter Fehler"] == "keiner"
        and ok["Beim letzten Abruf"].startswith("8 gelesen, 8 neu")
    )
    assert ok["Zentrum"] == "KI Kreis Wesel" and ok["Format"] == "Austauschformat"
    assert sections["quelle-wesel"].cssselect("time")  # last success, next sync
    assert "abgeschaltet" in sections["quelle-bonn"].text_content()
    listed = {" ".join(li.text_content().split()) for li in doc.cssselect("ul.centre-list li")}
    assert "KI Kreis Wesel 8 Einträge Quelle wesel: in Ordnung" in listed
    assert any(line.startswith("KI Stadt Mülheim an der Ruhr 0 Einträge") for line in listed)
    quiet = [li.text_content() for li in doc.cssselect("ul.columns li")]
    assert "KI Kreis Borken" in quiet and len(quiet) == 54 - 7


async def test_statistics_tables_and_charts_agree_with_the_api(web_client):
    stats = await get_json(web_client, "/api/v1/stats")
    _, doc = await get_page(web_client, "/statistik")
    assert_page_frame(doc, "/statistik")

    def table(table_id: str) -> dict[str, int]:
        element = doc.get_element_by_id(table_id)
        assert element.cssselect("caption") and element.cssselect('thead th[scope="col"]')
        rows = element.cssselect("tbody tr")
        assert all(row.cssselect('th[scope="row"]') for row in rows)
        return {row.cssselect("th")[0].text_content(): int(row.cssselect("td")[0].text_content()) for row in rows}

    fields = table("tabelle-handlungsfelder")
    assert fields == {e["label"]: e["count"] for e in stats["by_field"]}
    centres = table("tabelle-zentren")
    assert sorted(centres.values(), reverse=True) == sorted((e["count"] for e in stats["by_centre"]), reverse=True)
    assert sum(centres.values()) == stats["total"]
    charts = doc.cssselect("svg.bars")
    assert len(charts) == 2
    for svg, numbers in zip(charts, (fields, centres), strict=True):
        assert svg.get("role") == "img"
        title = doc.get_element_by_id(svg.get("aria-labelledby"))
        desc = doc.get_element_by_id(svg.get("aria-describedby"))
        assert title.tag == "title" and desc.tag == "desc" and title.getparent() is svg
        # The text alternative and the bars say what the table says.
        said = dict(re.findall(r"([^;]+?): (\d+)", desc.text_content().rstrip(".")))
        assert {k.strip(): int(v) for k, v in said.items()} == numbers
        assert [int(t.text_content()) for t in svg.cssselect("text.bar-value")] == list(numbers.values())
        widths = [float(r.get("width").rstrip("%")) for r in svg.cssselect("rect.bar")]
        assert widths == sorted(widths, reverse=True) and max(widths) == 80.0


async def test_stylesheet_is_versioned_and_cached(web_client):
    path = f"/static/kisync.css?v={STYLESHEET_VERSION}"
    response = await web_client.get(path)
    assert response.status == 200 and response.headers["Content-Type"] == "text/css; charset=utf-8"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    css = await response.text()
    assert ":focus-visible" in css and "@import" not in css and "url(" not in css  # nothing from elsewhere
    again = await web_client.get(path, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status == 304
    stale = await web_client.get("/static/kisync.css?v=alt")
    assert stale.headers["Cache-Control"] == "no-cache"


async def test_a_page_changes_with_the_store(web_client, populated_store):
    first = await web_client.get("/statistik")
    etag = first.headers["ETag"]
    assert (await web_client.get("/statistik", headers={"If-None-Match": etag})).status == 304
    result = populated_store.merge(
        [live("urn:neu:1", minutes=478_000, title="Ganz neu")], MergeContext(node_centre=NODE, now=NOW)
    )
    app_of(web_client)[SEQ].bump(result.last_seq)
    changed = await web_client.get("/statistik", headers={"If-None-Match": etag})
    assert changed.status == 200
    _, doc = await get_page(web_client, "/")
    assert listed_ids(doc)[0] == "urn:neu:1"


async def test_a_database_that_is_gone_is_a_german_page_with_503(aiohttp_client, tmp_path):
    from kisync.store.db import create_engine
    from kisync.web import create_app
    from tests.test_web_support import make_settings

    broken = create_engine(f"sqlite:///{tmp_path / 'nothing-here.db'}")  # never migrated
    client = await aiohttp_client(create_app(make_settings(), broken))
    for path in ("/", "/zentren", "/statistik", item_href(WESEL_KITA)):
        response, doc = await get_page(client, path, 503)
        assert "Datenbank ist gerade nicht erreichbar" in doc.text_content(), path
        assert response.headers["Content-Security-Policy"] == PAGE_CSP
        assert "Traceback" not in doc.text_content()
    broken.dispose()
