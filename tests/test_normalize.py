"""kisync.normalize: fixture feeds against their expected items, and each rule on its own."""

from __future__ import annotations

import hashlib
import json
import os
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kisync.model import Centre, Item, Tombstone
from kisync.normalize import (
    DEFAULT_RULES,
    ClassificationRules,
    NormalizeContext,
    clean_url,
    feed_item_id,
    html_to_text,
    normalize_document,
    normalize_feed_url,
    sanitize_html,
)
from kisync.normalize.dates import UNDATED
from kisync.normalize.items import normalize_language
from kisync.parse import FeedEntry, ParsedDocument, parse_document
from kisync.vocab import FieldOfAction, Kind

FIXTURES = Path(__file__).parent / "fixtures" / "normalize"
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
OBERHAUSEN = Centre(id="ki-05119", name="Kommunales Integrationszentrum Oberhausen", ars="05119")
# Set KISYNC_UPDATE_FIXTURES=1 to rewrite the expected files after a deliberate change; review the diff.
UPDATE = os.environ.get("KISYNC_UPDATE_FIXTURES") == "1"


def context(feed_url: str = "https://www.example-ki.de/feed.xml", **kwargs) -> NormalizeContext:
    return NormalizeContext(
        source_id="test", feed_url=feed_url, centre=kwargs.pop("centre", OBERHAUSEN), now=kwargs.pop("now", NOW), **kwargs
    )


def normalize(body: bytes | str, ctx: NormalizeContext | None = None, url: str | None = None):
    ctx = ctx or context()
    body = body.encode() if isinstance(body, str) else body
    return normalize_document(parse_document(body, url=url or ctx.feed_url), ctx)


def rss(items: str) -> str:
    channel = f"<channel><title>KI</title><language>de</language>{items}</channel>"
    return f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0">{channel}</rss>'


def dump(item: Item | Tombstone) -> dict:
    return item.model_dump(mode="json", exclude_defaults=True)


# -- fixture feeds next to their expected output ---------------------------------------------

FIXTURE_CONTEXTS = {
    "oberhausen.rss": context("https://www.oberhausen.de/integration/aktuelles/rss.xml"),
    "recklinghausen.atom": context(
        "https://www.kreis-re.de/ki/feed.atom",
        centre=Centre(id="ki-05562", name="Kommunales Integrationszentrum Kreis Recklinghausen"),
        default_kind=Kind.project,
    ),
    "musterkreis.json": context("https://www.musterkreis.de/ki/feed.json", default_fields=[FieldOfAction.schule]),
    "wesel-exchange.json": context("https://www.kreis-wesel.de/ki/kisync/snapshot.json"),
}


