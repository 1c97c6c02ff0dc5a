"""RSS 2.0 (https://www.rssboard.org/rss-specification).

Dates are RFC 822 (with four-digit years, as RSS readers expect), every
item has a ``guid`` (the item id: unique and stable) and an absolute
``link``; ``atom:link rel="self"`` is the RSS Advisory Board's
recommendation for feeds that know their own URL.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from email.utils import format_datetime

from kisync.model import Item
from kisync.vocab import FieldOfAction, Kind
from kisync.web.feeds.common import GENERATOR, GENERATOR_VERSION, SCHEME, FeedMeta, content_text, item_link, xml_text

ATOM = "http://www.w3.org/2005/Atom"
CONTENT = "http://purl.org/rss/1.0/modules/content/"
DC = "http://purl.org/dc/elements/1.1/"
MEDIA_TYPE = "application/rss+xml; charset=utf-8"
# The prefixes readers and validators know these namespaces by.
for _prefix, _uri in (("atom", ATOM), ("content", CONTENT), ("dc", DC)):
    ET.register_namespace(_prefix, _uri)


def _rfc822(moment) -> str:
    return format_datetime(moment, usegmt=True)


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = xml_text(text)
    return element


def render_rss(meta: FeedMeta, items: Sequence[Item]) -> bytes:
    root = ET.Element("rss", {"version": "2.0"})
    channel = ET.SubElement(root, "channel")
    _sub(channel, "title", meta.title)
    _sub(channel, "link", meta.home_url)
    _sub(channel, "description", meta.description)
    _sub(channel, f"{{{ATOM}}}link", href=meta.self_url, rel="self", type="application/rss+xml")
    _sub(channel, "language", meta.language)
    _sub(channel, "lastBuildDate", _rfc822(meta.updated))
    _sub(channel, "generator", f"{GENERATOR} {GENERATOR_VERSION}")
    _sub(channel, "docs", "https://www.rssboard.org/rss-specification")
    for item in items:
        _item(channel, item, meta)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _item(channel: ET.Element, item: Item, meta: FeedMeta) -> None:
    element = ET.SubElement(channel, "item")
    link = item_link(item, meta)
    _sub(element, "title", item.title)
    _sub(element, "link", link)
    _sub(element, "description", content_text(item))
    if item.content_html:
        _sub(element, f"{{{CONTENT}}}encoded", item.content_html)
    _sub(element, f"{{{DC}}}creator", item.origin.name)
    _sub(element, "category", Kind(item.kind).label, domain=f"{SCHEME}kind/{item.kind.value}")
    for field in item.fields_of_action:
        _sub(element, "category", FieldOfAction(field).label, domain=f"{SCHEME}field/{field.value}")
    for tag in item.tags:
        _sub(element, "category", tag)
    # The id is a permalink only where it is the page itself.
    _sub(element, "guid", item.id, isPermaLink="true" if item.id == link else "false")
    _sub(element, "pubDate", _rfc822(item.modified))
