"""Atom 1.0 (RFC 4287).

Every entry has an ``atom:author`` (its origin centre), the feed one too
(this node) so the feed stays valid whatever the entries carry (§4.1.1);
every entry has ``atom:content`` or ``link rel="alternate"`` (§4.1.2),
here always both where the item has a page.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, datetime

from kisync.model import Item
from kisync.vocab import AUDIENCES, PROGRAMMES, FieldOfAction, Kind
from kisync.web.feeds.common import GENERATOR, GENERATOR_URI, GENERATOR_VERSION, SCHEME, FeedMeta, item_link, xml_text

ATOM = "http://www.w3.org/2005/Atom"
MEDIA_TYPE = "application/atom+xml; charset=utf-8"


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _el(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = xml_text(text)
    return element


def render_atom(meta: FeedMeta, items: Sequence[Item]) -> bytes:
    # Unprefixed names in the Atom namespace, declared by hand: ElementTree's
    # default_namespace refuses the unprefixed attributes every element has.
    feed = ET.Element("feed", {"xmlns": ATOM, "xml:lang": meta.language})
    _el(feed, "id", meta.self_url)
    _el(feed, "title", meta.title)
    _el(feed, "subtitle", meta.description)
    _el(feed, "updated", _rfc3339(meta.updated))
    _el(feed, "link", rel="self", href=meta.self_url, type="application/atom+xml")
    _el(feed, "link", rel="alternate", href=meta.home_url, type="text/html")
    author = _el(feed, "author")
    _el(author, "name", meta.author)
    _el(feed, "generator", GENERATOR, uri=GENERATOR_URI, version=GENERATOR_VERSION)
    for item in items:
        _entry(feed, item, meta)
    ET.indent(feed)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _entry(feed: ET.Element, item: Item, meta: FeedMeta) -> None:
    entry = _el(feed, "entry")
    _el(entry, "id", item.id)
    _el(entry, "title", item.title, type="text")
    _el(entry, "updated", _rfc3339(item.modified))
    _el(entry, "published", _rfc3339(item.created))
    # The item's page, or (without one) its record in our API.
    _el(entry, "link", rel="alternate", href=item_link(item, meta), type="text/html" if item.url else "application/json")
    author = _el(entry, "author")
    _el(author, "name", item.origin.name)
    if item.origin.url:
        _el(author, "uri", item.origin.url)
    _el(entry, "category", term=item.kind.value, scheme=f"{SCHEME}kind", label=Kind(item.kind).label)
    for field in item.fields_of_action:
        _el(entry, "category", term=field.value, scheme=f"{SCHEME}field", label=FieldOfAction(field).label)
    for code in item.audience:
        _el(entry, "category", term=code, scheme=f"{SCHEME}audience", label=AUDIENCES.get(code, code))
    for code in item.programmes:
        _el(entry, "category", term=code, scheme=f"{SCHEME}programme", label=PROGRAMMES.get(code, code))
    for tag in item.tags:
        _el(entry, "category", term=tag)
    if item.summary:
        _el(entry, "summary", item.summary, type="text")
    if item.content_html:
        _el(entry, "content", item.content_html, type="html")