@pytest.mark.parametrize("name", sorted(FIXTURE_CONTEXTS))
def test_fixture_feed_matches_expected_output(name):
    batch = normalize((FIXTURES / name).read_bytes(), FIXTURE_CONTEXTS[name])
    actual = {
        "items": [dump(item) for item in batch.items],
        "warnings": [{"where": w.where, "code": w.code, "message": w.message} for w in batch.warnings],
    }
    expected_path = FIXTURES / f"{Path(name).stem}.expected.json"
    if UPDATE:
        expected_path.write_text(json.dumps(actual, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    if not expected_path.exists():
        pytest.fail(f"{expected_path.name} is missing: run with KISYNC_UPDATE_FIXTURES=1 and review what it writes")
    assert actual == json.loads(expected_path.read_text(encoding="utf-8"))


# -- ids ----------------------------------------------------------------------------------------


def test_id_recipe_is_reproducible_by_hand():
    expected = "urn:kisync:feed:" + hashlib.sha256(b"https://example.org/feed\nabc").hexdigest()[:32]
    assert feed_item_id("https://example.org/feed", "abc", None) == expected
    assert feed_item_id("HTTPS://Example.ORG:443/feed?utm_source=x", "  abc ", "https://other/") == expected


@pytest.mark.parametrize(
    "variant",
    [
        "https://example.org/feed",
        "HTTPS://Example.ORG:443/feed?utm_source=x",
        "https://EXAMPLE.org/feed#section",
        "https://example.org:443/feed?fbclid=1&utm_medium=mail",
    ],
)
def test_ids_are_the_same_across_feed_url_variants(variant):
    body = rss("<item><guid>ki-2026-1</guid><title>A</title></item><item><link>/news/b</link><title>B</title></item>")
    reference = [item.id for item in normalize(body, context("https://example.org/feed")).items]
    assert [item.id for item in normalize(body, context(variant)).items] == reference
    assert all(re.fullmatch(r"urn:kisync:feed:[0-9a-f]{32}", item_id) for item_id in reference)


def test_ids_differ_for_different_feeds_and_query_parameters_that_matter():
    assert normalize_feed_url("https://example.org/feed?page=2") != normalize_feed_url("https://example.org/feed")
    assert feed_item_id("https://a.example/feed", "1", None) != feed_item_id("https://b.example/feed", "1", None)


def test_ids_are_stable_across_parses_and_fetches():
    body = (FIXTURES / "oberhausen.rss").read_bytes()
    first = normalize(body, FIXTURE_CONTEXTS["oberhausen.rss"]).items
    later = normalize(body, context("https://www.oberhausen.de/integration/aktuelles/rss.xml", now=NOW + timedelta(days=3))).items
    assert [i.id for i in first] == [i.id for i in later]
    assert first == later  # nothing depends on the fetch time for dated entries


def test_link_is_the_key_without_guid_and_tracking_does_not_change_it():
    a = feed_item_id("https://example.org/feed", None, "https://example.org/news/1?utm_source=x")
    b = feed_item_id("https://example.org/feed", None, "/news/1")
    assert a == b
    # Anchors can tell entries of one page apart, so they stay part of the key.
    assert feed_item_id("https://example.org/feed", None, "/termine#a") != feed_item_id(
        "https://example.org/feed", None, "/termine#b"
    )


def test_entry_without_guid_and_link_is_skipped_with_a_warning():
    batch = normalize(rss("<item><title>Ohne alles</title></item><item><guid>ok</guid><title>Gut</title></item>"))
    assert [item.title for item in batch.items] == ["Gut"]
    assert [(w.where, w.code) for w in batch.warnings if w.code == "bad_entry"] == [("entry 0", "bad_entry")]


# -- URLs ----------------------------------------------------------------------------------------


def test_relative_urls_are_made_absolute_and_tracking_dropped():
    body = rss(
        "<item><guid>1</guid><title>T</title><link>/news/eins?utm_source=newsletter&amp;seite=2#teil</link>"
        '<description><![CDATA[<p><a href="../kontakt?utm_medium=email&amp;gclid=9">Kontakt</a> '
        '<img src="bilder/a.jpg" alt="A"> <a href="//cdn.example.org/x.pdf">PDF</a></p>]]></description></item>'
    )
    (item,) = normalize(body, context("https://www.ki.example/integration/feed.xml")).items
    assert item.url == "https://www.ki.example/news/eins?seite=2#teil"
    assert 'href="https://www.ki.example/kontakt"' in item.content_html  # relative to the entry's page
    assert 'src="https://www.ki.example/news/bilder/a.jpg"' in item.content_html
    assert 'href="https://cdn.example.org/x.pdf"' in item.content_html


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://x.example/a?utm_source=1&b=2&UTM_MEDIUM=3&fbclid=4", "https://x.example/a?b=2"),
        ("https://x.example/a?mc_cid=1&mc_eid=2&_hsenc=3&_hsmi=4&yclid=5&igshid=6&gclid=7", "https://x.example/a"),
        ("https://x.example/a?pk_campaign=news&mtm_source=x&id=1", "https://x.example/a?id=1"),
        ("https://x.example/a?b=%20c&d=e+f#frag", "https://x.example/a?b=%20c&d=e+f#frag"),  # the rest as written
        ("HTTP://X.Example:80", "http://x.example/"),
        ("https://x.example:8443/a", "https://x.example:8443/a"),
        ("javascript:alert(1)", None),
        ("data:text/html;base64,PHNjcmlwdD4=", None),
        ("mailto:ki@x.example", None),  # not a web URL for `url`
        ("ftp://x.example/file", None),
        ("https://x.example/Flyer 2026.pdf", "https://x.example/Flyer%202026.pdf"),
        ("https://x.example:notaport/", None),
        ("https://x.example/\x00", None),
    ],
)
def test_clean_url(url, expected):
    assert clean_url(url) == expected


def test_non_http_link_is_dropped_from_url_but_entry_kept():
    (item,) = normalize(rss("<item><guid>1</guid><title>T</title><link>javascript:alert(1)</link></item>")).items
    assert item.url is None


# -- sanitizing -----------------------------------------------------------------------------------

XSS = (
    '<p onclick="steal()" style="position:fixed">Text <a href="javascript:alert(1)">js</a> '
    '<a href="JaVaScRiPt&#58;alert(2)">js2</a> <a href=" java\tscript:alert(3)">js3</a>'
    '<img src="x" onerror="alert(4)"><img src="data:image/svg+xml;base64,PHN2Zz4=" alt="d"><img src="javascript:alert(10)">'
    '<svg onload="alert(5)"><circle r="1"/></svg><iframe src="https://evil.example/"></iframe>'
    '<script>alert(6)</script><style>body{display:none}</style><object data="x.swf"></object>'
    '<a href="vbscript:msgbox(7)">vb</a><form action="https://evil.example/"><input name="pw"></form>'
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(8)></style></mglyph></table></mtext></math>"
    '<a href="https://ok.example/" target="_blank" onmouseover="alert(9)">ok</a></p>'
)
_FORBIDDEN = re.compile(
    r"<script|javascript:|vbscript:|data:|<iframe|<svg|<object|<style|<form|<input|<math|\son\w+\s*=|style=", re.I
)


def assert_safe(item: Item) -> None:
    """Structural: plain text has no markup, content_html only allowed tags and attributes."""
    for text in (item.title, item.summary or ""):
        assert not re.search(r"<[a-zA-Z/!?]", text), text
    assert_safe_html(item.content_html or "")
    assert item.url is None or re.match(r"https?://", item.url)


def assert_clean(item: Item) -> None:
    """For the XSS payload: not even a trace of it, anywhere."""
    assert_safe(item)
    for value in (item.title, item.summary or "", item.content_html or "", item.url or ""):
        assert not _FORBIDDEN.search(value), value


def xss_documents() -> dict[str, str]:
    escaped = XSS.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    return {
        "rss": rss(
            f"<item><guid>1</guid><title>T&lt;script&gt;alert(0)&lt;/script&gt;</title><description><![CDATA[{XSS}]]></description></item>"
        ),
        "atom": (
            '<feed xmlns="http://www.w3.org/2005/Atom"><id>x</id><title>t</title><updated>2026-01-01T00:00:00Z</updated>'
            f'<entry><id>1</id><title type="html">{escaped}</title><updated>2026-01-01T00:00:00Z</updated>'
            f'<summary type="html">{escaped}</summary><content type="html">{escaped}</content></entry></feed>'
        ),
        "jsonfeed": json.dumps(
            {
                "version": "https://jsonfeed.org/version/1.1",
                "items": [{"id": "1", "title": XSS, "content_html": XSS, "summary": XSS}],
            }
        ),
        "exchange": json.dumps(
            {
                "exchange_version": "1.0",
                "publisher": {"id": "ki-05119", "name": "KI"},
                "generated": "2026-01-01T00:00:00Z",
                "data": [
                    {
                        "id": "https://ki.example/p/1",
                        "kind": "project",
                        "origin": {"id": "ki-05119", "name": "KI"},
                        "created": "2026-01-01T00:00:00Z",
                        "modified": "2026-01-01T00:00:00Z",
                        "title": '<b onclick="x()">Titel</b><script>alert(1)</script>',  # titles are at most 500 characters
                        "summary": XSS,
                        "content_html": XSS,
                    }
                ],
            }
        ),
    }


@pytest.mark.parametrize("fmt", ["rss", "atom", "jsonfeed", "exchange"])
def test_xss_is_removed_in_every_format(fmt):
    (item,) = normalize(xss_documents()[fmt]).items
    assert_clean(item)
    assert 'href="https://ok.example/"' in item.content_html
    assert 'rel="noopener noreferrer"' in item.content_html
    assert "target=" not in item.content_html
    assert "Text" in item.content_html and "Text" in item.summary


def test_sanitize_keeps_the_allowlist():
    html = (
        "<h2>Ü</h2><h3>3</h3><h4>4</h4><h5>5</h5><h6>6</h6><br>"
        "<p><strong>s</strong> <em>e</em> <b>b</b> <i>i</i> <u>u</u> <s>s</s> <sub>1</sub><sup>2</sup></p>"
        "<blockquote>q</blockquote><pre><code>c</code></pre><hr><ul><li>a</li></ul><ol><li>b</li></ol>"
        '<dl><dt>t</dt><dd>d</dd></dl><table><caption>c</caption><thead><tr><th colspan="2">h</th></tr></thead>'
        '<tbody><tr><td rowspan="2">x</td></tr></tbody><tfoot><tr><td>f</td></tr></tfoot></table>'
        '<a href="mailto:ki@x.example">m</a><img src="https://x.example/a.png" alt="A" width="640" height="360">'
    )
    cleaned = sanitize_html(html)
    for tag in ALLOWED_TAGS - {"a", "img"}:
        assert f"<{tag}" in cleaned, tag
    assert 'colspan="2"' in cleaned and 'rowspan="2"' in cleaned
    assert '<a href="mailto:ki@x.example" rel="noopener noreferrer">m</a>' in cleaned
    assert '<img src="https://x.example/a.png" alt="A" width="640" height="360">' in cleaned


