"""A fast reader for plain RSS 2.0 and Atom 1.0 that gives feedparser's answers.

feedparser calls Python for every SAX event and post-processes every text
node: about 30 ms for a feed of 50 entries with 2.5 KB of CMS HTML each,
the largest single cost of a cold sync. Here expat builds the tree in C
(``xml.etree.ElementTree``) and a short walk copies out what
``kisync.parse.xmlfeed`` reads from feedparser's result: the same keys,
with the same values, for the same documents; ``xmlfeed`` turns either
into the ParsedDocument with the same code.

"The same values" includes feedparser's quirks, copied on purpose (the
originals are ``pop`` in ``feedparser/mixin.py`` and the handlers in
``feedparser/namespaces/_base.py``):

- the first non-empty ``<title>`` wins (a channel title again after an
  ``<image>`` or an item), for other elements the last one; a second
  ``<description>``/``<summary>`` before any content *is* content
  (text/plain, or text/html when it ``looks_like_html`` in RSS), and
  content fills an absent summary;
- an RSS ``<guid>`` (unless isPermaLink="false") and an Atom ``<id>`` are
  the link when none came before, and the first of them says whether the
  guid is the link; ``<link>`` text loses "&amp;" and the ";" of "&name;";
  URLs lose extra slashes after "scheme://";
- text is stripped, mojibake (UTF-8 read as Latin-1) is repaired and C1
  controls are read as Windows-1252; attributes and the name and email of
  an Atom author are taken as they are;
- an Atom author is "name (email)", and an author's text before it can
  become its name; an RSS ``<author>``/``<dc:creator>`` is its text; an
  Atom ``<link>`` without ``type`` is text/html, also as an enclosure.

**Whitelist.** The document is ``<rss version="2.…">`` with one
``<channel>``, or an Atom 1.0 ``<feed>``, with only these elements, each
with only the attributes listed (``xml:lang`` is allowed everywhere):

- RSS channel: title, link, language, description, copyright,
  managingEditor, webMaster, pubDate, lastBuildDate, generator, docs, ttl,
  category[domain], image (title, url, link, width, height, description);
- RSS item: title, link, description, guid[isPermaLink], pubDate, author,
  category[domain], enclosure[url, length, type], comments;
- Atom feed: title[type], id, link[href, rel, type, length, title,
  hreflang], subtitle[type], updated, generator[uri, version], icon, logo,
  rights[type], category[term, scheme, label], author, contributor;
- Atom entry: title[type], id, link[…], published, updated,
  summary[type], content[type], author, contributor, category[…],
  rights[type]; in an author or contributor: name, email, uri;
- anywhere: dc:creator, dc:date, dc:language, dc:rights, atom:link[…];
  in items and entries: content:encoded;
- what WordPress adds to RSS: sy:updatePeriod, sy:updateFrequency,
  sy:updateBase in the channel, wfw:commentRss, wfw:comment and
  slash:comments in items (read past: feedparser keeps them under keys of
  their own that ``xmlfeed`` does not read).

A ``type`` is text, html, text/plain or text/html. The namespaces are
declared with their usual prefixes (``atom``, ``content``, ``dc``, ``sy``,
``slash``, ``wfw``; Atom also as the default in an Atom feed) and no
others are declared.

**Everything else goes to feedparser**, the whole document (``read_feed``
returns None), because one element outside the whitelist can change what
feedparser makes of the others:

- any other element or attribute: feedparser has handlers for dozens of
  names (``<source>``, ``<textInput>``, Media RSS, iTunes …) and stores
  unknown ones under keys that can collide with known ones (an unknown
  ``<date>`` becomes ``updated``); ``<content:encoded>`` in a channel
  changes how the first item's descriptions are read;
- another namespace, or a known one under another prefix: feedparser maps
  elements through the prefixes declared, so ``xmlns:dc`` bound to the
  content module turns ``<d:creator>`` into an unknown element;
- child elements in a text element, and ``type="xhtml"``: inline XHTML,
  which feedparser escapes and serializes back to markup;
- ``xml:base`` (feedparser resolves links and guids against it),
  ``<content src>``, other content types (base64, no summary copy);
- RSS 0.9x, RSS 1.0/RDF, Atom 0.3 (other versions, other rules);
- a DOCTYPE or ``<!ENTITY`` anywhere (feedparser rewrites the prolog; see
  also ``xmlfeed.refuse_entity_declarations``), a byte order mark or an
  XML declaration at the start (feedparser replaces them), and XML that
  expat does not accept (feedparser's lenient parser reads what it can,
  with a warning).

expat is given exactly the bytes feedparser gives its own expat, so
"well-formed" means the same to both. Written against feedparser 6.0.14,
whose helpers it imports (URL joining, the Windows-1252 table,
``looks_like_html``); ``tests/test_parse_fast.py`` holds it to feedparser's
output on the fixtures, the benchmark corpus and generated documents, and
is what says whether a new feedparser still agrees.
"""

