"""Ids for items read from RSS, Atom and JSON Feed (DESIGN.md, "Canonical item").

A feed entry has no id of the kind the exchange format needs (globally
unique, minted by the origin), so every node mints one the same way from
what the feed says. The recipe, exactly, for anyone who has to reproduce it:

1. Normalize the feed URL (the source's configured URL, not the one after
   redirects, which may change from fetch to fetch):
   for http(s), lower-case the scheme and host; remove the port if it is
   the default (80 for http, 443 for https); make an empty path ``/``;
   drop tracking parameters from the query (``utm_*``, ``mtm_*``,
   ``matomo_*`` and the names in ``kisync.normalize.urls.TRACKING_PARAMS``,
   compared case-insensitively after percent-decoding), keeping the other
   query segments exactly as written and in order; drop the fragment.
   Host names are lower-cased as they are, not converted to punycode.
   A feed URL that is not http(s) (a local file) is used as written,
   without surrounding whitespace.
2. The key is the entry's guid (RSS ``<guid>``, Atom ``<id>``, JSON Feed
   ``id``) without surrounding whitespace, or, when there is no guid, its
   link made absolute against the feed URL and normalized as in step 1
   except that the fragment is kept (several entries of one page may differ
   only in the anchor). An entry with neither gets no id and is skipped.
3. ``hash = sha256(utf8(normalized_feed_url + "\\n" + key))``, hex,
   lower-case, the first 32 characters (128 bits: collisions are not a
   concern at any realistic number of entries, and the id stays short).
4. The id is ``urn:kisync:feed:<hash>``.

Example: feed ``HTTPS://Example.ORG:443/feed?utm_source=x`` and guid
``abc`` give ``sha256("https://example.org/feed\\nabc")``.
"""

from __future__ import annotations

import hashlib

from kisync.normalize.urls import clean_url, normalize_feed_url

ID_PREFIX = "urn:kisync:feed:"
HASH_LENGTH = 32


def feed_item_id(feed_url: str, guid: str | None, link: str | None) -> str | None:
    """The item id for a feed entry, or None when it has neither guid nor usable link."""
    key = guid.strip() if isinstance(guid, str) else ""
    if not key and link:
        key = clean_url(link, base=_base(feed_url)) or ""
    if not key:
        return None
    material = f"{normalize_feed_url(feed_url)}\n{key}".encode()
    return ID_PREFIX + hashlib.sha256(material).hexdigest()[:HASH_LENGTH]


def _base(feed_url: str) -> str | None:
    return feed_url if clean_url(feed_url) else None
