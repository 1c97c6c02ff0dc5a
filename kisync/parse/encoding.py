"""Bytes -> text, for bodies whose declared encoding is often wrong.

The usual mistakes of municipal CMSs, and what we do about them:

- XML declares ``iso-8859-1`` (or ``windows-1252``) but the bytes are
  UTF-8: read as UTF-8. Valid multi-byte UTF-8 sequences practically never
  occur by chance in Latin-1 text, so a body that decodes as UTF-8 and has
  non-ASCII bytes is UTF-8 whatever it says. Read as declared, "für" would
  become "fÃ¼r" in every title.
- XML declares ``utf-8`` (or nothing, which means UTF-8) but the bytes are
  not UTF-8: read as Windows-1252 (what browsers do for ``iso-8859-1``
  too, and what Word's typographic quotes „“ need).
- JSON must be UTF-8 (RFC 8259 §8.1); a body that is not is read as
  Windows-1252, with a warning.

Every such repair is a warning on the source, so the centre can fix its feed.
"""

from __future__ import annotations

import codecs
import re

from kisync.parse.sniff import Sniffed
from kisync.parse.types import ParseWarning

_XML_DECLARATION = re.compile(r"^\s*<\?xml\s[^>]*?\?>", re.IGNORECASE)
_DECLARED_ENCODING = re.compile(rb"^\s*<\?xml\s[^>]*?\bencoding\s*=\s*[\"']([A-Za-z0-9._\-]{1,40})[\"']")
# Encodings in which a UTF-8 body decodes without error but into mojibake.
_SINGLE_BYTE_WESTERN = {"iso8859_1", "cp1252", "iso8859_15", "ascii"}


def decode_western(body: bytes) -> str:
    """Windows-1252, falling back to Latin-1 for the five bytes it leaves undefined."""
    try:
        return body.decode("cp1252")
    except UnicodeDecodeError:
        return body.decode("latin-1")


def decode_json(body: bytes, sniffed: Sniffed) -> tuple[str, list[ParseWarning]]:
    data = body[sniffed.bom_length :]
    if sniffed.encoding and sniffed.encoding != "utf-8":
        return data.decode(sniffed.encoding, errors="replace"), []
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError as error:
        return decode_western(data), [
            ParseWarning(
                "document",
                f"not valid UTF-8 (byte {error.start}); read as Windows-1252. JSON must be UTF-8 (RFC 8259 §8.1).",
                code="encoding",
            )
        ]


def decode_xml(body: bytes, sniffed: Sniffed) -> tuple[str, list[ParseWarning]]:
    """The document as text, without its XML declaration (it names the old encoding)."""
    data = body[sniffed.bom_length :]
    if sniffed.encoding:
        text = data.decode(sniffed.encoding, errors="replace")
        return _XML_DECLARATION.sub("", text, count=1), []
    warnings: list[ParseWarning] = []
    declared_name = _declared(data)
    declared = _codec_name(declared_name) if declared_name else "utf_8"
    if declared is None:
        warnings.append(ParseWarning("document", f"unknown encoding {declared_name!r} declared; read as UTF-8", code="encoding"))
        declared = "utf_8"
    if declared in _SINGLE_BYTE_WESTERN and not data.isascii():
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = decode_western(data)  # as declared: Latin-1 read the way browsers read it
        else:
            warnings.append(
                ParseWarning("document", f"declares {declared_name} but the bytes are UTF-8; read as UTF-8", code="encoding")
            )
    else:
        try:
            text = data.decode(declared)
        except UnicodeDecodeError as error:
            text = decode_western(data)
            warnings.append(
                ParseWarning(
                    "document",
                    f"not valid {declared_name or 'UTF-8'} (byte {error.start}); read as Windows-1252",
                    code="encoding",
                )
            )
    return _XML_DECLARATION.sub("", text, count=1), warnings


def _declared(data: bytes) -> str | None:
    match = _DECLARED_ENCODING.match(data[:1024])
    return match.group(1).decode("ascii") if match else None


def _codec_name(name: str) -> str | None:
    try:
        codec = codecs.lookup(name)
    except LookupError:
        return None
    # Only text encodings: "rot13", "base64" and friends are codecs too.
    if not getattr(codec, "_is_text_encoding", True):
        return None
    return codec.name.replace("-", "_")
