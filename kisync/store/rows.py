"""What an item's row in the store holds that depends on the item alone.

The exchange JSON, the search text, the report key and the facet pairs of
an item are the same wherever they are computed. A sync computes them on
its parser processes (``kisync.pipeline``), beside the item, so that the
store writer, the one thread every merge passes through, only writes them.
This module imports no database code: the parser processes load it.
"""

from __future__ import annotations

import html
import re
from typing import NamedTuple

from kisync.model import Item, Tombstone
from kisync.store.reports import report_key


class RowParts(NamedTuple):
    """An item's stored JSON, search text, report key and sorted facet pairs (``row_parts``)."""

    data: str
    search_text: str | None
    report_key: str | None
    facets: tuple[tuple[str, str], ...]


def row_parts(item: Item | Tombstone) -> RowParts:
    if isinstance(item, Item):
        return RowParts(item_to_json(item), search_text(item), report_key(item.url), tuple(sorted(set(facets_of(item)))))
    return RowParts(item_to_json(item), None, None, ())


def item_to_json(item: Item | Tombstone) -> str:
    """The exchange-format JSON of an item, as stored and served."""
    return item.model_dump_json(exclude_none=True, exclude_defaults=False)


FACETS = ("field", "audience", "programme", "tag")


def facets_of(item: Item) -> list[tuple[str, str]]:
    """The (facet, value) pairs a feed can filter an item by."""
    pairs = [("field", f.value) for f in item.fields_of_action]
    pairs += [("audience", a) for a in item.audience]
    pairs += [("programme", p) for p in item.programmes]
    pairs += [("tag", t.lower()) for t in item.tags]
    return pairs


_TAG = re.compile(r"<[^>]*>")


def search_text(item: Item) -> str:
    """Title, summary and the text of the content, for full-text search."""
    content = html.unescape(_TAG.sub(" ", item.content_html or ""))
    return " ".join(" ".join(filter(None, [item.title, item.summary, content])).split())
