"""Exchange format v1 documents: the envelope is checked here, items later.

Items stay raw dicts: the normalizer validates them one by one, so one bad
item is a warning and the others still count. The envelope is different:
``publisher`` and ``complete`` decide what a snapshot deletes, so an
envelope we cannot read with certainty makes the whole document unusable.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin, urlsplit

from pydantic import ValidationError as PydanticValidationError

from kisync.errors import ParseError
from kisync.model import SUPPORTED_EXCHANGE_VERSION, Centre
from kisync.parse.dates import parse_date
from kisync.parse.types import ParsedDocument, ParseWarning

_ENVELOPE = {"exchange_version", "publisher", "generated", "complete", "data", "links", "cursor"}
# Deeper than this an item is not a project description but an attack on
# whatever walks it next (pydantic, json.dumps for the content hash).
MAX_ITEM_DEPTH = 32
MAX_CURSOR = 200


def is_exchange(document: dict[str, Any]) -> bool:
    return "exchange_version" in document


def parse_exchange(document: dict[str, Any], url: str) -> ParsedDocument:
    version = document.get("exchange_version")
    if not isinstance(version, str) or not SUPPORTED_EXCHANGE_VERSION.match(version):
        raise ParseError(f"exchange_version {version} is not supported; this kisync reads exchange format 1.x")
    doc = ParsedDocument(format="exchange", url=url, feed_version=f"exchange{version}")
    doc.publisher = _publisher(document.get("publisher"))
    complete = document.get("complete", False)
    if not isinstance(complete, bool):
        # Read wrongly, `complete` deletes items (or fails to): refuse rather than guess.
        raise ParseError(f"`complete` must be true or false, not {complete!r}")
    doc.complete = complete
    data = document.get("data")
    if not isinstance(data, list):
        raise ParseError("an exchange document without a `data` array")

    doc.generated = parse_date(document.get("generated"))
    if doc.generated is None:
        doc.warnings.append(ParseWarning("generated", "missing or unreadable `generated`", code="bad_envelope"))
    doc.next_url = _next_url(document.get("links"), url, doc.warnings)
    doc.cursor = _cursor(document.get("cursor"), doc.warnings)
    for key in sorted(set(document) - _ENVELOPE):
        if not key.startswith("_"):
            doc.warnings.append(ParseWarning(key, f"unknown field {key!r} in the document; ignored", code="bad_envelope"))

    for index, item in enumerate(data):
        where = f"data[{index}]"
        if not isinstance(item, dict):
            doc.warnings.append(ParseWarning(where, f"not an object ({_type_name(item)}); skipped"))
        elif _deeper_than(item, MAX_ITEM_DEPTH):
            doc.warnings.append(ParseWarning(where, f"nested more than {MAX_ITEM_DEPTH} levels deep; skipped"))
        else:
            doc.exchange_items.append(item)
            doc.exchange_positions.append(index)
    return doc


def _publisher(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ParseError("an exchange document without a `publisher` object")
    try:
        Centre.model_validate(value)
    except PydanticValidationError as error:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'publisher'}: {e['msg']}" for e in error.errors()[:5])
        raise ParseError(f"`publisher` is not a valid centre: {problems}") from None
    return value


def _next_url(links: Any, url: str, warnings: list[ParseWarning]) -> str | None:
    if links is None:
        return None
    if not isinstance(links, dict):
        warnings.append(ParseWarning("links", "`links` is not an object; ignored", code="bad_envelope"))
        return None
    raw = links.get("next")
    if raw is None:
        return None
    if isinstance(raw, str) and raw.strip():
        absolute = urljoin(url, raw.strip()) if urlsplit(url).scheme in ("http", "https") else raw.strip()
        parts = urlsplit(absolute)
        if parts.scheme in ("http", "https") and parts.netloc:
            return absolute
    warnings.append(ParseWarning("links.next", f"not an http(s) URL: {str(raw)[:100]!r}; paging stops here", code="bad_envelope"))
    return None


def _cursor(value: Any, warnings: list[ParseWarning]) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and 0 < len(value) <= MAX_CURSOR:
        return value
    warnings.append(ParseWarning("cursor", f"not a string of 1 to {MAX_CURSOR} characters; ignored", code="bad_envelope"))
    return None


def _deeper_than(value: Any, limit: int) -> bool:
    """Without recursion: the point is not to hit the recursion limit."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(current, dict):
            stack.extend((child, depth + 1) for child in current.values() if isinstance(child, dict | list))
        elif isinstance(current, list):
            stack.extend((child, depth + 1) for child in current if isinstance(child, dict | list))
    return False


def _type_name(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(type(value), "a number")