def test_sanitize_strips_other_markup_but_keeps_its_text():
    assert sanitize_html("<h1>Titel</h1><div>a</div><div>b</div><span class=x>c</span>") == "<h2>Titel</h2> a  b c"
    assert sanitize_html('<img src="mailto:x@y.z"><img src="/a.png" width="100%">', "https://k.example/") == (
        '<img><img src="https://k.example/a.png">'
    )


def test_plain_text_summary_and_title():
    text = html_to_text("<p>Eltern &amp; Kinder</p><p>lernen&nbsp;gemeinsam.</p><script>x()</script>", 500)
    assert text == "Eltern & Kinder lernen gemeinsam."
    assert html_to_text("&amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt;Rest", 500) == "Rest"
    long = html_to_text("<p>" + "Sprachförderung " * 100 + "</p>", 500)
    assert len(long) <= 500 and long.endswith("Sprachförderung…")


def test_feed_summary_is_cut_at_a_word_boundary():
    body = rss(f"<item><guid>1</guid><title>T</title><description>{'Wort ' * 300}</description></item>")
    (item,) = normalize(body).items
    assert len(item.summary) <= 500 and item.summary.endswith("Wort…")
    assert item.content_html.count("Wort") == 300  # the content is not cut


def test_titles_are_plain_text():
    body = rss("<item><guid>1</guid><title>Kita &amp;amp; Schule: &lt;b&gt;neu&lt;/b&gt;</title></item>")
    assert normalize(body).items[0].title == "Kita & Schule: neu"


def test_entry_without_title_gets_one_from_its_text():
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "items": [{"id": "1", "content_text": "Kurzmeldung: " + "viel " * 50}, {"id": "2"}],
    }
    first, second = normalize(json.dumps(feed)).items
    assert first.title.startswith("Kurzmeldung: viel") and len(first.title) <= 120
    assert second.title == "Ohne Titel"


# -- dates ------------------------------------------------------------------------------------------


def jsonfeed_item(**fields) -> str:
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "items": [{"id": "1", "title": "T", **fields}]})


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-07-01T10:00:00", datetime(2026, 7, 1, 8, 0, tzinfo=UTC)),  # summer time, +02:00
        ("2026-01-15T10:00:00", datetime(2026, 1, 15, 9, 0, tzinfo=UTC)),  # winter time, +01:00
        ("2026-03-29T01:30:00", datetime(2026, 3, 29, 0, 30, tzinfo=UTC)),  # last hour before the switch
        ("2026-07-01T10:00:00+02:00", datetime(2026, 7, 1, 8, 0, tzinfo=UTC)),
    ],
)
def test_naive_dates_are_berlin_time(raw, expected):
    (item,) = normalize(jsonfeed_item(date_published=raw)).items
    assert item.created == item.modified == expected


def test_rss_naive_dates_are_berlin_time():
    (summer, winter) = normalize(
        rss(
            "<item><guid>s</guid><title>S</title><pubDate>Wed, 01 Jul 2026 10:00:00</pubDate></item>"
            "<item><guid>w</guid><title>W</title><pubDate>Thu, 15 Jan 2026 10:00:00</pubDate></item>"
        )
    ).items
    assert summer.modified == datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
    assert winter.modified == datetime(2026, 1, 15, 9, 0, tzinfo=UTC)


def test_created_from_published_modified_from_updated():
    (item,) = normalize(jsonfeed_item(date_published="2026-03-01T09:00:00Z", date_modified="2026-03-05T09:00:00Z")).items
    assert item.created == datetime(2026, 3, 1, 9, tzinfo=UTC)
    assert item.modified == datetime(2026, 3, 5, 9, tzinfo=UTC)
    (item,) = normalize(jsonfeed_item(date_modified="2026-03-05T09:00:00Z")).items
    assert item.created == item.modified == datetime(2026, 3, 5, 9, tzinfo=UTC)
    # published after updated: created is never after modified
    (item,) = normalize(jsonfeed_item(date_published="2026-03-09T09:00:00Z", date_modified="2026-03-05T09:00:00Z")).items
    assert item.created == item.modified == datetime(2026, 3, 5, 9, tzinfo=UTC)


def test_future_dates_of_feed_entries_are_clamped_with_a_warning():
    batch = normalize(jsonfeed_item(date_published="2026-03-01T09:00:00Z", date_modified="2099-01-01T00:00:00Z"))
    (item,) = batch.items
    assert item.modified == datetime(2026, 11, 28, tzinfo=UTC)  # the start of NOW's day, not in the future
    assert item.modified <= NOW
    assert item.created == datetime(2026, 3, 1, 9, tzinfo=UTC)
    assert [w.code for w in batch.warnings] == ["future_date"]
    # Less than a day ahead is a clock skew the merge tolerates: left alone.
    (item,) = normalize(jsonfeed_item(date_published=(NOW + timedelta(hours=20)).isoformat())).items
    assert item.modified == NOW + timedelta(hours=20)


def test_future_modified_of_exchange_items_is_left_to_the_merge():
    doc = json.loads(xss_documents()["exchange"])
    doc["data"][0]["modified"] = "2099-01-01T00:00:00Z"
    (item,) = normalize(json.dumps(doc)).items
    assert item.modified == datetime(2099, 1, 1, tzinfo=UTC)


def test_undated_entries_get_a_date_that_is_stable_across_fetches():
    body = rss("<item><guid>1</guid><title>Ohne Datum</title></item>")
    first = normalize(body, context(now=NOW))
    later = normalize(body, context(now=NOW + timedelta(days=30)))
    assert first.items[0].modified == first.items[0].created == UNDATED
    assert first.items == later.items
    assert [w.code for w in first.warnings] == ["undated"]


# -- classification -------------------------------------------------------------------------------


def classified(title: str, description: str = "", categories: tuple[str, ...] = (), **ctx) -> Item:
    cats = "".join(f"<category>{c}</category>" for c in categories)
    body = rss(f"<item><guid>1</guid><title>{title}</title><description>{description}</description>{cats}</item>")
    (item,) = normalize(body, context(**ctx)).items
    return item


def test_classification_of_a_kita_entry():
    item = classified(
        "Neue Griffbereit-Gruppe im Familienzentrum Sterkrade",
        "Eltern mit Kindern von ein bis drei Jahren treffen sich wöchentlich.",
    )
    assert item.fields_of_action == [FieldOfAction.elementarbereich]
    assert item.audience == ["eltern", "kinder"]
    assert item.programmes == ["griffbereit"]
    record = item.model_extra["_classification"]
    assert record["fields_of_action"] == [{"value": "elementarbereich", "keyword": "Griffbereit*"}]
    assert record["programmes"] == [{"value": "griffbereit", "keyword": "Griffbereit*"}]
    assert {"value": "eltern", "keyword": "Eltern*"} in record["audience"]


def test_classification_of_a_school_and_transition_entry():
    item = classified(
        "Ausbildungsmesse: Berufsorientierung für Neuzugewanderte",
        "Im Rahmen von KAoA bereiten die Schulen ihre Schülerinnen und Schüler vor. Lehrkräfte begleiten.",
    )
    assert item.fields_of_action == [FieldOfAction.schule, FieldOfAction.uebergang_schule_beruf]
    assert item.programmes == ["kaoa"]
    assert item.audience == ["neuzugewanderte", "lehrkraefte"]


def test_classification_of_a_cross_cutting_entry():
    item = classified(
        "KOMM-AN NRW: Ehrenamtliche Begegnungsprojekte gesucht",
        "Migrantenorganisationen, die sich für Geflüchtete engagieren, können Mittel beantragen.",
    )
    assert item.fields_of_action == [FieldOfAction.querschnitt]
    assert item.programmes == ["komm_an"]
    assert item.audience == ["gefluechtete", "ehrenamtliche", "migrantenorganisationen"]
    assert item.model_extra["_classification"]["fields_of_action"][0]["value"] == "querschnitt"


def test_whole_words_avoid_false_friends():
    item = classified("Neues Übergangswohnheim eröffnet", "Schulungen für Mitarbeitende, Kontakt: Frau Yilmaz.")
    assert item.fields_of_action == [FieldOfAction.querschnitt]  # the fallback, nothing matched
    assert item.model_extra["_classification"]["fields_of_action"] == [{"value": "querschnitt", "default": "fallback"}]
    assert item.audience == []


def test_category_codes_count_directly():
    item = classified("Neuigkeiten", categories=("schule", "rucksack_kita", "eltern"))
    assert item.fields_of_action == [FieldOfAction.schule]
    assert item.programmes == ["rucksack_kita"] and item.audience == ["eltern"]
    assert item.model_extra["_classification"]["programmes"] == [{"value": "rucksack_kita", "category": "rucksack_kita"}]


def test_source_defaults_apply_when_no_rule_matches():
    item = classified("Sommerfest im Rathaus", default_fields=[FieldOfAction.schule], default_kind=Kind.event)
    assert item.kind == Kind.event
    assert item.fields_of_action == [FieldOfAction.schule]
    assert item.model_extra["_classification"]["fields_of_action"] == [{"value": "schule", "default": "source"}]
    # ...but not when a rule matches
    assert classified("Kita-Fest", default_fields=[FieldOfAction.schule]).fields_of_action == [FieldOfAction.elementarbereich]
    assert classified("Sommerfest").kind == Kind.news


