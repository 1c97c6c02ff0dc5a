"""Exchange v1 documents as this node serves them (DESIGN.md, "Exchange format v1").

Items are stored as exchange JSON already; a document is assembled from
the published items' JSON text, one item at a time, so that even a large
snapshot is one pass over the rows and one join.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from kisync.centres import registry
from kisync.model import EXCHANGE_VERSION
from kisync.web.context import WebContext

MAX_URL = 2048  # the schema's bound on links


def dump(value: Any) -> str:
    """Compact JSON text, as every exchange document holds it."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def node_publisher(ctx: WebContext) -> dict[str, Any]:
    publisher: dict[str, Any] = {"id": ctx.settings.node.centre, "name": ctx.settings.node.name}
    entry = registry().get(ctx.settings.node.centre)
    if entry is not None:
        publisher["ars"] = entry.key
    publisher["url"] = ctx.settings.node.base_url
    return publisher


def links(self_url: str | None, next_url: str | None = None) -> dict[str, str]:
    """The document's links; one longer than the schema allows is left out (the cursor still pages)."""
    out = {}
    if self_url and len(self_url) <= MAX_URL:
        out["self"] = self_url
    if next_url and len(next_url) <= MAX_URL:
        out["next"] = next_url
    return out


def render_document(
    *,
    publisher: dict[str, Any],
    items: Iterable[str],
    complete: bool = False,
    links: dict[str, str] | None = None,
    cursor: str | None = None,
    extensions: dict[str, Any] | None = None,
) -> bytes:
    head: dict[str, Any] = {
        "exchange_version": EXCHANGE_VERSION,
        "publisher": publisher,
        "generated": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "complete": complete,
    }
    tail: dict[str, Any] = {"links": links or {}}
    if cursor is not None:
        tail["cursor"] = cursor
    tail.update(extensions or {})
    # The items are JSON text already (``dump``): a large snapshot is joined, not dumped again.
    parts = [dump(head)[:-1], ',"data":[', ",".join(items), "],", dump(tail)[1:]]
    return "".join(parts).encode()
