"""OPML 2.0 for the source list: export for feed readers, import from them.

Imported outlines need a centre (``kisync:centre`` attribute, or one given
for the whole file), since only a source's own centre may change its items.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import format_datetime
from xml.parsers import expat

from kisync.config import SourceSettings
from kisync.errors import ParseError
from kisync.sources import Source

NS = "https://kisync.example/ns/opml"  # namespace of our outline attributes
ET.register_namespace("kisync", NS)


def render_opml(sources: Sequence[Source], *, title: str) -> bytes:
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = format_datetime(datetime.now(UTC), usegmt=True)
    body = ET.SubElement(root, "body")
    for source in sources:
        attrs = {
            "type": "rss",
            "text": source.id,
            "title": source.id,
            "xmlUrl": source.url,
            f"{{{NS}}}id": source.id,
            f"{{{NS}}}format": source.format,
            f"{{{NS}}}interval": str(int(source.interval)),
        }
        if source.centre:
            attrs[f"{{{NS}}}centre"] = source.centre
        if source.relay:
            attrs[f"{{{NS}}}relay"] = "true"
        if not source.enabled:
            attrs[f"{{{NS}}}enabled"] = "false"
        ET.SubElement(body, "outline", attrs)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:100] or "source"


def _refuse_doctype(data: bytes) -> None:
    """ParseError when the document has a DOCTYPE (and so, possibly, entity declarations).

    Asked of expat itself rather than of the text: a DOCTYPE may follow a long
    comment, or hide in UTF-16, where a look at the first bytes misses it.
    The handler fires at the DOCTYPE's start, before any entity is declared.
    """

    def refuse(*_: object) -> None:
        raise ParseError("OPML: DOCTYPE and entity declarations are not allowed")

    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    try:
        parser.Parse(data, True)
    except expat.ExpatError as error:
        raise ParseError(f"OPML: invalid XML: {error}") from None


def parse_opml(data: bytes, *, centre: str | None = None) -> list[SourceSettings]:
    _refuse_doctype(data)
    try:
        root = ET.fromstring(data)
    except ET.ParseError as error:
        raise ParseError(f"OPML: invalid XML: {error}") from None
    if root.tag != "opml":
        raise ParseError(f"OPML: the root element is <{root.tag}>, not <opml>")
    sources: list[SourceSettings] = []
    ids: set[str] = set()
    for number, outline in enumerate(root.iter("outline"), start=1):
        url = outline.get("xmlUrl")
        if not url:
            continue  # a folder outline
        # Our own export names the id exactly; a title only suggests one ("Stadt Köln" -> "stadt-k-ln").
        source_id = outline.get(f"{{{NS}}}id") or _slug(outline.get("title") or outline.get("text") or url)
        while source_id in ids:
            source_id = f"{source_id}-{number}"
        ids.add(source_id)
        values = {
            "id": source_id,
            "url": url,
            "format": outline.get(f"{{{NS}}}format", "auto"),
            "centre": outline.get(f"{{{NS}}}centre") or centre,
            "relay": outline.get(f"{{{NS}}}relay") == "true",
            "enabled": outline.get(f"{{{NS}}}enabled", "true") != "false",
        }
        if outline.get(f"{{{NS}}}interval"):
            values["interval"] = outline.get(f"{{{NS}}}interval")
        try:
            sources.append(SourceSettings.model_validate(values))
        except ValueError as error:
            raise ParseError(f"OPML outline {number} ({url}): {error}") from None
    return sources