def test_custom_rules():
    rules = ClassificationRules.model_validate(
        {
            "fields_of_action": [{"value": "schule", "keywords": ["*schule"]}],
            "programmes": [{"value": "eigenes", "keywords": ["Lesepat*"]}],
        }
    )
    item = classified("Lesepatenschaft an der Grundschule", rules=rules)
    assert item.fields_of_action == [FieldOfAction.schule]
    assert item.programmes == ["eigenes"]
    with pytest.raises(ValueError):
        ClassificationRules.model_validate({"fields_of_action": [{"value": "kita", "keywords": ["Kita"]}]})
    with pytest.raises(ValueError):
        ClassificationRules.model_validate({"audience": [{"value": "x", "keywords": ["**"]}]})


def test_exchange_items_keep_their_own_classification():
    doc = json.loads((FIXTURES / "wesel-exchange.json").read_text())
    (item, _tombstone) = normalize(json.dumps(doc)).items
    assert item.fields_of_action == [FieldOfAction.elementarbereich]
    assert "_classification" not in item.model_extra


# -- origin, language, attachments --------------------------------------------------------------


def test_feed_items_get_the_source_centre_as_origin_and_no_via():
    (item,) = normalize(rss("<item><guid>1</guid><title>T</title></item>")).items
    assert item.origin == OBERHAUSEN and item.via == []


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("de-de", "de-DE"),
        ("DE", "de"),
        ("de_DE", "de-DE"),
        ("sr-latn-rs", "sr-Latn-RS"),
        ("tr", "tr"),
        (None, "de"),
        ("", "de"),
        ("deutsch!", "de"),
        ("x", "de"),
        ("de-", "de"),
        ("123", "de"),
    ],
)
def test_normalize_language(tag, expected):
    assert normalize_language(tag) == expected


def test_attachments_from_enclosures():
    body = rss(
        "<item><guid>1</guid><title>T</title><link>https://k.example/n/1</link>"
        '<enclosure url="/files/flyer.pdf?utm_source=x" length="1024" type="application/pdf"/>'
        '<enclosure url="https://k.example/a.mp3" length="12 KB" type="Audio MP3"/>'
        '<enclosure url="javascript:alert(1)" type="text/html"/></item>'
    )
    batch = normalize(body)
    (item,) = batch.items
    assert [a.model_dump(exclude_none=True) for a in item.attachments] == [
        {"url": "https://k.example/files/flyer.pdf", "media_type": "application/pdf", "size": 1024},
        {"url": "https://k.example/a.mp3"},
    ]
    assert [w.code for w in batch.warnings if w.code != "undated"] == ["bad_attachment"]


# -- exchange items -----------------------------------------------------------------------------------


def test_invalid_exchange_items_are_warnings_naming_index_id_and_field():
    body = Path(__file__).parent.parent.joinpath("examples", "broken", "invalid-items.json").read_bytes()
    batch = normalize(body, context("https://www.kreis-viersen.de/ki/snapshot.json"))
    invalid = {w.where: w.message for w in batch.warnings if w.code == "invalid_item"}
    assert set(invalid) == {"data[1]", "data[2]", "data[3]", "data[4]", "data[5]"}
    assert "griffbereit-nettetal" in invalid["data[1]"] and "title: Field required" in invalid["data[1]"]
    assert "kind:" in invalid["data[2]"]
    assert "start_date:" in invalid["data[3]"]
    assert "titel" in invalid["data[4]"]
    assert "fields_of_action.1:" in invalid["data[5]"]
    assert len(batch.items) == 4  # data[0], [6], [7] and the duplicate [8] survive
    codes = [w.code for w in batch.warnings]
    assert "suspicious" in codes and "duplicate_id" in codes


def test_exchange_warnings_use_positions_in_data():
    batch = normalize((Path(__file__).parent / "fixtures" / "parse" / "exchange-changes.json").read_bytes())
    assert [w.where for w in batch.warnings] == ["data[3]"]  # data[2] (not an object) is the parser's
    assert [type(i) for i in batch.items] == [Item, Tombstone]
    assert batch.items[0].via == ["ki-05170"]  # relay bookkeeping is left as it came


def test_exchange_items_are_cleaned_but_otherwise_kept():
    batch = normalize((FIXTURES / "wesel-exchange.json").read_bytes())
    item, tombstone = batch.items
    assert item.title == "Rucksack KiTa in Moerser Familienzentren"
    assert item.summary == "Eltern treffen sich wöchentlich in ihrer Kita & stärken die Familiensprache."
    assert item.url == "https://www.kreis-wesel.de/ki/projekte/rucksack-kita-moers"
    assert 'href="https://www.kreis-wesel.de/ki/rucksack/kontakt"' in item.content_html
    assert item.contact.url == "https://www.kreis-wesel.de/ki/team"
    assert item.attachments[0].url == "https://www.kreis-wesel.de/ki/flyer.pdf"
    assert item.model_extra["_wesel_intern_nr"] == "RK-2024-07"
    assert item.modified == datetime(2026, 2, 3, 10, 20, tzinfo=UTC)
    assert tombstone.deleted is True
    assert [w.where for w in batch.warnings] == ["data[2]"]  # "Kita" is no field of action


