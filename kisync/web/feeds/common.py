"""What the three feed formats share: the feed's metadata and text hygiene."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from kisync import __version__
from kisync.model import Item

GENERATOR = "kisync"
GENERATOR_URI = "https://kisync.example/"
GENERATOR_VERSION = __version__
# Our category schemes (Atom) and domains (RSS): codes of the vocabularies.
SCHEME = "https://kisync.example/ns/"

# XML 1.0 §2.2: characters a document may not contain at all, even escaped.
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class FeedMeta:
    title: str
    description: str
    self_url: str  # this feed, with its query: also the Atom feed id
    home_url: str  # the HTML overview
    api_base: str  # base URL for links to items without their own URL
    updated: datetime
    language: str = "de"
    author: str = "Kommunales Integrationszentrum"


def xml_text(text: str | None) -> str:
    """Text safe for XML: the characters XML 1.0 forbids are dropped."""
    return _NOT_XML.sub("", text or "")


def item_link(item: Item, meta: FeedMeta) -> str:
    """The item's own page, or its record in this node's API."""
    return item.url or f"{meta.api_base}/api/v1/items/{quote(item.id, safe='')}"


def content_text(item: Item) -> str:
    return item.summary or item.title