from __future__ import annotations

import contextlib
import re
import xml.etree.ElementTree as ET
from collections.abc import Container
from typing import Any

from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin
from feedparser.urls import _urljoin

ATOM_NS = "http://www.w3.org/2005/Atom"
CONTENT_NS = "http://purl.org/rss/1.0/modules/content/"
DC_NS = "http://purl.org/dc/elements/1.1/"
# The modules WordPress declares in every RSS feed it writes (and many other CMS with it).
SY_NS = "http://purl.org/rss/1.0/modules/syndication/"
SLASH_NS = "http://purl.org/rss/1.0/modules/slash/"
WFW_NS = "http://wellformedweb.org/CommentAPI/"  # WordPress's spelling; feedparser compares it case-insensitively
_ATOM, _CONTENT, _DC = f"{{{ATOM_NS}}}", f"{{{CONTENT_NS}}}", f"{{{DC_NS}}}"
_SY, _SLASH, _WFW = f"{{{SY_NS}}}", f"{{{SLASH_NS}}}", f"{{{WFW_NS}}}"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_PREFIXES = {
    ("atom", ATOM_NS), ("content", CONTENT_NS), ("dc", DC_NS), ("sy", SY_NS), ("slash", SLASH_NS), ("wfw", WFW_NS),
}  # fmt: skip
_PREFIX_OF = {uri: prefix for prefix, uri in _PREFIXES} | {"http://www.w3.org/XML/1998/namespace": "xml"}

# What feedparser's strict parser is fed (feedparser.encodings.convert_to_utf8).
_FEEDPARSER_DECLARATION = b"<?xml version='1.0' encoding='utf-8'?>\n"
_PROLOG_REWRITES = re.compile(r"<!DOCTYPE|<!ENTITY", re.IGNORECASE)
_LINK_QUERY = re.compile("&([A-Za-z0-9_]+);")  # feedparser's repair of "?a=1&b;=2" in <link>
_EMAIL = re.compile(  # feedparser.mixin._sync_author_detail, verbatim
    r"""(([a-zA-Z0-9\_\-\.\+]+)@((\[[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.)|(([a-zA-Z0-9\-]+\.)+))([a-zA-Z]{2,4}|[0-9]{1,3})(\]?))(\?subject=\S+)?"""
)
# A value can hold a C1 control only if the document has one (UTF-8 C2 80..C2 9F) or a character reference.
_C1_CONTROL = re.compile(b"\xc2[\x80-\x9f]")
_CONTENT_TYPES = {"text": "text/plain", "html": "text/html", "text/plain": "text/plain", "text/html": "text/html"}
_HTML_TYPES = {"text/html", "application/xhtml+xml"}
_looks_like_html = _FeedParserMixin.looks_like_html
_map_content_type = _FeedParserMixin.map_content_type

