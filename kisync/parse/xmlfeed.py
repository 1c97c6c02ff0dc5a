"""RSS 0.9x/1.0/2.0 and Atom, read by feedparser from bytes we hand it.

Three things feedparser is not trusted with:

- **Fetching.** ``feedparser.parse(bytes)`` first tries ``open(bytes)``
  as a file name, and fetches a ``str`` that looks like a URL. It gets a
  ``BytesIO``, which it only reads.
- **Entity declarations.** A DOCTYPE that declares entities is refused
  before feedparser sees it (billion laughs, external entities). feedparser
  and expat have their own defences, but they change between versions and
  between the strict and the lenient parser; refusing the declaration is a
  guarantee that does not depend on either.
- **Encodings.** The text is decoded here (``kisync.parse.encoding``) and
  handed over as UTF-8 with a matching Content-Type, so a wrong
  declaration is repaired once, with a warning, in one place.

``sanitize_html=False, resolve_relative_uris=False``: nh3 sanitizes and the
normalizer resolves links later, for every format alike; doing it twice
only costs time (on a 500-entry feed with HTML descriptions: 0.1 s without,
2.2 s with).

Plain RSS 2.0 and Atom 1.0, the common case, are read by
``kisync.parse.fastxml`` instead: the same result as feedparser's, at a
sixth of the CPU (``bench/parse.py``). Anything it does not reproduce
exactly it leaves to feedparser, and ``fast=False`` leaves everything to it.
"""

from __future__ import annotations

import io
import re
from typing import Any

import feedparser
from feedparser.datetimes import _parse_date as _feedparser_parse_date

from kisync.errors import ParseError
from kisync.parse.dates import from_struct_time, parse_date
from kisync.parse.fastxml import read_feed
from kisync.parse.markup import text_to_html
from kisync.parse.types import FeedEntry, ParsedDocument, ParseWarning

_DOCTYPE = re.compile(r"<!DOCTYPE", re.IGNORECASE)
_ENTITY = re.compile(r"<!ENTITY", re.IGNORECASE)
_ROOT_NAME = re.compile(r"<([A-Za-z_][\w.\-]*(?::[\w.\-]+)?)")
_TEXT_TYPES = ("text/plain", "text")

FEED_VERSIONS = {
    "rss090": "RSS 0.90",
    "rss091n": "RSS 0.91",
    "rss091u": "RSS 0.91",
    "rss092": "RSS 0.92",
    "rss093": "RSS 0.93",
    "rss094": "RSS 0.94",
    "rss20": "RSS 2.0",
    "rss10": "RSS 1.0",
    "rss": "RSS",
    "atom01": "Atom 0.1",
    "atom02": "Atom 0.2",
    "atom03": "Atom 0.3",
    "atom10": "Atom 1.0",
    "atom": "Atom",
    "cdf": "CDF",
}


def refuse_entity_declarations(text: str) -> None:
    """Raise ParseError when a DOCTYPE comes with ``<!ENTITY`` declarations.

    Deliberately coarse: a ``<!DOCTYPE`` anywhere, followed anywhere by
    ``<!ENTITY``. Finding the exact end of a DOCTYPE's internal subset
    takes a real XML parser (a ``]>`` can hide in a processing instruction
    or a comment), and feedparser's lenient parser accepts a DOCTYPE after
    junk that expat would refuse; a precise check would have to agree with
    both. The price of coarseness is refusing a feed that quotes both
    strings in a CDATA section, which KI feeds do not do.
    """
    doctype = _DOCTYPE.search(text)
    if doctype and _ENTITY.search(text, doctype.start()):
        raise ParseError("XML entity declarations are not allowed (a DOCTYPE with <!ENTITY); the feed is refused")


def parse_xml_feed(text: str, url: str, *, fast: bool = True) -> ParsedDocument:
    """An RSS or Atom feed; ``fast=False`` skips the fast path (the tests compare the two)."""
    refuse_entity_declarations(text)
    parsed = (fast and read_feed(text)) or _read_with_feedparser(text)
    version = parsed.get("version") or ""
    entries = parsed.get("entries") or []
    warnings: list[ParseWarning] = []
    if parsed.get("bozo"):
        reason = _reason(parsed.get("bozo_exception"))
        if not entries:
            raise ParseError(f"not a readable feed: {reason}")
        warnings.append(
            ParseWarning(
                "document",
                f"the XML is not well-formed ({reason}); kept what the lenient parser could read "
                f"({len(entries)} {'entry' if len(entries) == 1 else 'entries'})",
                code="malformed_xml",
            )
        )
    elif not version and not entries:
        root = _ROOT_NAME.search(text)
        name = f"<{root.group(1)}>" if root else "no element"
        raise ParseError(f"XML, but not an RSS or Atom feed (root element {name})")
    feed = parsed.get("feed") or {}
    doc = ParsedDocument(
        format="atom" if version.startswith("atom") else "rss",
        feed_title=_text_value(feed, "title"),
        feed_link=_str(feed.get("link")),
        feed_language=_str(feed.get("language")) or _detail_language(feed, "title"),
        warnings=warnings,
        url=url,
        feed_version=version or None,
    )
    for position, entry in enumerate(entries):
        doc.entries.append(_entry(entry, position, doc.feed_language))
    return doc