def test_exchange_item_whose_title_is_only_markup_is_skipped():
    doc = json.loads(xss_documents()["exchange"])
    doc["data"][0]["title"] = "<script>alert(1)</script>"
    batch = normalize(json.dumps(doc))
    assert batch.items == []
    assert batch.warnings[0].where == "data[0].title"


# -- properties -----------------------------------------------------------------------------------------

# fmt: off
_FRAGMENTS = st.sampled_from(
    [
        "<p>", "</p>", "<a href='", "<a href=\"", "javascript:alert(1)", "JaVaScRiPt:", "java\tscript:", "data:text/html,x",
        "'>", "\">", "</a>", "<script>", "</script>", "<img src=x onerror=alert(1)>", "<svg onload=alert(1)>", "<iframe>",
        "<style>", "<table>", "<tr>", "<td>", "<li>", "<h1>", "<div>", "<b>", "</i>", "&amp;", "&lt;", "&gt;", "&#x6a;",
        "&", "<", ">", "\"", "'", " ", "\n", "x", "ü", "<!--", "-->", "<![CDATA[", "]]>", " onclick=", " style=",
        "<math>", "<form>", "<object>", "<body onload=x>", "<p onmouseover=\"x\">", "/relativ", "https://k.example/?utm_source=1",
    ]
)
# fmt: on
HTMLISH = st.one_of(st.text(max_size=300), st.lists(_FRAGMENTS, max_size=40).map("".join))


