"""kisync.parse: sniffing, every supported format, broken and hostile bodies."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest

from kisync.errors import ParseError
from kisync.parse import parse_document, xmlfeed
from kisync.parse.dates import parse_date
from kisync.parse.sniff import sniff

FIXTURES = Path(__file__).parent / "fixtures" / "parse"
URL = "https://www.example-ki.de/feed"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def parse(body: bytes, **kwargs):
    return parse_document(body, url=kwargs.pop("url", URL), **kwargs)


def rss(items: str, *, declaration: str = '<?xml version="1.0" encoding="UTF-8"?>', prolog: str = "") -> str:
    return f'{declaration}\n{prolog}<rss version="2.0"><channel><title>KI</title><link>https://ki.example/</link>{items}</channel></rss>'


# -- formats --------------------------------------------------------------------------


def test_rss_091_with_netscape_doctype():
    doc = parse(fixture("rss091.xml"))
    assert doc.format == "rss"
    assert doc.feed_version.startswith("rss091")
    assert doc.feed_language == "de"
    assert [e.link for e in doc.entries] == [
        "https://www.kreis-kleve.de/ki/griffbereit-goch",
        "https://www.kreis-kleve.de/ki/kaoa-infoabend",
    ]
    assert doc.entries[0].guid is None
    assert doc.entries[1].summary == "Berufsorientierung für neu zugewanderte Jugendliche."
    assert doc.warnings == []


def test_rss_10_rdf():
    doc = parse(fixture("rss10.rdf"))
    assert (doc.format, doc.feed_version) == ("rss", "rss10")
    first, second = doc.entries
    assert first.guid == first.link == "https://www.kreis-wesel.de/ki/news/sprachmittlerpool"
    assert first.updated == datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # dc:date, +01:00
    assert first.categories == ["Ehrenamt"]  # dc:subject
    assert "<strong>Kommunale Integrationsmanagement</strong>" in second.content  # content:encoded
    assert second.language == "de"


def test_rss_20():
    doc = parse(fixture("rss20.xml"))
    assert (doc.format, doc.feed_version, doc.feed_language) == ("rss", "rss20", "de-de")
    first, second, third = doc.entries
    assert first.guid == "ms-2026-001"
    assert first.published == datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
    assert first.categories == ["Elementarbereich"]
    assert first.attachments == [
        {"url": "https://www.musterstadt.de/files/flyer-rucksack.pdf", "media_type": "application/pdf", "size": 123456}
    ]
    assert "<strong>Kitas</strong>" in first.summary  # HTML as given; nh3 comes later
    # Relative links stay as the feed wrote them: the normalizer resolves them.
    assert second.link == "/integration/seiteneinsteiger"
    assert second.guid is None
    # An entry with neither guid nor link still parses; normalize skips it with a warning.
    assert (third.guid, third.link, third.position) == (None, None, 2)


def test_atom():
    doc = parse(fixture("atom.xml"))
    assert (doc.format, doc.feed_version, doc.feed_language) == ("atom", "atom10", "de")
    first, second = doc.entries
    assert first.guid == "tag:musterkreis.de,2026:ki/kaoa-praxistag"
    assert first.title == "KAoA-Praxistag <em>für</em> internationale Klassen"  # type="html"
    assert first.published == datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    assert first.updated == datetime(2026, 3, 5, 11, 0, tzinfo=UTC)
    assert first.categories == ["uebergang_schule_beruf"]
    assert first.content.startswith("<p>Der Praxistag")
    # A type="text" summary is handed on as HTML showing the same text.
    assert first.summary == "<p>Betriebe öffnen ihre Türen für Jugendliche aus internationalen Förderklassen.</p>"
    assert second.language == "tr"  # xml:lang on the entry
    assert second.published is None and second.updated == datetime(2026, 2, 1, 10, 0, tzinfo=UTC)


def test_json_feed_10():
    doc = parse(fixture("jsonfeed10.json"))
    assert (doc.format, doc.feed_version) == ("jsonfeed", "jsonfeed1")
    first, second = doc.entries
    assert first.guid == "https://www.musterstadt.de/ki/komm-an-2026"
    assert first.categories == ["Ehrenamt", "KOMM-AN NRW"]
    assert first.author == "Team Querschnitt"  # 1.0 `author`
    assert first.published == datetime(2026, 2, 15, 9, 0, tzinfo=UTC)
    assert second.guid == "42"  # JSON Feed: a numeric id is read as a string
    assert second.title is None
    assert second.content == "<p>Anmeldung zum herkunftssprachlichen Unterricht.</p><p>Bis zum 15. Januar.</p>"
    assert second.updated == datetime(2026, 1, 10, 8, 0, tzinfo=UTC)


def test_json_feed_11_with_bad_items_as_warnings():
    doc = parse(fixture("jsonfeed11.json"))
    assert (doc.format, doc.feed_version, doc.feed_language) == ("jsonfeed", "jsonfeed1.1", "de-DE")
    assert [e.guid for e in doc.entries] == ["mk-2026-17", "mk-2026-18", "mk-2026-19"]
    first, second, third = doc.entries
    assert first.summary == "Junge Geflüchtete werden beim Übergang in Ausbildung begleitet."
    assert first.attachments == [
        {"url": "https://www.musterkreis.de/files/flyer.pdf", "media_type": "application/pdf", "title": "Flyer", "size": 2048}
    ]
    assert first.author == "KI Musterkreis"  # 1.1 `authors`
    assert first.language == "de-DE" and second.language == "uk"  # item language over feed language
    assert third.published is None
    assert [(w.where, w.code) for w in doc.warnings] == [
        ("items[2]", "bad_entry"),
        ("items[3]", "bad_entry"),
        ("items[4].date_published", "bad_date"),
    ]
    assert "no `id`" in doc.warnings[1].message


def test_exchange_snapshot():
    doc = parse(fixture("exchange-snapshot.json"))
    assert (doc.format, doc.feed_version, doc.complete) == ("exchange", "exchange1.0", True)
    assert doc.publisher["id"] == "ki-05170"
    assert doc.generated == datetime(2026, 3, 1, 5, 0, tzinfo=UTC)
    assert [item["id"] for item in doc.exchange_items] == [
        "https://www.kreis-wesel.de/ki/projekte/rucksack-kita-moers",
        "https://www.kreis-wesel.de/ki/projekte/kim",
    ]
    assert doc.exchange_items[0]["_wesel_intern_nr"] == "RK-2024-07"  # raw: validated in normalize
    assert doc.next_url is None and doc.cursor is None
    assert doc.warnings == []


def test_exchange_changes_page_with_next_link():
    doc = parse(fixture("exchange-changes.json"), url="https://kisync.duisburg.de/api/v1/changes?since=0")
    assert doc.complete is False
    assert doc.next_url == "https://kisync.duisburg.de/api/v1/changes?since=c-1042&limit=500"  # made absolute
    assert doc.cursor == "c-1042"
    assert len(doc.exchange_items) == 3
    assert doc.exchange_positions == [0, 1, 3]  # data[2] is not an object
    assert [(w.where, w.code) for w in doc.warnings] == [("data[2]", "bad_entry")]
    assert doc.exchange_items[1]["deleted"] is True


def test_exchange_envelope_problems():
    base = {"exchange_version": "1.0", "publisher": {"id": "ki-05170", "name": "KI"}, "generated": "2026-03-01T06:00:00Z"}
    with pytest.raises(ParseError, match="data"):
        parse(json.dumps(base).encode())
    with pytest.raises(ParseError, match="publisher"):
        parse(json.dumps({**base, "publisher": {"id": "KI Wesel"}, "data": []}).encode())
    with pytest.raises(ParseError, match="complete"):
        parse(json.dumps({**base, "complete": "yes", "data": []}).encode())
    doc = parse(json.dumps({**base, "data": [], "links": {"next": "javascript:alert(1)"}, "cursor": 5, "extra": 1}).encode())
    assert doc.next_url is None and doc.cursor is None
    assert {w.where for w in doc.warnings} == {"links.next", "cursor", "extra"}


def test_exchange_minor_version_accepted_major_refused():
    body = json.loads(fixture("exchange-snapshot.json"))
    body["exchange_version"] = "1.3"
    assert parse(json.dumps(body).encode()).feed_version == "exchange1.3"
    with pytest.raises(ParseError, match=r"exchange_version 2\.0 is not supported"):
        parse(fixture("exchange-v2.json"))


# -- sniffing and whole-body errors ------------------------------------------------------


@pytest.mark.parametrize("body", [b"", b"   \r\n\t ", b"\xef\xbb\xbf", b"\xef\xbb\xbf  \n"])
def test_empty_body(body):
    with pytest.raises(ParseError, match="empty body"):
        parse(body)


@pytest.mark.parametrize(
    "body",
    [
        fixture("page.html"),
        b"<html><body>Wartungsarbeiten</body></html>",
        b'<?xml version="1.0"?>\n<!-- cms -->\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "x"><html/>',
        b"\n\n  <HTML lang=de><HEAD>",
    ],
)
def test_html_page_is_refused(body):
    with pytest.raises(ParseError, match="an HTML page, not a feed"):
        parse(body)


def test_content_type_is_ignored_format_is_sniffed():
    body = fixture("rss20.xml")
    doc = parse(body, content_type="text/html; charset=iso-8859-1")
    assert doc.format == "rss"
    assert doc.feed_title == "Stadt Musterstadt – Integration"  # not read as Latin-1
    assert parse(fixture("jsonfeed11.json"), content_type="application/rss+xml").format == "jsonfeed"


def test_leading_bom_and_whitespace_are_skipped():
    assert parse(b"\xef\xbb\xbf\n\n  " + fixture("jsonfeed10.json")).format == "jsonfeed"
    assert parse(b"\xef\xbb\xbf\r\n" + fixture("atom.xml")).format == "atom"


def test_invalid_json_reports_line_and_column():
    body = b'{\n  "exchange_version": "1.0",\n  "data": [1,]\n}'
    with pytest.raises(ParseError, match=r"invalid JSON at line 3, column 14"):
        parse(body)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[1, 2]", "an array at the top level"),
        (b'{"title": "x"}', "neither an exchange document"),
        (b'{"version": "https://jsonfeed.org/version/2", "items": []}', "not a JSON Feed 1.x"),
        (b'{"version": "https://jsonfeed.org/version/1.1"}', "without an `items` array"),
        (b'{"version": NaN}', "NaN is not a JSON value"),
        (b"Fatal error: Allowed memory size exhausted", "neither JSON nor XML"),
        (b"\x4c\x6f\xa7\x94\x93\x40", "neither JSON nor XML"),  # '<?xml' in EBCDIC
    ],
)
def test_unusable_json_and_unknown_bodies(body, message):
    with pytest.raises(ParseError, match=message):
        parse(body)


def test_pathological_nesting_is_a_parse_error():
    with pytest.raises(ParseError, match="nested too deeply"):
        parse(b'{"exchange_version": "1.0", "data": ' + b"[" * 200_000 + b"]" * 200_000 + b"}")


def test_deeply_nested_exchange_item_is_a_warning():
    body = json.loads(fixture("exchange-snapshot.json"))
    nested: dict = {}
    for _ in range(100):
        nested = {"x": nested}
    body["data"][1]["_deep"] = nested
    doc = parse(json.dumps(body).encode())
    assert len(doc.exchange_items) == 1
    assert doc.warnings[0].where == "data[1]" and "nested" in doc.warnings[0].message


@pytest.mark.parametrize(
    ("body", "expected", "message"),
    [
        ("exchange-snapshot.json", "feed", "expected a feed, found an exchange document"),
        ("rss20.xml", "exchange", "expected an exchange document, found an RSS 2.0 feed"),
        ("atom.xml", "exchange", "found an Atom 1.0 feed"),
        ("jsonfeed11.json", "exchange", "found a JSON Feed"),
    ],
)
def test_expected_format_mismatch(body, expected, message):
    with pytest.raises(ParseError, match=message):
        parse(fixture(body), expected=expected)
    assert parse(fixture(body), expected="auto")


def test_expected_format_match():
    assert parse(fixture("exchange-snapshot.json"), expected="exchange").format == "exchange"
    assert parse(fixture("rss20.xml"), expected="feed").format == "rss"
    assert parse(fixture("jsonfeed10.json"), expected="feed").format == "jsonfeed"


# -- broken XML ---------------------------------------------------------------------------


def test_malformed_xml_keeps_readable_entries_with_a_warning():
    doc = parse(fixture("malformed-with-entries.xml"))
    assert [e.guid for e in doc.entries] == ["fachtag-2026", "zweiter"]
    assert doc.entries[0].title == "Fachtag\xa0Integration"  # &nbsp; read by the lenient parser
    # A non-URL guid is not a link, even though RSS 2.0 guids default to isPermaLink="true".
    assert doc.entries[0].link is None
    assert [(w.code, w.where) for w in doc.warnings] == [("malformed_xml", "document")]
    assert "undefined entity" in doc.warnings[0].message


def test_bozo_document_without_entries_is_a_parse_error():
    with pytest.raises(ParseError, match="not a readable feed: .*"):
        parse(b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</titl')


def test_xml_that_is_not_a_feed():
    with pytest.raises(ParseError, match=r"not an RSS or Atom feed \(root element <error>\)"):
        parse(fixture("not-a-feed.xml"))


def test_valid_feed_without_entries_is_not_an_error():
    doc = parse(rss("").encode())
    assert doc.entries == [] and doc.warnings == []


# -- hostile XML ----------------------------------------------------------------------------


def test_billion_laughs_is_refused_quickly():
    started = time.perf_counter()
    with pytest.raises(ParseError, match="XML entity declarations are not allowed"):
        parse(fixture("billion-laughs.xml"))
    assert time.perf_counter() - started < 1


@pytest.mark.parametrize(
    "prolog",
    [
        '<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{path}">]>',
        '<!DOCTYPE rss [<!ENTITY % xxe SYSTEM "file://{path}"> %xxe;]>',
        '<!-- <x> "]>" --><?pi ]> ?><!DOCTYPE rss [<?pi ]> ?><!ENTITY xxe SYSTEM "file://{path}">]>',
        '<!doctype rss [<!entity xxe SYSTEM "{path}">]>',
        'Notice: junk before the prolog <!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{path}">]>',
    ],
)
def test_external_entities_are_refused_and_no_file_is_read(tmp_path, prolog):
    secret = tmp_path / "secret.txt"
    secret.write_text("GEHEIM-4711")
    body = rss(
        "<item><title>&xxe;</title><guid>1</guid><description>&xxe;</description></item>", prolog=prolog.format(path=secret)
    )
    with pytest.raises(ParseError, match="XML entity declarations are not allowed") as caught:
        parse(body.encode())
    assert "GEHEIM-4711" not in str(caught.value)


def test_external_dtd_is_not_loaded(tmp_path):
    """A DOCTYPE without declarations of its own passes, but its external DTD is never read."""
    secret = tmp_path / "secret.txt"
    secret.write_text("GEHEIM-4711")
    dtd = tmp_path / "evil.dtd"
    dtd.write_text(f'<!ENTITY xxe SYSTEM "file://{secret}">')
    body = rss(
        "<item><title>T &xxe;</title><guid>1</guid><description>D &xxe;</description></item>",
        prolog=f'<!DOCTYPE rss SYSTEM "file://{dtd}">',
    )
    doc = parse(body.encode())
    assert "GEHEIM-4711" not in repr(doc)


def test_feedparser_gets_a_stream_and_no_url(monkeypatch):
    """feedparser.parse(bytes) would try open(bytes) as a file name; a str URL it would fetch."""
    calls = []
    real = feedparser.parse

    def spy(source, **kwargs):
        calls.append((source, kwargs))
        return real(source, **kwargs)

    monkeypatch.setattr(feedparser, "parse", spy)
    monkeypatch.setattr(xmlfeed, "read_feed", lambda text: None)  # the fast path would read this feed itself
    parse(fixture("rss20.xml"))
    ((source, kwargs),) = calls
    assert hasattr(source, "read") and not isinstance(source, bytes | str)
    assert kwargs["sanitize_html"] is False and kwargs["resolve_relative_uris"] is False
    assert "content-location" not in kwargs["response_headers"]


def test_cdata_mentioning_entity_without_doctype_is_fine():
    body = rss("<item><guid>1</guid><title>XML</title><description><![CDATA[<!ENTITY erklärt>]]></description></item>")
    assert parse(body.encode()).entries[0].guid == "1"


# -- encodings ------------------------------------------------------------------------------

ITEM = "<item><guid>1</guid><title>Fortbildung für Erzieherinnen – „Sprachbildung“</title></item>"
TITLE = "Fortbildung für Erzieherinnen – „Sprachbildung“"


def test_declared_latin1_but_utf8_bytes_reads_utf8():
    body = rss(ITEM, declaration='<?xml version="1.0" encoding="ISO-8859-1"?>').encode("utf-8")
    doc = parse(body)
    assert doc.entries[0].title == TITLE  # not "fÃ¼r"
    assert [w.code for w in doc.warnings] == ["encoding"]
    assert "declares ISO-8859-1 but the bytes are UTF-8" in doc.warnings[0].message


def test_declared_utf8_but_windows_1252_bytes_reads_windows_1252():
    body = rss(ITEM, declaration='<?xml version="1.0" encoding="UTF-8"?>').encode("cp1252")
    doc = parse(body)
    assert doc.entries[0].title == TITLE  # „“ are Windows-1252 bytes 0x84/0x93
    assert [w.code for w in doc.warnings] == ["encoding"]


def test_undeclared_latin1_is_read_as_windows_1252():
    body = rss(ITEM.replace("–", "-").replace("„", '"').replace("“", '"'), declaration="").encode("latin-1")
    assert parse(body).entries[0].title == 'Fortbildung für Erzieherinnen - "Sprachbildung"'


def test_correctly_declared_latin1_has_no_warning():
    item = ITEM.replace("–", "-").replace("„", '"').replace("“", '"')
    doc = parse(rss(item, declaration='<?xml version="1.0" encoding="iso-8859-1"?>').encode("latin-1"))
    assert doc.entries[0].title == 'Fortbildung für Erzieherinnen - "Sprachbildung"'
    assert doc.warnings == []


def test_utf16_with_bom():
    body = rss(ITEM, declaration='<?xml version="1.0" encoding="UTF-16"?>').encode("utf-16")
    doc = parse(body)
    assert doc.entries[0].title == TITLE and doc.warnings == []


def test_unknown_declared_encoding():
    doc = parse(rss(ITEM, declaration='<?xml version="1.0" encoding="x-klingon"?>').encode())
    assert doc.entries[0].title == TITLE
    assert "unknown encoding" in doc.warnings[0].message


def test_json_that_is_not_utf8():
    body = '{"version": "https://jsonfeed.org/version/1.1", "items": [{"id": "1", "title": "Schüler"}]}'.encode("latin-1")
    doc = parse(body)
    assert doc.entries[0].title == "Schüler"
    assert doc.warnings[0].code == "encoding"


# -- dates ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Fri, 27 Nov 2026 14:05:00 +0100", datetime(2026, 11, 27, 13, 5, tzinfo=UTC)),
        ("Fri, 27 Nov 2026 14:05:00 GMT", datetime(2026, 11, 27, 14, 5, tzinfo=UTC)),
        ("Fri, 27 Nov 2026 14:05:00", datetime(2026, 11, 27, 13, 5, tzinfo=UTC)),  # no zone: Berlin, winter
        ("Sun, 05 Jul 2026 14:05:00", datetime(2026, 7, 5, 12, 5, tzinfo=UTC)),  # no zone: Berlin, summer
        ("Fri, 27 Nov 2026 14:05:00 -0000", datetime(2026, 11, 27, 14, 5, tzinfo=UTC)),  # RFC 5322: UTC
        ("Sun, 05 Jul 2026 14:05:00 MESZ", datetime(2026, 7, 5, 12, 5, tzinfo=UTC)),
        ("2026-07-01T10:00:00", datetime(2026, 7, 1, 8, 0, tzinfo=UTC)),
        ("2026-01-15 10:00:00", datetime(2026, 1, 15, 9, 0, tzinfo=UTC)),
        ("2026-07-01T10:00:00Z", datetime(2026, 7, 1, 10, 0, tzinfo=UTC)),
        ("2026-07-01T10:00:00.123456789+02:00", datetime(2026, 7, 1, 8, 0, 0, 123456, tzinfo=UTC)),
        ("2026-07-01", datetime(2026, 6, 30, 22, 0, tzinfo=UTC)),
        ("gestern", None),
        ("", None),
        (None, None),
        ("2026-13-45T00:00:00Z", None),
    ],
)
def test_parse_date(raw, expected):
    assert parse_date(raw) == expected


def test_dates_in_feeds_are_aware_utc():
    doc = parse(rss("<item><guid>1</guid><pubDate>Sun, 05 Jul 2026 10:00:00</pubDate></item>").encode())
    assert doc.entries[0].published == datetime(2026, 7, 5, 8, 0, tzinfo=UTC)
    assert doc.entries[0].published.tzinfo is UTC


def test_sniff_utf16_without_bom():
    assert sniff("<rss/>".encode("utf-16-le")).encoding == "utf-16-le"
    assert sniff('{"a": 1}'.encode("utf-16-be")).kind == "json"


def test_entity_declarations_are_found_whatever_the_encoding():
    """The check runs on decoded text: UTF-7 or UTF-16 cannot hide "<!ENTITY" from it."""
    prolog = '<!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
    for encoding in ("utf-7", "utf-16"):
        body = rss(
            "<item><guid>1</guid><title>&b;</title></item>",
            declaration=f'<?xml version="1.0" encoding="{encoding}"?>',
            prolog=prolog,
        )
        with pytest.raises(ParseError, match="XML entity declarations are not allowed"):
            parse(body.encode(encoding))


def test_truncated_feed_is_read_as_far_as_it_goes():
    """A body cut off mid-element (a dropped connection) keeps what came before, with a warning."""
    doc = parse(fixture("truncated.xml"))
    assert [w.code for w in doc.warnings] == ["malformed_xml"]
    assert len(doc.entries) == 1 and doc.entries[0].guid is None  # too little to track: normalize skips it
