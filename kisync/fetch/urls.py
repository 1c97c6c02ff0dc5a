"""Telling source kinds apart, and describing URLs without their secrets."""

from __future__ import annotations

import re
from typing import Literal

from yarl import URL

from kisync.errors import FetchError

SourceKind = Literal["http", "file"]

# Same rule as the config validator: a scheme only counts with "://", so a
# file name like "snapshot:2024.json" stays a path. "file:" is the exception
# because "file:/srv/feeds/a.json" (one slash) is a common spelling.
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
# user:password@ after "//": what a URL must never show in a message or a log.
_USERINFO = re.compile(r"(?<=//)[^/?#@\s]*@")


def source_kind(url: str) -> SourceKind:
    """``http`` for http(s) URLs, ``file`` for paths and file URLs; anything else is refused."""
    match = _SCHEME.match(url)
    if match is None:
        return "file"
    scheme = match.group(1).lower()
    if scheme in ("http", "https"):
        return "http"
    if scheme == "file":
        return "file"
    raise FetchError(f"{redact(url)}: scheme {scheme!r} not supported: use https, http or a file path")


def redact(url: str | URL) -> str:
    """The URL without userinfo, for messages, logs and stored results."""
    if isinstance(url, URL):
        url = str(url.with_user(None)) if url.is_absolute() else str(url)
    # Also catches userinfo further in, e.g. in a query parameter that carries another URL.
    return scrub(url)


def scrub(text: str) -> str:
    """Remove anything that looks like userinfo from free text (e.g. a library's error message)."""
    return _USERINFO.sub("", text)