_TYPE = ("type",)
_LINK = ("href", "rel", "type", "length", "title", "hreflang")
_TERM = ("term", "scheme", "label")
# element -> (what it is to feedparser: the _Reader method that reads it; its attributes besides xml:lang)
_FEED_EXTENSIONS = {
    f"{_DC}creator": ("author", ()),
    f"{_DC}date": ("updated", ()),
    f"{_DC}language": ("language", ()),
    f"{_DC}rights": ("ignore", ()),
    f"{_ATOM}link": ("link", _LINK),
}
# Not content:encoded in a channel or feed: it would set hasContent for the first entry.
_ENTRY_EXTENSIONS = {**_FEED_EXTENSIONS, f"{_CONTENT}encoded": ("encoded", ())}
_CHANNEL = {
    **_FEED_EXTENSIONS,
    "item": ("item", ()),
    "title": ("title", ()),
    "link": ("link", ()),
    "language": ("language", ()),
    "image": ("image", ()),
    **dict.fromkeys(
        ["description", "copyright", "managingEditor", "webMaster", "pubDate", "lastBuildDate", "generator", "docs", "ttl"],
        ("ignore", ()),
    ),
    "category": ("ignore", ("domain",)),
    # feedparser has no handler for these: each is stored under its own key (sy_updateperiod …), which nothing reads.
    **dict.fromkeys([f"{_SY}updatePeriod", f"{_SY}updateFrequency", f"{_SY}updateBase"], ("ignore", ())),
}
_ITEM = {
    **_ENTRY_EXTENSIONS,
    "title": ("title", ()),
    "link": ("link", ()),
    "description": ("description", ()),
    "guid": ("id", ("isPermaLink",)),
    "pubDate": ("published", ()),
    "author": ("author", ()),
    "category": ("category", ("domain",)),
    "enclosure": ("enclosure", ("url", "length", "type")),
    "comments": ("ignore", ()),
    # As the sy: elements of a channel: stored by feedparser under keys of their own (wfw_commentrss …).
    **dict.fromkeys([f"{_WFW}commentRss", f"{_WFW}comment", f"{_SLASH}comments"], ("ignore", ())),
}
_ATOM_SHARED = {
    f"{_ATOM}title": ("title", _TYPE),
    f"{_ATOM}id": ("id", ()),
    f"{_ATOM}contributor": ("ignore_person", ()),
    f"{_ATOM}rights": ("ignore", _TYPE),
}
_FEED = {
    **_FEED_EXTENSIONS,
    **_ATOM_SHARED,
    f"{_ATOM}entry": ("entry", ()),
    f"{_ATOM}author": ("ignore_person", ()),
    f"{_ATOM}subtitle": ("ignore", _TYPE),
    f"{_ATOM}updated": ("ignore", ()),
    f"{_ATOM}generator": ("ignore", ("uri", "version")),
    f"{_ATOM}icon": ("ignore", ()),
    f"{_ATOM}logo": ("ignore", ()),
    f"{_ATOM}category": ("ignore", _TERM),
}
_ENTRY = {
    **_ENTRY_EXTENSIONS,
    **_ATOM_SHARED,
    f"{_ATOM}published": ("published", ()),
    f"{_ATOM}updated": ("updated", ()),
    f"{_ATOM}summary": ("summary", _TYPE),
    f"{_ATOM}content": ("content", _TYPE),
    f"{_ATOM}author": ("person", ()),
    f"{_ATOM}category": ("category", _TERM),
}
_PERSON = {f"{_ATOM}name": "name", f"{_ATOM}email": "email", f"{_ATOM}uri": "href"}
_IMAGE = {"title", "url", "link", "width", "height", "description"}


class Declined(Exception):
    """The document is not one this module reproduces exactly; feedparser reads it. The message says why."""


def read_feed(text: str) -> dict[str, Any] | None:
    """feedparser's result for the keys ``xmlfeed`` reads (version, feed, entries), or None to decline."""
    try:
        return read_or_decline(text)
    except Declined:
        return None


def read_or_decline(text: str) -> dict[str, Any]:
    """``read_feed``, raising Declined with the reason instead of returning None (for tests and debugging)."""
    if text.startswith(("\ufeff", "<?xml")):
        raise Declined("a byte order mark or an XML declaration at the start")
    if _PROLOG_REWRITES.search(text):
        raise Declined("a DOCTYPE or an entity declaration")
    data = _FEEDPARSER_DECLARATION + text.encode("utf-8", errors="replace")
    parser = ET.XMLPullParser(events=("start-ns", "start"))
    try:
        parser.feed(data)
        parser.close()
    except ET.ParseError as error:
        raise Declined(f"not well-formed: {str(error).rsplit(': line ', 1)[0]}") from None
    events = list(parser.read_events())
    declarations = [value for event, value in events if event == "start-ns"]
    root = next(value for event, value in events if event == "start")
    c1_controls = b"&#" in data or _C1_CONTROL.search(data) is not None
    return _Reader(root, declarations, c1_controls=c1_controls).result()