def _read_with_feedparser(text: str) -> Any:
    # kisync.parse.fastxml gives the result of exactly this call; change an
    # argument and tests/test_parse_fast.py says where the two part.
    return feedparser.parse(
        io.BytesIO(text.encode("utf-8", errors="replace")),
        # No Content-Location: feedparser would resolve guids against it as
        # if they were links, and a guid is an opaque string (RSS 2.0 <guid>).
        # Relative links stay relative here; the normalizer resolves them.
        response_headers={"content-type": "application/xml; charset=utf-8"},
        sanitize_html=False,
        resolve_relative_uris=False,
    )


def _entry(entry: Any, position: int, feed_language: str | None) -> FeedEntry:
    content = None
    for item in entry.get("content") or []:
        if item.get("value"):
            content = _as_html(item["value"], item.get("type"))
            break
    summary = entry.get("summary")
    if summary:
        summary = _as_html(summary, (entry.get("summary_detail") or {}).get("type"))
    published = _date(entry, "published") or _date(entry, "created")
    updated = _date(entry, "updated")
    guid, link = _str(entry.get("id")), _str(entry.get("link"))
    if entry.get("guidislink") and link == guid and not (link or "").lower().startswith(("http://", "https://")):
        # RSS 2.0 <guid> is a permalink unless isPermaLink="false", so
        # feedparser makes a guid like "news-0148" the link. It is no link.
        link = None
    return FeedEntry(
        guid=guid,
        link=link,
        title=_str(entry.get("title")),
        summary=_str(summary),
        content=content,
        published=published,
        updated=updated,
        categories=_categories(entry.get("tags") or []),
        language=_entry_language(entry) or feed_language,
        author=_str(entry.get("author")),
        attachments=_enclosures(entry.get("enclosures") or []),
        position=position,
    )


def _as_html(value: str, content_type: str | None) -> str:
    """Text content as HTML that shows the same text, so every summary/content is HTML."""
    if (content_type or "").lower() in _TEXT_TYPES:
        return text_to_html(value)
    return value


def _date(entry: Any, key: str):
    # The raw string first: feedparser reads a date without offset as UTC,
    # we read it as Berlin time. Its struct_time is the fallback for the
    # odd formats only it knows.
    # dict.get, not entry.get: feedparser's mapping would answer "updated"
    # with the published date (and a DeprecationWarning), and we want to
    # know which of the two the feed actually gave.
    raw = dict.get(entry, key)
    return parse_date(raw) or from_struct_time(_feedparser_reading(entry, key, raw))


def _feedparser_reading(entry: Any, key: str, raw: Any):
    """feedparser's struct_time for the date; fastxml leaves it out, and it is only needed here, rarely."""
    if dict.__contains__(entry, f"{key}_parsed"):
        return dict.get(entry, f"{key}_parsed")
    return _feedparser_parse_date(raw) if isinstance(raw, str) else None  # what feedparser stores beside raw


def _categories(tags: list[Any]) -> list[str]:
    result: list[str] = []
    for tag in tags:
        term = _str(tag.get("term")) or _str(tag.get("label"))
        if term and term not in result:
            result.append(term)
    return result


def _enclosures(enclosures: list[Any]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = []
    for enclosure in enclosures:
        href = _str(enclosure.get("href"))
        if not href:
            continue
        attachment: dict[str, Any] = {"url": href}
        if _str(enclosure.get("type")):
            attachment["media_type"] = enclosure["type"].strip()
        length = str(enclosure.get("length") or "").strip()
        if length.isdigit():
            attachment["size"] = int(length)
        if _str(enclosure.get("title")):
            attachment["title"] = enclosure["title"].strip()
        result.append(attachment)
    return result


def _entry_language(entry: Any) -> str | None:
    return _str(entry.get("language")) or _detail_language(entry, "title") or _detail_language(entry, "summary")


def _detail_language(mapping: Any, key: str) -> str | None:
    detail = mapping.get(f"{key}_detail") or {}
    return _str(detail.get("language"))


def _text_value(mapping: Any, key: str) -> str | None:
    return _str(mapping.get(key))


def _str(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _reason(error: object) -> str:
    if error is None:
        return "unknown error"
    text = str(error) or type(error).__name__
    return text.replace("<unknown>:", "line ").strip()[:300]


def describe_version(version: str | None) -> str:
    """``RSS 2.0``, ``Atom 1.0``; ``RSS or Atom`` when feedparser could not tell."""
    return FEED_VERSIONS.get(version or "", "RSS or Atom")