class _Attributes(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes += [(tag, name, value) for name, value in attrs]


ALLOWED_TAGS = {
    "p", "br", "strong", "em", "b", "i", "u", "s", "sub", "sup", "blockquote", "code", "pre", "h2", "h3", "h4", "h5",
    "h6", "hr", "ul", "ol", "li", "dl", "dt", "dd", "table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption", "a", "img",
}  # fmt: skip


def assert_safe_html(cleaned: str) -> None:
    assert "<script" not in cleaned.lower()
    parser = _Attributes()
    parser.feed(cleaned)
    parser.close()
    for tag, name, value in parser.attributes:
        # No event handlers or styles at all; URLs only http(s) (and mailto on links).
        assert name in {"href", "src", "alt", "width", "height", "colspan", "rowspan", "rel"}, (tag, name)
        if name in ("href", "src"):
            assert re.match(r"https?://|mailto:" if name == "href" else r"https?://", value or ""), value
            # "javascript:" may only survive inside an http(s) path ("https://k.example/a/0javascript:"), harmless there.
            assert urlsplit(value or "").scheme in ("http", "https", "mailto"), value
    assert set(parser.tags) <= ALLOWED_TAGS
    # A " on…=" can only be text, never an attribute: text has its "<" escaped.
    assert not re.search(r"<[^>]*\son\w+\s*=", cleaned, re.I)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(HTMLISH)
def test_sanitize_never_lets_scripts_through(text):
    """No <script, no on…= attribute, no javascript: (or any other non-http) URL, whatever the input."""
    cleaned = sanitize_html(text, "https://k.example/a/")
    assert_safe_html(cleaned)
    assert sanitize_html(cleaned, "https://k.example/a/") == cleaned


@settings(max_examples=300, deadline=None)
@given(HTMLISH, st.integers(min_value=1, max_value=600))
def test_plain_text_is_a_fixed_point(text, limit):
    once = html_to_text(text, limit)
    assert len(once) <= limit
    assert html_to_text(once, limit) == once
    assert not re.search(r"<[a-zA-Z/!?]", once)


PLAIN_TEXT = st.text(
    alphabet=st.sampled_from(
        list("ab äöüß\"'=/;:.…-") + list("\t\r\n\x00\x01\x0b\x0c\x1f\x7f\x85\x9f\xa0\u2028\u200b\u3000\ufeff\uffff\U0001f600")
    ),
    max_size=40,
)


@settings(max_examples=500, deadline=None)
@given(PLAIN_TEXT, st.integers(min_value=1, max_value=60))
def test_plain_text_without_markup_takes_the_short_way_to_the_same_result(text, limit):
    """html_to_text skips the sanitizer for text without tags or entities; the result must be what the passes make."""
    from kisync.normalize import html as html_module

    full = text
    for _ in range(html_module._PASSES):
        once = html_module._text_pass(full, limit)
        if once == full:
            break
        full = once
    assert html_to_text(text, limit) == full


@pytest.mark.parametrize(
    "url",
    ["https://x.example/a/../b?utm_source=1&c=2#f", "HTTPS://X.example/a;p?q", "http://x.example", "http://x.example/p?#",
     "https://u:pw@x.example:443/a b", "http://[::1]:8080/x", "https://x.example:99999/"],
)
def test_absolute_urls_clean_the_same_with_or_without_a_base(url):
    """clean_url skips urljoin for an absolute http(s) URL: it must give what resolving it would."""
    from urllib.parse import urljoin

    assert clean_url(url, "https://base.example/dir/page") == clean_url(urljoin("https://base.example/dir/page", url))
    assert clean_url(url, "http://base.example/") == clean_url(urljoin("http://base.example/", url))


URL_PIECES = st.lists(
    st.sampled_from(["a", "B", "/", "//", ".", "..", "?", "#", ";", ":", "=", "&", "%20", " ", "utm_source=1", "x.pdf", "@", "\\",
                     "é", "[", "]", "~", "+", "'"]),
    min_size=1, max_size=8,
).map("".join)
BASES = st.sampled_from([
    "https://h.example/p/q", "https://h.example", "http://H.example:80/a/b/", "https://h.example/a;x/b;p?q=1#f",
    "https://h.example/a//b/c", "https://h.example/a/./b", "ftp://x/y", "https://u@h.example/d/", "HTTPS://h.example/A/B",
    "https://[::1]:8/a", "https://h.example/a b/c",
])


@settings(max_examples=1000, deadline=None)
@given(URL_PIECES, BASES)
def test_relative_urls_resolve_as_urljoin_resolves_them(value, base):
    """clean_url resolves plain relative links by concatenation; urljoin is the reference."""
    from urllib.parse import urljoin

    from kisync.normalize import urls

    fast = urls._clean_url(value, base, urls.WEB_SCHEMES, True)
    original = urls._join
    try:
        urls._join = lambda base, value: urljoin(base, value)
        reference = urls._clean_url(value, base, urls.WEB_SCHEMES, True)
    finally:
        urls._join = original
    assert fast == reference
    # clean_url remembers a result as clean for itself: that must be what cleaning it gives.
    if fast is not None:
        assert urls._clean_url(fast, base, urls.WEB_SCHEMES, True) == fast


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    title=HTMLISH,
    summary=st.one_of(st.none(), HTMLISH),
    content=st.one_of(st.none(), HTMLISH),
    link=st.sampled_from([None, "/news/1?utm_source=x", "https://k.example/n#a", "javascript:x"]),
    categories=st.lists(st.sampled_from(["Kita", "schule", "KAoA", "<b>Eltern</b>", "  ", "x" * 150]), max_size=4),
    language=st.sampled_from([None, "de-de", "tr", "??"]),
)
def test_normalizing_the_output_again_changes_nothing(title, summary, content, link, categories, language):
    entry = FeedEntry(
        guid="g-1",
        link=link,
        title=title,
        summary=summary,
        content=content,
        published=datetime(2026, 7, 1, 8, tzinfo=UTC),
        updated=None,
        categories=categories,
        language=language,
    )
    ctx = context("https://k.example/feed")
    first = normalize_document(ParsedDocument(format="rss", entries=[entry]), ctx)
    assert len(first.items) == 1
    (item,) = first.items
    assert_safe(item)
    # The output as an exchange item (as another node would receive it) normalizes to itself.
    again = normalize_document(ParsedDocument(format="exchange", exchange_items=[item.model_dump(mode="json")]), ctx)
    assert again.items == [item]
    assert again.warnings == []
    # And the same entry normalized twice gives the same item.
    assert normalize_document(ParsedDocument(format="rss", entries=[entry]), ctx).items == [item]


def test_default_rules_compile_to_one_scanner_for_every_dimension():
    assert set(DEFAULT_RULES._compiled) == {"fields_of_action", "audience", "programmes"}
    assert all(compiled.at_word_start is not None for compiled in DEFAULT_RULES._compiled.values())
    assert DEFAULT_RULES._scanned == ("fields_of_action", "audience", "programmes")
    assert DEFAULT_RULES._scanner.groups == 3


def test_overlong_content_is_cut_to_the_model_limit_and_stays_valid_html():
    html = "<p>" + "Wort <b>fett</b> <a href='/l'>Link</a> " * 8000 + "</p>"
    batch = normalize(jsonfeed_item(content_html=html, date_published="2026-03-01T09:00:00Z"))
    (item,) = batch.items
    assert 190_000 < len(item.content_html) <= 200_000
    assert item.content_html.endswith("</p>")
    assert [w.code for w in batch.warnings] == ["content_cut"]