class _Reader:
    """The walk: document order, with the few pieces of state feedparser keeps between elements."""

    def __init__(self, root: ET.Element, declarations: list[tuple[str, str]], *, c1_controls: bool):
        self.c1_controls = c1_controls
        self.feed: dict[str, Any] = {}
        self.entries: list[dict[str, Any]] = []
        self.title_depth = -1  # feedparser's title_depth: a title at or below it is not stored
        self.has_content = False  # feedparser's hasContent: the entry had content before its summary
        if root.tag == "rss":
            if not root.get("version", "").startswith("2."):
                raise Declined(f"RSS version {root.get('version')!r}")
            self.version, self.atom = "rss20", False
            _check(root, ("version",))
            _check_declarations(declarations, default=None)
            lang = self._root_lang(root)
            if len(root) != 1 or root[0].tag != "channel":
                raise Declined("<rss> without exactly one <channel> in it")
            channel = root[0]
            _check(channel, ())
            self.children(channel, _CHANNEL, self.feed, 3, _lang(channel, lang))
        elif root.tag == f"{_ATOM}feed":
            self.version, self.atom = "atom10", True
            _check(root, ())
            _check_declarations(declarations, default=ATOM_NS)
            self.children(root, _FEED, self.feed, 2, self._root_lang(root))
        else:
            raise Declined(f"root element {_name(root.tag)}")

    def result(self) -> dict[str, Any]:
        return {"bozo": False, "version": self.version, "feed": self.feed, "entries": self.entries}

    def _root_lang(self, root: ET.Element) -> str | None:
        lang = _lang(root, None)
        if lang:
            self.feed["language"] = lang.replace("_", "-")
        return lang

    def children(self, parent: ET.Element, table: dict, context: dict[str, Any], depth: int, lang: str | None) -> None:
        """The children of a channel, item, feed or entry, each at ``depth`` (feedparser counts from 1 at the root)."""
        for element in parent:
            kind, attributes = table.get(element.tag) or _decline(f"{_name(element.tag)} in {_name(parent.tag)}")
            _check(element, attributes)
            element_lang = _lang(element, lang)
            if kind == "item":
                self.entry(element, _ITEM, depth, element_lang)
            elif kind == "entry":
                self.entry(element, _ENTRY, depth, element_lang)
            elif kind == "image":
                self.image(element, depth)
            elif kind in ("person", "ignore_person"):
                self.person(element, context, store=kind == "person")
            elif len(element):
                # Markup inside a text element: feedparser serializes it back (inline XHTML).
                raise Declined(f"child elements in {_name(element.tag)}")
            else:
                getattr(self, kind)(element, context, depth, element_lang)

    def entry(self, element: ET.Element, table: dict, depth: int, lang: str | None) -> None:
        entry: dict[str, Any] = {}
        self.entries.append(entry)
        self.title_depth, self.has_content = -1, False  # _start_item, _end_item
        self.children(element, table, entry, depth + 1, lang)
        links = entry.get("links", ())
        # FeedParserDict.enclosures: the links with rel="enclosure", without rel
        entry["enclosures"] = [{k: v for k, v in link.items() if k != "rel"} for link in links if link["rel"] == "enclosure"]

    # -- text elements: (element, context, depth, lang) --------------------------------

    def title(self, element: ET.Element, context: dict, depth: int, lang: str | None) -> None:
        _content_type(element, "text/plain")
        value = self.text(element)
        if not -1 < self.title_depth <= depth:
            context["title"] = value
            context["title_detail"] = {"language": _detail_lang(lang)}
        if value:
            self.title_depth = depth

    def description(self, element: ET.Element, context: dict, depth: int, lang: str | None) -> None:
        self._summary(element, context, lang, "text/html")

    def summary(self, element: ET.Element, context: dict, depth: int, lang: str | None) -> None:
        self._summary(element, context, lang, "text/plain")

    def _summary(self, element: ET.Element, context: dict, lang: str | None, default_type: str) -> None:
        if "summary" in context and not self.has_content:
            # _start_description/_start_summary: a second summary is read as content
            self._content(element, context, lang, "text/plain")
            return
        value, content_type = self._typed_text(element, default_type)
        context["summary"] = value
        context["summary_detail"] = {"type": content_type, "language": _detail_lang(lang)}

    def content(self, element: ET.Element, context: dict, depth: int, lang: str | None) -> None:
        self._content(element, context, lang, "text/plain")

    def encoded(self, element: ET.Element, context: dict, depth: int, lang: str | None) -> None:
        self._content(element, context, lang, "text/html")

    def _content(self, element: ET.Element, context: dict, lang: str | None, default_type: str) -> None:
        self.has_content = True
        value, content_type = self._typed_text(element, default_type)
        context.setdefault("content", []).append({"type": content_type, "language": _detail_lang(lang), "value": value})
        context.setdefault("summary", value)  # _end_content copies text and HTML content to an absent summary

    def _typed_text(self, element: ET.Element, default_type: str) -> tuple[str, str]:
        content_type = _content_type(element, default_type)
        value = self.text(element)
        if not self.atom and content_type == "text/plain" and _looks_like_html(value):
            content_type = "text/html"  # feedparser guesses for RSS text that is nominally plain
        return value, content_type

    def id(self, element: ET.Element, context: dict, depth: int, lang: str | None) -> None:
        is_link = element.get("isPermaLink", "true") == "true"  # Atom <id> has no such attribute: a link
        value = (element.text or "").strip()
        if value and is_link:
            value = _urljoin("", value)
        value = self.repaired(value)
        context["id"] = value
        context.setdefault("guidislink", is_link and "link" not in context)
        if is_link:
            context.setdefault("link", value)

    def link(self, element: ET.Element, context: dict, depth: int, lang: str | None) -> None:
        attributes = {key: value.lower() if key in ("rel", "type") else value for key, value in _plain(element).items()}
        attributes.setdefault("rel", "alternate")
        attributes.setdefault("type", "application/atom+xml" if attributes["rel"] == "self" else "text/html")
        links = context.setdefault("links", [])
        links.append(attributes)
        if "href" in attributes:
            attributes["href"] = href = _urljoin("", attributes["href"])
            if attributes["rel"] == "alternate" and _map_content_type(attributes["type"]) in _HTML_TYPES:
                context["link"] = href
            return
        value = (element.text or "").strip()
        value = self.repaired(_urljoin("", value) if value else value)
        if context is self.feed:
            context["link"] = links[-1]["href"] = _LINK_QUERY.sub(r"&\g<1>", value)
        else:
            context["link"] = value = _LINK_QUERY.sub(r"&\g<1>", value.replace("&amp;", "&"))
            if value:
                links[-1]["href"] = value

    def enclosure(self, element: ET.Element, context: dict, depth: int, lang: str | None) -> None:
        attributes = {key: value.lower() if key == "type" else value for key, value in _plain(element).items()}
        if attributes.get("url"):  # _enforce_href
            attributes["href"] = attributes.pop("url")
        attributes["rel"] = "enclosure"
        context.setdefault("links", []).append(attributes)

    def published(self, element: ET.Element, context: dict, depth: int, lang: str | None) -> None:
        self._date(element, context, "published")

    def updated(self, element: ET.Element, context: dict, depth: int, lang: str | None) -> None:
        self._date(element, context, "updated")

    def _date(self, element: ET.Element, context: dict, key: str) -> None:
        # Without feedparser's reading, f"{key}_parsed": xmlfeed makes it only for dates it cannot read itself.
        if context is not self.feed:  # the feed's own dates are not read
            context[key] = self.text(element)

    def language(self, element: ET.Element, context: dict, depth: int, lang: str | None) -> None:
        context["language"] = self.text(element)

    def category(self, element: ET.Element, context: dict, depth: int, lang: str | None) -> None:
        scheme = element.get("scheme", element.get("domain"))
        _add_tag(context, element.get("term"), scheme, element.get("label"))
        value = self.text(element)
        if value:
            tags = context["tags"]
            if tags and not tags[-1]["term"]:
                tags[-1]["term"] = value  # _end_category: the text completes the tag its attributes began
            else:
                _add_tag(context, value, None, None)

    def author(self, element: ET.Element, context: dict, depth: int, lang: str | None) -> None:
        self.person(element, context, store=True)

    def ignore(self, element: ET.Element, context: dict, depth: int, lang: str | None) -> None:
        if "type" in element.attrib:
            _content_type(element, "text/plain")

    # -- text --------------------------------------------------------------------------

    def text(self, element: ET.Element) -> str:
        return self.repaired((element.text or "").strip())

    def repaired(self, text: str) -> str:
        """feedparser's last steps for text: UTF-8 read as Latin-1 is re-read, C1 controls are Windows-1252."""
        if text.isascii():
            return text
        with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
            text = text.encode("iso-8859-1").decode("utf-8")
        # str.translate with a dict costs a lookup per character, and C1 controls are rare.
        return text.translate(_cp1252) if self.c1_controls else text

    # -- containers ------------------------------------------------------------------

    def person(self, element: ET.Element, context: dict, *, store: bool) -> None:
        """An author (also RSS <author> and <dc:creator>, which have no children) or a contributor."""
        _check_leaves(element, _PERSON)
        if not store:
            return
        context.setdefault("authors", []).append({})
        for child in element:
            key = _PERSON[child.tag]
            value = (child.text or "").strip()  # name and email are not repaired
            if key == "href":
                value = self.repaired(_urljoin("", value) if value else value)
            _sync_author(context)  # _save_author syncs before it stores
            context["authors"][-1][key] = value
        direct = (element.text or "") + "".join(child.tail or "" for child in element)
        context["author"] = self.repaired(direct.strip())
        _sync_author(context)

    def image(self, element: ET.Element, depth: int) -> None:
        """An RSS channel <image>: only its title matters, through title_depth."""
        self.title_depth = -1
        _check_leaves(element, _IMAGE)
        for child in element:
            if child.tag == "title" and self.text(child):
                self.title_depth = depth + 1


