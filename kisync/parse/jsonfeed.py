"""JSON Feed 1.0 and 1.1 (https://www.jsonfeed.org/version/1.1/)."""

from __future__ import annotations

import html
from typing import Any

from kisync.errors import ParseError
from kisync.parse.dates import parse_date
from kisync.parse.markup import text_to_html
from kisync.parse.types import FeedEntry, ParsedDocument, ParseWarning

VERSION_PREFIXES = ("https://jsonfeed.org/version/1", "http://jsonfeed.org/version/1")


def is_json_feed(document: dict[str, Any]) -> bool:
    version = document.get("version")
    return isinstance(version, str) and version.startswith(VERSION_PREFIXES)


def parse_json_feed(document: dict[str, Any], url: str) -> ParsedDocument:
    items = document.get("items")
    if not isinstance(items, list):
        raise ParseError("a JSON Feed without an `items` array")
    version = document["version"].rstrip("/").rsplit("/", 1)[-1]
    feed_language = _str(document.get("language"))
    doc = ParsedDocument(
        format="jsonfeed",
        feed_title=_str(document.get("title")),
        feed_link=_str(document.get("home_page_url")),
        feed_language=feed_language,
        url=url,
        feed_version=f"jsonfeed{version}",
    )
    for position, item in enumerate(items):
        where = f"items[{position}]"
        if not isinstance(item, dict):
            doc.warnings.append(ParseWarning(where, f"not an object ({_kind_of(item)}); skipped"))
            continue
        guid = _id(item.get("id"))
        if guid is None:
            # JSON Feed 1.1, "id (required, string)": without it an item cannot be tracked.
            doc.warnings.append(ParseWarning(where, "no `id`; skipped"))
            continue
        doc.entries.append(_entry(item, guid, position, feed_language, doc.warnings))
    return doc


def _entry(item: dict[str, Any], guid: str, position: int, feed_language: str | None, warnings: list[ParseWarning]) -> FeedEntry:
    where = f"items[{position}]"
    content = _str(item.get("content_html"))
    if content is None and _str(item.get("content_text")):
        content = text_to_html(item["content_text"])
    summary = _str(item.get("summary"))  # plain text in JSON Feed
    published = _date(item, "date_published", where, warnings)
    updated = _date(item, "date_modified", where, warnings)
    return FeedEntry(
        guid=guid,
        link=_str(item.get("url")) or _str(item.get("external_url")),
        title=_str(item.get("title")),
        summary=html.escape(summary, quote=False) if summary else None,
        content=content,
        published=published,
        updated=updated,
        categories=[tag.strip() for tag in item.get("tags") or [] if isinstance(tag, str) and tag.strip()]
        if isinstance(item.get("tags"), list)
        else [],
        language=_str(item.get("language")) or feed_language,  # `language` is JSON Feed 1.1
        author=_author(item),
        attachments=_attachments(item.get("attachments")),
        position=position,
    )


def _id(value: Any) -> str | None:
    # JSON Feed 1.1: an id given as a number must be read as a string.
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return str(value)
    return _str(value)


def _date(item: dict[str, Any], key: str, where: str, warnings: list[ParseWarning]):
    raw = item.get(key)
    if raw is None:
        return None
    moment = parse_date(raw)
    if moment is None:
        warnings.append(ParseWarning(f"{where}.{key}", f"unreadable date {str(raw)[:60]!r}; ignored", code="bad_date"))
    return moment


def _author(item: dict[str, Any]) -> str | None:
    authors = item.get("authors")
    if isinstance(authors, list) and authors and isinstance(authors[0], dict):
        return _str(authors[0].get("name"))
    author = item.get("author")  # JSON Feed 1.0
    if isinstance(author, dict):
        return _str(author.get("name"))
    return None


def _attachments(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        return []
    result: list[dict[str, Any]] = []
    for attachment in value:
        if not isinstance(attachment, dict) or not _str(attachment.get("url")):
            continue
        entry: dict[str, Any] = {"url": attachment["url"].strip()}
        if _str(attachment.get("mime_type")):
            entry["media_type"] = attachment["mime_type"].strip()
        if _str(attachment.get("title")):
            entry["title"] = attachment["title"].strip()
        size = attachment.get("size_in_bytes")
        if isinstance(size, int) and not isinstance(size, bool) and size >= 0:
            entry["size"] = size
        result.append(entry)
    return result


def _str(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _kind_of(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(type(value), "a number")
