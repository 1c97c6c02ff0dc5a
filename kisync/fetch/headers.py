"""The request headers every fetch sends."""

from __future__ import annotations

# Exchange JSON first (the richest format), then the feed formats, then generic
# XML. */* last and low, so a server that cannot match answers with something
# we can sniff instead of 406.
ACCEPT = ", ".join(
    [
        "application/json",
        "application/feed+json;q=0.9",
        "application/atom+xml;q=0.9",
        "application/rss+xml;q=0.9",
        "application/xml;q=0.8",
        "text/xml;q=0.8",
        "*/*;q=0.1",
    ]
)

# The two encodings every server speaks and every Python decodes without extra
# packages; aiohttp decompresses them while streaming, so the body cap counts
# decompressed bytes.
ACCEPT_ENCODING = "gzip, deflate"


def user_agent(version: str, contact_url: str) -> str:
    """``kisync/0.1.0 (+https://contact.example)``: names the operator so feed owners can reach them."""
    return f"kisync/{version} (+{contact_url})"


def request_headers(agent: str, *, etag: str | None, last_modified: str | None) -> dict[str, str]:
    """Headers for one request, conditional when we hold validators (RFC 9110 §13.1.1, §13.1.3)."""
    headers = {"User-Agent": agent, "Accept": ACCEPT, "Accept-Encoding": ACCEPT_ENCODING}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers
