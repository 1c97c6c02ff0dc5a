"""What the parsers produce: a neutral document, before normalization."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Format = Literal["exchange", "rss", "atom", "jsonfeed"]


@dataclass
class FeedEntry:
    """One entry of an RSS, Atom or JSON Feed, as the feed said it (not yet trusted)."""

    guid: str | None
    link: str | None
    title: str | None
    summary: str | None  # HTML or text as given
    content: str | None  # HTML as given
    published: datetime | None
    updated: datetime | None
    categories: list[str] = field(default_factory=list)
    language: str | None = None
    author: str | None = None
    attachments: list[dict[str, Any]] = field(default_factory=list)  # {url, media_type?, size?, title?}
    position: int = 0  # index in the feed, for warnings


@dataclass
class ParseWarning:
    where: str  # e.g. "entry 3" or "data[2].title"
    message: str
    code: str = "bad_entry"


@dataclass
class ParsedDocument:
    format: Format
    # exchange: raw item dicts (validated later, one by one, so a bad item is a warning)
    exchange_items: list[dict[str, Any]] = field(default_factory=list)
    # rss / atom / jsonfeed
    entries: list[FeedEntry] = field(default_factory=list)
    feed_title: str | None = None
    feed_link: str | None = None
    feed_language: str | None = None
    # exchange document envelope
    publisher: dict[str, Any] | None = None
    complete: bool = False
    generated: datetime | None = None  # when the publisher generated the document (aware UTC)
    next_url: str | None = None
    cursor: str | None = None
    warnings: list[ParseWarning] = field(default_factory=list)
    # Added by the parse package (optional, defaults keep old callers working):
    url: str | None = None  # where the body came from, as passed to parse_document
    feed_version: str | None = None  # "rss20", "rss091u", "rss10", "atom10", "jsonfeed1.1", "exchange1.0", ...
    # exchange: index in `data` of each entry of exchange_items (non-objects are left out, so they differ)
    exchange_positions: list[int] = field(default_factory=list)
