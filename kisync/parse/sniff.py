"""What a body is, judged from its first bytes (never from Content-Type).

Feeds are served as ``text/html``, ``application/octet-stream`` or
``text/plain`` often enough that the header is useless; the body is not.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal["json", "xml", "html", "empty", "unknown"]

# Longest first: the UTF-32 LE BOM begins with the UTF-16 LE one.
_BOMS = (
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
)
_HEAD = 4096
# Declarations, processing instructions and comments before the first element.
_PROLOG_NOISE = re.compile(r"\s*(?:<\?.*?\?>|<!--.*?-->)", re.DOTALL)
_HTML_START = re.compile(r"<!doctype\s+html[\s>]|<(?:html|head|body)[\s>/]", re.IGNORECASE)


@dataclass(frozen=True)
class Sniffed:
    kind: Kind
    encoding: str | None  # from a BOM or the NUL-byte pattern of UTF-16/32; None: ASCII-compatible
    bom_length: int
    head: str  # the start of the text, leading whitespace removed, for messages


def detect_unicode(body: bytes) -> tuple[str | None, int]:
    """(encoding, BOM length) from a BOM, or from the NUL bytes of UTF-16/32 text without one."""
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return encoding, len(bom)
    start = body[:4]
    if len(start) == 4 and b"\x00" in start:
        # XML spec, appendix F: '<' or '{' as the first character with NUL padding.
        if start[:3] == b"\x00\x00\x00":
            return "utf-32-be", 0
        if start[1:] == b"\x00\x00\x00":
            return "utf-32-le", 0
        if start[0] == 0 and start[2] == 0:
            return "utf-16-be", 0
        if start[1] == 0 and start[3] == 0:
            return "utf-16-le", 0
    return None, 0


def sniff(body: bytes) -> Sniffed:
    encoding, bom_length = detect_unicode(body)
    # latin-1 maps every byte to one character, so ASCII markup is found in
    # any ASCII-compatible encoding without knowing which one it is.
    head = body[bom_length : bom_length + _HEAD].decode(encoding or "latin-1", errors="replace")
    head = head.lstrip(" \t\r\n\ufeff")
    if not head:
        rest = body[bom_length:].decode(encoding or "latin-1", errors="replace")
        if not rest.strip(" \t\r\n\ufeff"):
            return Sniffed("empty", encoding, bom_length, "")
        head = rest.lstrip(" \t\r\n\ufeff")[:_HEAD]
    first = head[0]
    if first in "{[":
        return Sniffed("json", encoding, bom_length, head)
    if first == "<":
        position = 0
        while match := _PROLOG_NOISE.match(head, position):
            if match.end() == position:
                break
            position = match.end()
        if _HTML_START.match(head, _skip_space(head, position)):
            return Sniffed("html", encoding, bom_length, head)
        return Sniffed("xml", encoding, bom_length, head)
    return Sniffed("unknown", encoding, bom_length, head)


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


def describe_start(head: str) -> str:
    """The first characters of a body, safe to put into a message."""
    snippet = head[:40].replace("\n", " ").replace("\r", " ")
    return repr(snippet + ("…" if len(head) > 40 else ""))
