"""The pure parts of the HTML pages: content rebuilt from the allowlist, languages, dates, health words, charts."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kisync.config import SourceDefaults
from kisync.normalize.html import sanitize_html
from kisync.sources import Source
from kisync.web.errors import InvalidParameter
from kisync.web.html.charts import MAX_BAR_PERCENT, bar_chart
from kisync.web.html.content import display_html
from kisync.web.html.frame import german_problem
from kisync.web.html.health import health, plain_error
from kisync.web.html.pages import describe, feed_links, filter_query
from kisync.web.html.views import (
    attachment_note,
    de_date,
    de_datetime,
    iso,
    item_path,
    language_name,
    period_start_word,
    text_direction,
    text_language,
)
from kisync.web.params import ItemFilter

# -- content -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("<p>Text <strong>fett</strong></p>", "<p>Text <strong>fett</strong></p>"),
        # Headings one level down, below the page's h2.
        ("<h2>Ziele</h2><h6>klein</h6>", "<h3>Ziele</h3><h6>klein</h6>"),
        # Images are links: the page loads nothing from elsewhere.
        (
            '<p><img src="https://ki.example/a.png" alt="Gruppe"></p>',
            '<p><a href="https://ki.example/a.png" rel="noopener noreferrer nofollow">Bild: Gruppe</a></p>',
        ),
        ('<a href="https://ki.example/x"><img src="https://ki.example/a.png" alt="Logo"></a>', None),
        # A link without text gets its address.
        (
            '<a href="https://ki.example/"></a>',
            '<a href="https://ki.example/" rel="noopener noreferrer nofollow">https://ki.example/</a>',
        ),
        (
            '<a href="mailto:ki@ki.example"></a>',
            '<a href="mailto:ki@ki.example" rel="noopener noreferrer nofollow">ki@ki.example</a>',
        ),
        # Open elements are closed; a stray end tag does nothing.
        ("<table><tr><td>Zelle", "<table><tr><td>Zelle</td></tr></table>"),
        ("<p>a</b></p>", "<p>a</p>"),
        ('<td colspan="2" rowspan="x">z</td>', '<td colspan="2">z</td>'),
    ],
)
def test_content_is_rebuilt_from_the_allowlist(stored, shown):
    result = display_html(stored)
    if shown is not None:
        assert result == shown
    else:
        assert result == '<a href="https://ki.example/x" rel="noopener noreferrer nofollow">Logo</a>'


HOSTILE = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "<svg onload=alert(1)><script>alert(1)</script></svg>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href=" JaVaScRiPt:alert(1)">x</a>',
    '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    '<p style="x" onclick="alert(1)" class="c" id="i">p</p>',
    "<iframe srcdoc='<script>alert(1)</script>'></iframe>",
    '<math><mtext><table><mglyph><style><img src=x onerror="alert(1)">',
    "<style>*{}</style><template><script>alert(1)</script></template>",
    '<form action="javascript:alert(1)"><button>x</button></form><base href="javascript:x//">',
]


@pytest.mark.parametrize("payload", HOSTILE)
def test_no_payload_survives_the_second_line(payload):
    # Even unsanitized input (a store filled by a buggy normalizer) cannot put active markup into a page.
    for fragment in (payload, sanitize_html(payload)):
        shown = display_html(fragment).lower()
        for bad in ("<script", "<svg", "<iframe", "<img", "<style", "<form", "<base", "onerror", "onload", "onclick", "style=",
                    "javascript:", "data:", "<math", "<template", " id=", " class="):  # fmt: skip
            assert bad not in shown, (payload, shown)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="<>/=\"' abcdefghijklmnopqrstuvwxyz&;:!-", max_size=80))
def test_any_input_gives_balanced_allowlisted_markup(fragment):
    shown = display_html(fragment)
    assert "<script" not in shown.lower() and "javascript:" not in shown.lower()
    # Idempotent: what the page shows, shown again, is the same.
    assert display_html(shown) == shown


# -- languages, dates, links ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "direction"),
    [("ar", "rtl"), ("fa", "rtl"), ("he", "rtl"), ("ur", "rtl"), ("ckb", "rtl"), ("ku-Arab", "rtl"), ("ku", "ltr"),
     ("az-Arab-IR", "rtl"), ("ar-Latn", "ltr"), ("de", "ltr"), ("tr", "ltr"), ("uk", "ltr"), ("", "ltr")],
)  # fmt: skip
def test_writing_direction(tag, direction):
    assert text_direction(tag) == direction


def test_text_language_marks_only_what_is_not_german():
    assert text_language("de").lang is None and text_language("de-AT").lang is None
    assert (text_language("tr").lang, text_language("tr").dir) == ("tr", None)
    assert (text_language("ar").lang, text_language("ar").dir) == ("ar", "rtl")
    assert language_name("ar") == "Arabisch" and language_name("de-CH") == "Deutsch" and language_name("xx") == "xx"


def test_german_dates():
    moment = datetime(2026, 9, 3, 9, 20, tzinfo=UTC)
    assert de_date(date(2019, 8, 1)) == "01.08.2019"
    assert de_datetime(moment) == "03.09.2026, 11:20 Uhr"  # Berlin summer time
    assert de_datetime(datetime(2026, 1, 3, 9, 20, tzinfo=UTC)) == "03.01.2026, 10:20 Uhr"
    assert iso(moment) == "2026-09-03T09:20:00Z" and iso(date(2019, 8, 1)) == "2019-08-01"
    assert period_start_word(date(2027, 1, 1), today=date(2026, 11, 29)) == "ab"
    assert period_start_word(date(2019, 8, 1), today=date(2026, 11, 29)) == "seit"


def test_item_paths_and_attachments():
    assert item_path("https://ki.example/p/1?x=1#y") == "/items/https%3A%2F%2Fki.example%2Fp%2F1%3Fx%3D1%23y"
    assert attachment_note("application/pdf", 482_304) == "PDF, 471 KB"
    assert attachment_note("image/png", None) == "Bild" and attachment_note(None, 12) == "12 Byte"
    assert attachment_note("application/x-custom", 3 * 1024 * 1024) == "application/x-custom, 3,0 MB"


def test_feed_links_carry_the_filter_only():
    flt = ItemFilter(fields=("schule",), kinds=("event", "news"), q="Sprach café")
    assert filter_query(flt) == "field=schule&kind=event&kind=news&q=Sprach+caf%C3%A9"
    assert [link.href for link in feed_links(ItemFilter())] == ["/feed.rss", "/feed.atom", "/feed.json", "/api/v1/items.csv"]


def test_the_filter_described_for_people():
    flt = ItemFilter(fields=("schule",), centres=("ki-05170", "ki-99999"), langs=("ar",), q="Kita")
    assert describe(flt) == (
        "Handlungsfeld: Interkulturelle Schulentwicklung; Suche: „Kita“; Zentrum: KI Kreis Wesel, ki-99999; Sprache: Arabisch"
    )
    assert describe(ItemFilter()) == ""


def test_filter_mistakes_in_german():
    assert german_problem(InvalidParameter("field", "'x' is not one of …")) == (
        "Die Auswahl für „Handlungsfeld“ ist ungültig. Bitte wählen Sie einen Wert aus der Liste."
    )
    assert german_problem(InvalidParameter("kind", "given more than once")) == "Die Angabe „Art“ ist mehrfach enthalten."
    assert german_problem(InvalidParameter("seite", "unknown parameter")) == "Die Adresse enthält die unbekannte Angabe „seite“."


# -- source health ------------------------------------------------------------------------


def source(**state) -> Source:
    base = {
        "id": "s",
        "url": "https://ki.example/feed",
        "format": "auto",
        "centre": "ki-05170",
        "relay": False,
        "interval": 3600,
        "defaults": SourceDefaults(),
        "managed_by": "config",
    }
    return Source(**{**base, **state})


T = datetime(2026, 11, 29, tzinfo=UTC)


@pytest.mark.parametrize(
    ("state", "words"),
    [
        ({"http_status": 404, "error": "not found (HTTP 404 Not Found)"}, "nichts (mehr) zu finden"),
        ({"http_status": 503, "error": "server error (HTTP 503)"}, "Server der Quelle hatte einen Fehler"),
        ({"http_status": 429, "error": "too many requests"}, "seltener"),
        ({"error": "https://x.example/: host name x.example not found (DNS)"}, "unter diesem Namen nicht"),
        ({"error": "connect timeout after 10 s (fetch.connect_timeout)"}, "nicht rechtzeitig"),
        ({"error": "cannot connect to x:443: connection refused (nothing listens on that port)"}, "nicht erreichbar"),
        ({"error": "TLS certificate not accepted: expired"}, "verschlüsselte Verbindung"),
        ({"error": "body larger than 10 MiB (fetch.max_body_bytes = 10485760)"}, "größer als erlaubt"),
        ({"error": "x is loopback: refused by the SSRF guard (…)"}, "internen Netz"),
        ({"http_status": 200, "error": "not a feed: no <rss>, <feed> or exchange document"}, "ließ sich nicht lesen"),
    ],
)
def test_errors_in_plain_german(state, words):
    failing = source(consecutive_failures=2, last_attempt=T, **state)
    assert words in plain_error(failing)
    shown = health(failing)
    assert (shown.code, shown.label) == ("failing", "gestört seit 2 Abrufen")
    assert shown.detail == state["error"]


def test_health_states():
    assert health(source()).code == "never_fetched"
    assert health(source(last_attempt=T, last_success=T)).label == "in Ordnung"
    assert health(source(operator_enabled=False, consecutive_failures=3)).code == "disabled"
    held = health(source(last_attempt=T, on_hold="would delete 9 of 10 items"))
    assert held.code == "on_hold" and held.detail == "would delete 9 of 10 items"
    assert health(source(consecutive_failures=1, last_attempt=T, error="x")).label == "gestört seit 1 Abruf"


# -- charts --------------------------------------------------------------------------------


def test_bar_chart_geometry_and_text_alternative():
    chart = bar_chart("c", "Einträge je Zentrum", [("KI Kreis Wesel", 8), ("KI Kreis Kleve", 4), ("Leer", 0)])
    assert [b.percent for b in chart.bars] == [MAX_BAR_PERCENT, MAX_BAR_PERCENT / 2, 0.0]
    assert [b.y for b in chart.bars] == [0, 48, 96] and chart.height == 144
    assert chart.description == "KI Kreis Wesel: 8; KI Kreis Kleve: 4; Leer: 0."
    long = bar_chart("d", "T", [("x" * 60, 1)])
    assert long.bars[0].label.endswith("…") and len(long.bars[0].label) == 40 and long.bars[0].full_label == "x" * 60
    empty = bar_chart("e", "T", [])
    assert empty.description == "Keine Einträge." and empty.height > 0