def _content_type(element: ET.Element, default: str) -> str:
    given = element.get("type")
    if given is None:
        return default
    # Others are inline XHTML, base64 or left without a summary copy by feedparser.
    return _CONTENT_TYPES.get(given.lower()) or _decline(f'type="{given}" on {_name(element.tag)}')


def _detail_lang(lang: str | None) -> str | None:
    return lang.replace("_", "-") if lang else lang


def _lang(element: ET.Element, inherited: str | None) -> str | None:
    lang = element.get(_XML_LANG)
    if lang is None:
        return inherited
    return lang or None  # xml:lang="" unsets it


def _check(element: ET.Element, allowed: tuple[str, ...]) -> None:
    for name in element.attrib:
        if name != _XML_LANG and name not in allowed:
            raise Declined(f"attribute {_name(name)} on {_name(element.tag)}")


def _check_leaves(element: ET.Element, allowed: Container[str]) -> None:
    for child in element:
        if child.tag not in allowed:
            raise Declined(f"{_name(child.tag)} in {_name(element.tag)}")
        if len(child):
            raise Declined(f"child elements in {_name(child.tag)}")
        _check(child, ())


def _check_declarations(declarations: list[tuple[str, str]], default: str | None) -> None:
    for prefix, uri in declarations:
        if (prefix, uri) not in _PREFIXES and not (prefix == "" and uri == default):
            raise Declined(f'namespace declaration xmlns{":" if prefix else ""}{prefix}="{uri}"')


