"""kisync.parse.fastxml against feedparser: the same ParsedDocument, or a decline.

The fast path is only worth having if it is exact and if it is taken, so
every test here checks one of the two: the result equals what the
feedparser path makes of the same text (``fast=False``), and documents
of the kinds it is meant for are in fact accepted.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bench.corpus import build_sources, render_atom, render_rss
from kisync.errors import ParseError
from kisync.parse import xmlfeed
from kisync.parse.encoding import decode_xml
from kisync.parse.fastxml import Declined, read_feed, read_or_decline
from kisync.parse.sniff import sniff
from kisync.parse.types import ParsedDocument
from kisync.parse.xmlfeed import parse_xml_feed

FIXTURES = Path(__file__).parent / "fixtures"
URL = "https://www.example-ki.de/feed"
ATOM = "http://www.w3.org/2005/Atom"
NAMESPACES = ' xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/"'
# What WordPress declares besides (its RSS feeds carry sy:, wfw: and slash: elements).
WORDPRESS = (
    ' xmlns:sy="http://purl.org/rss/1.0/modules/syndication/" xmlns:slash="http://purl.org/rss/1.0/modules/slash/"'
    ' xmlns:wfw="http://wellformedweb.org/CommentAPI/"'
)


def decoded(body: bytes) -> str:
    """The text parse_document hands to parse_xml_feed."""
    return decode_xml(body, sniff(body))[0]


def outcome(text: str, *, fast: bool) -> ParsedDocument | str:
    try:
        return parse_xml_feed(text, URL, fast=fast)
    except ParseError as error:
        return f"ParseError: {error}"


def assert_like_feedparser(text: str) -> None:
    assert outcome(text, fast=True) == outcome(text, fast=False)


def rss(items: str = "", channel: str = "", root: str = "") -> str:
    return (
        f'<rss version="2.0"{root}{NAMESPACES}{WORDPRESS} xmlns:atom="{ATOM}">'
        f"<channel><title>KI</title>{channel}{items}</channel></rss>"
    )


def atom(entries: str = "", feed: str = "", root: str = "") -> str:
    return f'<feed xmlns="{ATOM}"{NAMESPACES}{root}><title>KI</title>{feed}{entries}</feed>'


# -- (1) the fixtures and the benchmark corpus ---------------------------------------------

FIXTURE_FEEDS = sorted(p for p in FIXTURES.rglob("*") if p.suffix in (".xml", ".rss", ".atom", ".rdf"))
# The fixtures the fast path reads itself; the others are declined (and why is pinned below).
ACCEPTED = {
    "html/hostile.rss",
    "normalize/oberhausen.rss",
    "normalize/recklinghausen.atom",
    "parse/atom.xml",
    "parse/rss20.xml",
    "sync/oberhausen.rss",
    "sync/wrong-encoding.rss",
    "validate/feed.rss",
}


@pytest.mark.parametrize("path", FIXTURE_FEEDS, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fixture_feeds_read_as_feedparser_reads_them(path):
    text = decoded(path.read_bytes())
    assert_like_feedparser(text)
    assert (read_feed(text) is not None) == (str(path.relative_to(FIXTURES)) in ACCEPTED)


def test_fixture_feeds_are_found():
    assert len(FIXTURE_FEEDS) >= 15 and {str(p.relative_to(FIXTURES)) for p in FIXTURE_FEEDS} >= ACCEPTED


WORDPRESS_FEED = f"""<rss version="2.0"{NAMESPACES}{WORDPRESS} xmlns:atom="{ATOM}">
<channel>
	<title>Kommunales Integrationszentrum</title>
	<atom:link href="https://ki.example/feed/" rel="self" type="application/rss+xml" />
	<link>https://ki.example</link>
	<description>Aktuelles</description>
	<lastBuildDate>Mon, 02 Mar 2026 09:12:44 +0000</lastBuildDate>
	<language>de-DE</language>
	<sy:updatePeriod>
	hourly	</sy:updatePeriod>
	<sy:updateFrequency>
	1	</sy:updateFrequency>
	<generator>https://wordpress.org/?v=6.7.1</generator>
	<item>
		<title>Rucksack KiTa startet in Wesel</title>
		<link>https://ki.example/2026/03/rucksack-kita/</link>
		<comments>https://ki.example/2026/03/rucksack-kita/#respond</comments>
		<dc:creator><![CDATA[redaktion]]></dc:creator>
		<pubDate>Mon, 02 Mar 2026 09:12:44 +0000</pubDate>
		<category><![CDATA[Elementarbereich]]></category>
		<guid isPermaLink="false">https://ki.example/?p=4711</guid>
		<description><![CDATA[<p>Elternbildung f&#252;r M&#252;tter &#8230;</p>]]></description>
		<content:encoded><![CDATA[<p>Eltern &amp; M&uuml;tter.</p><p><a href="/kontakt/">Kontakt</a></p>]]></content:encoded>
		<wfw:commentRss>https://ki.example/2026/03/rucksack-kita/feed/</wfw:commentRss>
		<slash:comments>0</slash:comments>
	</item>
</channel>
</rss>
"""


def test_a_wordpress_feed_takes_the_fast_path_and_matches_feedparser():
    """The RSS that WordPress writes, as most municipal sites publish it: its sy:, wfw: and slash: elements are read past."""
    assert read_or_decline(WORDPRESS_FEED)["entries"]
    assert_like_feedparser(WORDPRESS_FEED)
    doc = parse_xml_feed(WORDPRESS_FEED, URL)
    assert (doc.entries[0].guid, doc.entries[0].author) == ("https://ki.example/?p=4711", "redaktion")


def test_benchmark_corpus_takes_the_fast_path_and_matches_feedparser():
    """A sample of bench/corpus.py's corpus (the same generator and seed as corpus-400x50-s1), as RSS and as Atom."""
    for source in build_sources(12, 50, seed=1):
        for render in (render_rss, render_atom):
            text = decoded(render(source))
            read_or_decline(text)  # raises Declined with the reason if the corpus missed the fast path
            assert_like_feedparser(text)


# -- (2) generated documents ---------------------------------------------------------------

# Pieces of text with what feedparser treats specially: whitespace it strips (also \xa0),
# mojibake it repairs ("Ã¼"), C1 controls it maps (\x96), markup that makes it guess HTML,
# entity-like text (a link's "&b;"), e-mail addresses in authors, URLs with extra slashes.
# fmt: off
PIECES = [
    "Rucksack KiTa", "für", "Düsseldorf", "Schule – Beruf", "„Sprache“", "Ã¼ber", "\x96", "\x80", "€", "😀",
    " ", "  ", "\n", "\t", "\xa0", "\u2003", "<p>", "</p>", "<b>fett</b>", "<blink>x</blink>", "&nbsp;", "&amp;",
    "&b;", "&#150;", "&zzz;", "a&b", "<", ">", "'", '"', "ki@kreis-wesel.de", "(Frau Yılmaz)", "<a@b.de>",
    "http://", "https://ki.example/a?x=1&y=2", "http:///drei/slashes", "/relativ/seite.html", "news-0148",
    "Mo, 3. März", "de_DE", "]]",
]
# Text that feedparser takes for HTML when it has to guess (looks_like_html), and text it does not.
HTML = ["<p>Hallo</p>", "Text &amp; mehr", "<b>fett</b> und <i>kursiv</i>", "<blink>x</blink>", "a &zzz; b", "Nur Text"]
# fmt: on
TEXT = st.lists(st.sampled_from(PIECES) | st.text(alphabet="aß &<;#x0123456789", max_size=6), max_size=5).map("".join)
MARKUP = st.sampled_from(HTML) | TEXT
# fmt: off
DATES = st.sampled_from([
    "Tue, 03 Mar 2026 10:00:00 +0100", "Sun, 05 Jul 2026 14:05:00 MESZ", "Sun, 05 Jul 2026 14:05:00",
    "2026-07-01T10:00:00Z", "2026-07-01T10:00:00.123456789+02:00", "2026-07-01", " 2026-01-15 10:00:00 ",
    "2026-13-45T00:00:00Z", "gestern", "", "Thu, 01 May 2025 22:10:00 GMT", "2004-02-28T18:14:55-08:00",
    "Montag, 3. März 2026", "03.03.2026 10:00", "20260301T100000Z", "1 Mar 2026", "2026/03/01", "2026-03",
])
URLS = st.sampled_from([
    "https://ki.example/a", "/b.html", "", "http:///c", "https://ki.example/d?x=1&amp;y=2", "e f",
    "https://ki.example/?a=1&b;=2", "news-0148", "tag:ki.example,2026:1",
])
# fmt: on
LANGS = st.sampled_from(["de", "en_US", "", "tr", " de-DE "])
LINK_ATTRIBUTES = {
    "href": URLS,
    "rel": st.sampled_from(["alternate", "ALTERNATE", "enclosure", "Enclosure", "self", "related", ""]),
    "type": st.sampled_from(["text/html", "TEXT/HTML", "application/pdf", "html", "xhtml", "application/xhtml+xml", ""]),
    "length": st.sampled_from(["123", "", "viel"]),
    "title": TEXT,
    "hreflang": LANGS,
}
TYPES = st.sampled_from(["text", "html", "TEXT", "text/plain", "text/html"])


@st.composite
def element(draw, tag, attributes=None, text=TEXT, children=None):
    """``<tag …>text</tag>``: each attribute maybe, xml:lang maybe, text escaped or as CDATA."""
    pairs = [(name, draw(values)) for name, values in (attributes or {}).items() if draw(st.booleans())]
    if draw(st.integers(0, 5)) == 0:
        pairs.append(("xml:lang", draw(LANGS)))
    pairs = draw(st.permutations(pairs))
    value = draw(text)
    body = f"<![CDATA[{value}]]>" if draw(st.booleans()) and "]]>" not in value else escape(value)
    if children is not None:
        body = draw(children) + body
    start = tag + "".join(f" {name}={quoteattr(value)}" for name, value in pairs)
    return f"<{start}/>" if not body and draw(st.booleans()) else f"<{start}>{body}</{tag}>"


def some(*elements, max_size=12):
    return st.lists(st.one_of(*elements), max_size=max_size).map("".join)


EXTENSIONS = [element("dc:creator"), element("dc:date", text=DATES), element("dc:language", text=LANGS), element("dc:rights")]
ATOM_PERSON = some(element("name"), element("email"), element("uri", text=URLS), max_size=4)
ITEM_CHILDREN = [
    element("title"),
    element("link", text=URLS | TEXT),
    element("description", text=MARKUP),
    element("guid", {"isPermaLink": st.sampled_from(["true", "false", "True", ""])}, text=URLS | TEXT),
    element("pubDate", text=DATES),
    element("author"),
    element("category", {"domain": TEXT}),
    element("enclosure", {"url": URLS, "length": st.sampled_from(["123", "", "x"]), "type": LINK_ATTRIBUTES["type"]}),
    element("comments", text=URLS),
    element("content:encoded", text=MARKUP),
    element("atom:link", LINK_ATTRIBUTES, text=URLS),
    element("wfw:commentRss", text=URLS | TEXT),
    element("wfw:comment", text=URLS),
    element("slash:comments", text=st.sampled_from(["0", "12", "", "viele"]) | TEXT),
    *EXTENSIONS,
]
ENTRY_CHILDREN = [
    element("title", {"type": TYPES}),
    element("id", text=URLS | TEXT),
    element("link", LINK_ATTRIBUTES, text=URLS),
    element("published", text=DATES),
    element("updated", text=DATES),
    element("summary", {"type": TYPES}, text=MARKUP),
    element("content", {"type": TYPES}, text=MARKUP),
    element("author", children=ATOM_PERSON),
    element("contributor", children=ATOM_PERSON),
    element("category", {"term": TEXT, "scheme": URLS, "label": TEXT}),
    element("rights", {"type": TYPES}),
    element("content:encoded", text=MARKUP),
    *EXTENSIONS,
]
IMAGE = element("image", text=st.just(""), children=some(*(element(t) for t in ("title", "url", "link", "width", "description"))))
CHANNEL_CHILDREN = [
    element("title"),
    element("link", text=URLS),
    element("language", text=LANGS),
    *(element(name) for name in ("description", "copyright", "managingEditor", "webMaster", "generator", "docs", "ttl")),
    element("pubDate", text=DATES),
    element("lastBuildDate", text=DATES),
    element("category", {"domain": TEXT}),
    IMAGE,
    element("atom:link", LINK_ATTRIBUTES, text=URLS),
    element("sy:updatePeriod", text=st.sampled_from(["hourly", "daily", ""]) | TEXT),
    element("sy:updateFrequency", text=st.sampled_from(["1", "24", "x"])),
    element("sy:updateBase", text=DATES),
    *EXTENSIONS,
]
FEED_CHILDREN = [
    element("title", {"type": TYPES}),
    element("id", text=URLS | TEXT),
    element("link", LINK_ATTRIBUTES, text=URLS),
    element("subtitle", {"type": TYPES}),
    element("updated", text=DATES),
    element("generator", {"uri": URLS, "version": TEXT}),
    element("icon", text=URLS),
    element("logo", text=URLS),
    element("rights", {"type": TYPES}),
    element("category", {"term": TEXT, "scheme": URLS, "label": TEXT}),
    element("author", children=ATOM_PERSON),
    element("contributor", children=ATOM_PERSON),
    *EXTENSIONS,
]
# Things the fast path must decline wherever they are, each for another reason.
UNKNOWN = st.sampled_from(
    [
        "<foo>x</foo>",
        "<date>2026-03-01T10:00:00Z</date>",
        "<source url='https://ki.example/'>Quelle</source>",
        '<media:thumbnail xmlns:media="http://search.yahoo.com/mrss/" url="https://ki.example/b.jpg"/>',
        "<title type='xhtml'>A &amp; B</title>",
        "<description>Ein <b>fetter</b> Satz</description>",
        "<summary>Ein <b>fetter</b> Satz</summary>",
        "<content src='https://ki.example/x'/>",
        "<link xml:base='https://ki.example/news/'>a.html</link>",
        "<title foo='1'>Attribut</title>",
        "<guid>&nbsp;</guid>",
        "<dcx:creator xmlns:dcx='http://purl.org/dc/elements/1.1/'>Odd Prefix</dcx:creator>",
    ]
)


@st.composite
def container(draw, tag, children, dirty, attributes="", entries=()):
    """(``<tag>children</tag>``, how many UNKNOWN things went in), with whitespace, text or comments between.

    The children come from a palette of a few kinds, so that an element
    often comes twice and two kinds often meet: feedparser's precedence
    rules are about exactly that. ``entries`` go in at any place.
    """
    palette = draw(st.lists(st.sampled_from(children), min_size=1, max_size=4))
    parts = draw(st.lists(st.one_of(palette), max_size=8))
    unknown = draw(st.integers(0, 2)) if dirty else 0
    for extra in [*entries, *(draw(UNKNOWN) for _ in range(unknown))]:
        parts.insert(draw(st.integers(0, len(parts))), extra)
    space = draw(st.sampled_from(["", "\n", " text ", "<!-- c -->"]))
    lang = draw(st.sampled_from(["", ' xml:lang="de"', ' xml:lang=""', ' xml:lang="tr_TR"']))
    return f"<{tag}{attributes}{lang}>{space}{space.join(parts)}{space}</{tag}>", unknown


@st.composite
def documents(draw):
    """(text, clean): an RSS 2.0 or Atom 1.0 document; clean when nothing in it should make the fast path decline."""
    dirty = draw(st.integers(0, 3)) == 0
    rss = draw(st.booleans())
    entries = draw(st.lists(container("item" if rss else "entry", ITEM_CHILDREN if rss else ENTRY_CHILDREN, dirty), max_size=3))
    unknown = sum(n for _, n in entries)
    bodies = [body for body, _ in entries]
    if rss:
        channel, n = draw(container("channel", CHANNEL_CHILDREN, dirty, entries=bodies))
        root_lang = draw(st.sampled_from(["", ' xml:lang="de_DE"']))
        text = f'<rss version="2.0"{root_lang}{NAMESPACES}{WORDPRESS} xmlns:atom="{ATOM}">{channel}</rss>'
    else:
        text, n = draw(container("feed", FEED_CHILDREN, dirty, attributes=f' xmlns="{ATOM}"{NAMESPACES}', entries=bodies))
    return draw(st.sampled_from(["", "\n", "<!-- kisync -->\n"])) + text, unknown + n == 0


@pytest.mark.slow  # about 10 s: 600 documents, each read twice
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(documents())
def test_generated_documents_read_as_feedparser_reads_them(document):
    text, clean = document
    try:
        read_or_decline(text)
    except Declined as declined:
        assert not clean, f"a clean document was declined: {declined}"
        event(f"declined: {str(declined).split(':')[0]}")
    else:
        event("fast path")
    assert_like_feedparser(text)


# -- feedparser's quirks, copied on purpose ----------------------------------------------------

UTC_1MARCH = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
# fmt: off
QUIRKS = [
    # (what, document, what the ParsedDocument shows of it)
    ("the first non-empty entry title wins", rss("<item><title/><title>Erster</title><title>Zweiter</title></item>"),
     lambda d: d.entries[0].title == "Erster"),
    ("a channel title after an <image> is the feed title again",
     rss("<image><url>https://ki.example/logo.png</url></image><title>Zweiter</title>"),
     lambda d: d.feed_title == "Zweiter"),
    ("without the <image> the first channel title stays", rss(channel="<title>Zweiter</title>"), lambda d: d.feed_title == "KI"),
    ("a second description is content, HTML when it looks like HTML",
     rss("<item><description>Kurz</description><description>&lt;b&gt;fett&lt;/b&gt;</description></item>"),
     lambda d: (d.entries[0].summary, d.entries[0].content) == ("Kurz", "<b>fett</b>")),
    ("a second description is content, text when it does not",
     rss("<item><description></description><description>a &lt; b</description></item>"),
     lambda d: (d.entries[0].summary, d.entries[0].content) == (None, "<p>a &lt; b</p>")),
    ("content:encoded fills an absent summary", rss("<item><content:encoded>&lt;p&gt;X&lt;/p&gt;</content:encoded></item>"),
     lambda d: d.entries[0].summary == d.entries[0].content == "<p>X</p>"),
    ("after content:encoded a description is the summary, also a second one",
     rss("<item><content:encoded>C</content:encoded><description>D</description><description>E</description></item>"),
     lambda d: (d.entries[0].summary, d.entries[0].content) == ("E", "C")),
    ("content in one item does not change the next",
     rss("<item><content:encoded>C</content:encoded></item><item><description>D</description><description>E</description></item>"),
     lambda d: (d.entries[1].summary, d.entries[1].content) == ("D", "<p>E</p>")),
    ("a guid that is no URL is no link", rss("<item><guid>news-0148</guid></item>"),
     lambda d: (d.entries[0].guid, d.entries[0].link) == ("news-0148", None)),
    ("the first guid decides whether the guid is the link; a later permalink guid becomes the link",
     rss("<item><guid isPermaLink='false'>a</guid><guid>b</guid></item>"),
     lambda d: (d.entries[0].guid, d.entries[0].link) == ("b", "b")),
    ("an Atom id is a permalink too", atom("<entry><id>https://ki.example/1</id></entry><entry><id>tag:ki,1</id></entry>"),
     lambda d: [e.link for e in d.entries] == ["https://ki.example/1", None]),
    ("an RSS link loses '&amp;' and the ';' of '&name;'",
     rss("<item><link>https://ki.example/?a=1&amp;b;=2&amp;amp;c=3</link></item>"),
     lambda d: d.entries[0].link == "https://ki.example/?a=1&b=2&c=3"),
    ("extra slashes after the scheme go", rss("<item><link>http:///ki.example/a</link><guid>https:////ki.example/g</guid></item>"),
     lambda d: (d.entries[0].link, d.entries[0].guid) == ("http://ki.example/a", "https://ki.example/g")),
    ("mojibake is repaired", rss("<item><title>fÃ¼r</title></item>"), lambda d: d.entries[0].title == "für"),
    ("C1 controls are Windows-1252", rss("<item><title>&#150; &#x80;</title></item>"), lambda d: d.entries[0].title == "– €"),
    ("an Atom author is name (email)", atom("<entry><author><name>N</name><email>n@ki.example</email></author></entry>"),
     lambda d: d.entries[0].author == "N (n@ki.example)"),
    ("an author's text before an Atom author with only an email becomes its name",
     atom("<entry><dc:creator>Frau X</dc:creator><author><email>x@ki.example</email></author></entry>"),
     lambda d: d.entries[0].author == "Frau X (x@ki.example)"),
    ("an RSS author is its text, e-mail and all", rss("<item><author>x@ki.example (Frau X)</author></item>"),
     lambda d: d.entries[0].author == "x@ki.example (Frau X)"),
    ("an Atom link without type is text/html, also as an enclosure",
     atom("<entry><link rel='enclosure' href='a.pdf' length='12'/></entry>"),
     lambda d: d.entries[0].attachments == [{"url": "a.pdf", "media_type": "text/html", "size": 12}]),
    ("a category's text completes the tag the previous one began",
     atom("<entry><category term='' label='L'/><category>T</category></entry>"),
     lambda d: d.entries[0].categories == ["T"]),
    ("xml:lang with an underscore", atom(root=' xml:lang="de_DE"'), lambda d: d.feed_language == "de-DE"),
    ("dc:date is updated, pubDate published",
     rss("<item><pubDate>2026-03-01T10:00:00Z</pubDate><dc:date>gestern</dc:date></item>"),
     lambda d: (d.entries[0].published, d.entries[0].updated) == (UTC_1MARCH, None)),
    ("a date only feedparser reads is read as feedparser reads it (UTC)",
     rss("<item><pubDate>1 Mar 2026</pubDate><dc:date>20260301T100000Z</dc:date></item>"),
     lambda d: d.entries[0].published == d.entries[0].updated == datetime(2026, 3, 1, tzinfo=UTC)),  # its time gets lost
    ("an Atom summary without type is text", atom("<entry><summary>a &lt; b</summary></entry>"),
     lambda d: d.entries[0].summary == "<p>a &lt; b</p>"),
    ("an Atom feed's id is its link until a link comes", atom(feed="<id>https://ki.example/</id><link rel='self' href='x'/>"),
     lambda d: d.feed_link == "https://ki.example/"),
]
# fmt: on


@pytest.mark.parametrize(("what", "text", "shows"), QUIRKS, ids=[q[0] for q in QUIRKS])
def test_feedparser_quirks_are_copied(what, text, shows):
    read_or_decline(text)
    assert_like_feedparser(text)
    assert shows(parse_xml_feed(text, URL))


# -- (3) what the fast path declines, and that the result is still feedparser's ---------------

# fmt: off
FALLBACKS = [
    # (why, document, the reason given, what feedparser makes of it)
    ("an unknown element: feedparser stores it, and <date> lands on updated",
     rss("<item><guid>1</guid><date>2026-03-01T10:00:00Z</date></item>"), "<date> in <item>",
     lambda d: d.entries[0].updated == UTC_1MARCH),
    ("an RSS <source>", rss("<item><title>T</title><source url='https://q.example/'>Quelle</source></item>"),
     "<source> in <item>", lambda d: d.entries[0].title == "T"),
    ("another namespace (Media RSS)",
     rss("<item xmlns:media='http://search.yahoo.com/mrss/'><guid>1</guid><media:content url='https://ki.example/b.jpg'/></item>"),
     'namespace declaration xmlns:media="http://search.yahoo.com/mrss/"', lambda d: d.entries[0].guid == "1"),
    ("WordPress's sy: where WordPress does not put it (in an item)",
     rss("<item><guid>1</guid><sy:updatePeriod>daily</sy:updatePeriod></item>"), "<sy:updatePeriod> in <item>",
     lambda d: d.entries[0].guid == "1"),
    ("WordPress's wfw: in a channel", rss(channel="<wfw:commentRss>https://ki.example/c/</wfw:commentRss>"),
     "<wfw:commentRss> in <channel>", lambda d: d.feed_title == "KI"),
    ("the CommentAPI under feedparser's lower-case spelling",
     rss("<item xmlns:w='http://wellformedweb.org/commentAPI/'><guid>1</guid><w:commentRss>x</w:commentRss></item>"),
     "namespace declaration xmlns:w", lambda d: d.entries[0].guid == "1"),
    ("a known namespace under another prefix", rss("<item xmlns:dcx='http://purl.org/dc/elements/1.1/'><dcx:creator>O</dcx:creator></item>"),
     "namespace declaration xmlns:dcx", lambda d: d.entries[0].author == "O"),
    ("a known prefix bound to another known namespace: feedparser then misses dc:creator",
     '<rss version="2.0" xmlns:dc="http://purl.org/rss/1.0/modules/content/" xmlns:d="http://purl.org/dc/elements/1.1/">'
     "<channel><item><guid>1</guid><d:creator>X</d:creator></item></channel></rss>",
     'namespace declaration xmlns:dc="http://purl.org/rss/1.0/modules/content/"', lambda d: d.entries[0].author is None),
    ("an unknown attribute", rss("<item><guid foo='1'>1</guid></item>"), "attribute <foo> on <guid>",
     lambda d: d.entries[0].guid == "1"),
    ("xml:base: feedparser resolves links and guids against it",
     rss("<item xml:base='https://ki.example/news/'><guid>1</guid><link>a.html</link></item>"), "attribute <xml:base> on <item>",
     lambda d: (d.entries[0].guid, d.entries[0].link) == ("https://ki.example/news/1", "https://ki.example/news/a.html")),
    ("Atom type=\"xhtml\": feedparser escapes the text", atom("<entry><title type='xhtml'>A &amp; B</title></entry>"),
     'type="xhtml" on <atom:title>', lambda d: d.entries[0].title == "A &amp; B"),
    ("markup inside a description: feedparser serializes it",
     rss("<item><description>Ein <b>fetter</b> Satz</description></item>"), "child elements in <description>",
     lambda d: d.entries[0].summary == "Ein <b>fetter</b> Satz"),
    ("Atom <content src>", atom("<entry><id>1</id><content src='https://ki.example/x'/></entry>"),
     "attribute <src> on <atom:content>", lambda d: d.entries[0].content is None),
    ("content:encoded in the channel: it changes how the first item's descriptions are read",
     rss("<item><description>D</description><description>E</description></item>", channel="<content:encoded>K</content:encoded>"),
     "<content:encoded> in <channel>", lambda d: (d.entries[0].summary, d.entries[0].content) == ("E", None)),
    ("a DOCTYPE", "<!DOCTYPE rss>" + rss("<item><guid>1</guid></item>"), "a DOCTYPE",
     lambda d: d.entries[0].guid == "1"),
    ("an XML declaration at the start", '<?xml version="1.0" encoding="ISO-8859-1"?>' + rss("<item><guid>1</guid></item>"),
     "an XML declaration at the start", lambda d: d.entries[0].guid == "1"),
    ("a byte order mark", "\ufeff" + rss("<item><guid>1</guid></item>"), "a byte order mark", lambda d: d.entries[0].guid == "1"),
    ("XML that is not well-formed: the lenient parser reads it, with a warning",
     rss("<item><guid>1</guid><title>Fachtag&nbsp;Integration</title></item>"), "not well-formed: undefined entity",
     lambda d: d.entries[0].title == "Fachtag\xa0Integration" and d.warnings[0].code == "malformed_xml"),
    ("RSS 0.91", rss("<item><guid>1</guid></item>").replace('version="2.0"', 'version="0.91"'), "RSS version '0.91'",
     lambda d: d.feed_version == "rss091u"),
    ("RSS 1.0",
     '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"><channel><title>KI</title>'
     '</channel><item rdf:about="https://ki.example/1"><title>T</title></item></rdf:RDF>',
     "root element <{http://www.w3.org/1999/02/22-rdf-syntax-ns#}RDF>",
     lambda d: (d.feed_version, d.entries[0].guid) == ("rss10", "https://ki.example/1")),
    ("Atom 0.3", '<feed version="0.3" xmlns="http://purl.org/atom/ns#"><entry><id>1</id></entry></feed>',
     "root element <{http://purl.org/atom/ns#}feed>", lambda d: d.feed_version == "atom03"),
    ("two channels",
     rss("<item><guid>1</guid></item>").replace("</channel>", "</channel><channel><item><guid>2</guid></item></channel>"),
     "without exactly one <channel>", lambda d: [e.guid for e in d.entries] == ["1", "2"]),
]
# fmt: on


@pytest.mark.parametrize(("why", "text", "reason", "shows"), FALLBACKS, ids=[f[0] for f in FALLBACKS])
def test_what_the_fast_path_declines_feedparser_reads(why, text, reason, shows):
    with pytest.raises(Declined) as declined:
        read_or_decline(text)
    assert reason in str(declined.value)
    assert_like_feedparser(text)
    assert shows(parse_xml_feed(text, URL))


@pytest.mark.parametrize("text", [rss("<item><guid>1</guid></item>"), atom("<entry><id>1</id></entry>")])
def test_the_documents_the_fallbacks_change_are_read_fast(text):
    """Without the one thing each fallback case adds, these documents take the fast path."""
    assert read_or_decline(text)["entries"]


def test_fast_false_never_asks_the_fast_path(monkeypatch):
    def refuse(text):
        raise AssertionError("the fast path was asked")

    monkeypatch.setattr(xmlfeed, "read_feed", refuse)
    assert parse_xml_feed(rss("<item><guid>1</guid></item>"), URL, fast=False).entries[0].guid == "1"
