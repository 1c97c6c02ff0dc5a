"""``parse_document``: one body in, one neutral ParsedDocument out.

The format is chosen by sniffing the body. Content-Type is not used: feeds
are served as text/html, application/octet-stream and text/plain often
enough that it says nothing. The caller's ``expected`` (from the source's
``format`` setting) is checked against what the body turned out to be.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from kisync.errors import ParseError
from kisync.parse.encoding import decode_json, decode_xml
from kisync.parse.exchange import is_exchange, parse_exchange
from kisync.parse.jsonfeed import is_json_feed, parse_json_feed
from kisync.parse.sniff import Sniffed, describe_start, sniff
from kisync.parse.types import ParsedDocument
from kisync.parse.xmlfeed import describe_version, parse_xml_feed

Expected = Literal["auto", "exchange", "feed"]


def parse_document(
    body: bytes,
    *,
    url: str,
    content_type: str | None = None,
    expected: Expected = "auto",
) -> ParsedDocument:
    """Parse an exchange document, an RSS/Atom feed or a JSON Feed.

    ``url`` is where the body came from (for messages and relative links).
    ``content_type`` is accepted for the record and deliberately ignored.
    Raises ParseError when the body is unusable as a whole; problems with
    single entries are ``warnings`` on the result.

    The body is assumed to be capped by the fetcher already (10 MiB).
    """
    del content_type  # sniffing decides, see the module docstring
    sniffed = sniff(body)
    if sniffed.kind == "empty":
        raise ParseError("empty body")
    if sniffed.kind == "html":
        raise ParseError("an HTML page, not a feed (is the URL the feed's or the web page's?)")
    if sniffed.kind == "unknown":
        raise ParseError(f"neither JSON nor XML: the body starts with {describe_start(sniffed.head)}")
    if sniffed.kind == "xml":
        text, warnings = decode_xml(body, sniffed)
        doc = parse_xml_feed(text, url)
        if expected == "exchange":
            raise ParseError(f"expected an exchange document, found {describe_format(doc)}")
        doc.warnings[:0] = warnings
        return doc
    return _parse_json(body, sniffed, url, expected)


def _parse_json(body: bytes, sniffed: Sniffed, url: str, expected: Expected) -> ParsedDocument:
    text, warnings = decode_json(body, sniffed)
    document = _load_json(text)
    if not isinstance(document, dict):
        raise ParseError(f"JSON, but {_kind_of(document)} at the top level, not an exchange document or a JSON Feed")
    if is_exchange(document):
        if expected == "feed":
            raise ParseError(f"expected a feed, found an exchange document (exchange_version {document['exchange_version']})")
        doc = parse_exchange(document, url)
    elif is_json_feed(document):
        if expected == "exchange":
            raise ParseError("expected an exchange document, found a JSON Feed")
        doc = parse_json_feed(document, url)
    elif "version" in document:
        raise ParseError(f"JSON with version {str(document['version'])[:80]!r}: not a JSON Feed 1.x nor an exchange document")
    else:
        raise ParseError("JSON, but neither an exchange document (no `exchange_version`) nor a JSON Feed (no `version`)")
    doc.warnings[:0] = warnings
    return doc


def _load_json(text: str) -> Any:
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        raise ParseError(f"invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}") from None
    except RecursionError:
        raise ParseError("JSON nested too deeply to read") from None
    except ValueError as error:  # the NaN/Infinity refusal below
        raise ParseError(f"invalid JSON: {error}") from None


def _refuse_constant(name: str) -> Any:
    # NaN and Infinity are not JSON (RFC 8259 §6); json.loads accepts them by default.
    raise ValueError(f"{name} is not a JSON value")


def _kind_of(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(type(value), "a number")


def describe_format(doc: ParsedDocument) -> str:
    """For messages: "an RSS 2.0 feed", "a JSON Feed 1.1", "an exchange document 1.0"."""
    if doc.format == "jsonfeed":
        return f"a JSON Feed {(doc.feed_version or 'jsonfeed1').removeprefix('jsonfeed')}"
    if doc.format == "exchange":
        return f"an exchange document {(doc.feed_version or 'exchange1.0').removeprefix('exchange')}"
    return f"an {describe_version(doc.feed_version)} feed" if doc.feed_version else "an RSS or Atom feed"