def _plain(element: ET.Element) -> dict[str, str]:
    return {key: value for key, value in element.attrib.items() if key != _XML_LANG}


def _name(tag: str) -> str:
    """``{http://purl.org/dc/elements/1.1/}creator`` -> ``<dc:creator>``, for the reasons given."""
    if not tag.startswith("{"):
        return f"<{tag}>"
    uri, _, local = tag[1:].partition("}")
    return f"<{_PREFIX_OF[uri]}:{local}>" if uri in _PREFIX_OF else f"<{{{uri}}}{local}>"


def _add_tag(context: dict, term: str | None, scheme: str | None, label: str | None) -> None:
    tags = context.setdefault("tags", [])
    if not term and not scheme and not label:
        return
    tag = {"term": term, "scheme": scheme, "label": label}
    if tag not in tags:
        tags.append(tag)


def _sync_author(context: dict) -> None:
    """feedparser.mixin._sync_author_detail for "author", the parts that decide ``author``."""
    detail = context.get("authors", [{}])[-1]
    if detail:
        name, email = detail.get("name"), detail.get("email")
        if name and email:
            context["author"] = f"{name} ({email})"
        elif name:
            context["author"] = name
        elif email:
            context["author"] = email
        return
    author, email = context.get("author"), None
    if not author:
        return
    match = _EMAIL.search(author)
    if match:
        email = match.group(0)
        author = author.replace(email, "").replace("()", "").replace("<>", "").replace("&lt;&gt;", "").strip()
        if author and author[0] == "(":
            author = author[1:]
        if author and author[-1] == ")":
            author = author[:-1]
        author = author.strip()
    # An author read from text fills the detail that a later <name> or <email> joins.
    if author:
        detail["name"] = author
    if email:
        detail["email"] = email


def _decline(reason: str) -> Any:
    raise Declined(reason)
