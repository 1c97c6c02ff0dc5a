"""JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/).

Each item carries a ``_kisync`` extension (JSON Feed 1.1, "Extensions":
custom objects start with an underscore and say what they are in
``about``) with what a kisync-aware reader needs beyond the feed:
origin, fields of action, kind and the route the item took (``via``);
``also_reported_by`` lists the other items of the same report, which the
feed shows once (``kisync.store.reports``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from kisync.model import Item
from kisync.web.feeds.common import FeedMeta, item_link

VERSION = "https://jsonfeed.org/version/1.1"
MEDIA_TYPE = "application/feed+json; charset=utf-8"
EXTENSION_ABOUT = "https://kisync.example/ns/jsonfeed"


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def render_jsonfeed(meta: FeedMeta, items: Sequence[Item]) -> bytes:
    feed = {
        "version": VERSION,
        "title": meta.title,
        "home_page_url": meta.home_url,
        "feed_url": meta.self_url,
        "description": meta.description,
        "language": meta.language,
        "authors": [{"name": meta.author}],
        "items": [_item(item, meta) for item in items],
    }
    return json.dumps(feed, ensure_ascii=False, separators=(",", ":")).encode()


def _item(item: Item, meta: FeedMeta) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": item.id, "url": item_link(item, meta), "title": item.title}
    # One of content_html and content_text is required (JSON Feed 1.1, items).
    if item.content_html:
        entry["content_html"] = item.content_html
    else:
        entry["content_text"] = item.summary or item.title
    if item.summary:
        entry["summary"] = item.summary
    entry["date_published"] = _rfc3339(item.created)
    entry["date_modified"] = _rfc3339(item.modified)
    author: dict[str, str] = {"name": item.origin.name}
    if item.origin.url:
        author["url"] = item.origin.url
    entry["authors"] = [author]
    if item.tags:
        entry["tags"] = list(item.tags)
    entry["language"] = item.language
    if item.attachments:
        entry["attachments"] = [_attachment(a) for a in item.attachments]
    entry["_kisync"] = {
        "about": EXTENSION_ABOUT,
        "kind": item.kind.value,
        "origin": item.origin.model_dump(mode="json", exclude_none=True),
        "fields_of_action": [f.value for f in item.fields_of_action],
        "audience": list(item.audience),
        "programmes": list(item.programmes),
        "via": list(item.via),
    }
    also = (item.model_extra or {}).get("_also_reported_by")
    if also:
        # The same page reported by other items, which this feed does not repeat (kisync.store.reports).
        entry["_kisync"]["also_reported_by"] = [{"id": a["id"], "origin": a["origin"]} for a in also]
    return entry


def _attachment(attachment) -> dict[str, Any]:
    # mime_type is required in JSON Feed, optional in exchange v1.
    out: dict[str, Any] = {"url": attachment.url, "mime_type": attachment.media_type or "application/octet-stream"}
    if attachment.title:
        out["title"] = attachment.title
    if attachment.size is not None:
        out["size_in_bytes"] = attachment.size
    return out
