"""URLs: absolute, http(s) only, without tracking parameters.

Tracking parameters are dropped because they make the same page look like
two (the newsletter's link and the website's) and because passing a
campaign's tags on to every subscriber is not ours to do. The query is
edited segment by segment, so the encoding of the parameters that stay is
exactly as the feed wrote it.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import unquote_plus, urljoin, urlparse, urlsplit, urlunsplit

WEB_SCHEMES = frozenset({"http", "https"})
LINK_SCHEMES = frozenset({"http", "https", "mailto"})

TRACKING_PARAMS = frozenset(
    {
        # ad click ids: Meta, Google, Microsoft, Yandex, Instagram, TikTok, X
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "igshid", "ttclid", "twclid",
        # mail campaigns: Mailchimp, HubSpot, Marketo, Vero
        "mc_cid", "mc_eid", "_hsenc", "_hsmi", "mkt_tok", "vero_id", "vero_conv",
        # Google Analytics cross-domain, Matomo/Piwik campaigns (common on municipal sites)
        "_ga", "_gl", "pk_campaign", "pk_kwd", "pk_keyword", "pk_source", "pk_medium", "pk_content", "pk_cid",
        "piwik_campaign", "piwik_kwd", "oly_anon_id", "oly_enc_id",
    }
)  # fmt: skip
TRACKING_PREFIXES = ("utm_", "mtm_", "matomo_")

_DEFAULT_PORTS = {"http": 80, "https": 443}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_BAD_HOST = re.compile(r"[\s\x00-\x1f]")
# urljoin returns an absolute http(s) URL as it is (re-parsed): skip it, it is most of the cost.
_ABSOLUTE_WEB = re.compile(r"https?://", re.IGNORECASE)
# What only urljoin gets right: dot segments, "//" (empty segments), a scheme, parameters.
_NEEDS_URLJOIN = re.compile(r"/\.|//|[:;]")


def is_tracking_param(name: str) -> bool:
    # unquote_plus changes only "+" and "%XX": most names have neither, and the call is most of the cost.
    key = (unquote_plus(name) if "%" in name or "+" in name else name).strip().lower()
    return key in TRACKING_PARAMS or key.startswith(TRACKING_PREFIXES)


def drop_tracking(query: str) -> str:
    if not query:
        return query
    kept = [segment for segment in query.split("&") if segment and not is_tracking_param(segment.split("=", 1)[0])]
    return "&".join(kept)


def clean_url(
    value: str | None,
    base: str | None = None,
    *,
    schemes: frozenset[str] = WEB_SCHEMES,
    keep_fragment: bool = True,
) -> str | None:
    """An absolute, cleaned URL, or None when it is not one of ``schemes``.

    Relative URLs are resolved against ``base``. For http(s): scheme and
    host lower-cased, the default port removed, an empty path made ``/``,
    tracking parameters dropped; the fragment kept unless asked otherwise.
    ``mailto:`` (when allowed) is kept as written.
    """
    if not isinstance(value, str):
        return None
    key = (value, base, schemes, keep_fragment)
    cleaned = _CLEANED.get(key, _MISSING)
    if cleaned is _MISSING:
        cleaned = _clean_url(value, base, schemes, keep_fragment)
        if len(_CLEANED) >= _CLEANED_MAX:
            _CLEANED.clear()
        _CLEANED[key] = cleaned
        if cleaned is not None and cleaned == cleaned.strip():
            # A clean URL cleans to itself: the sanitizer's second pass, which
            # sees our output, finds it here instead of parsing it again. Not
            # one that ends in (Unicode) whitespace, left by a dropped query:
            # cleaning strips it, and the result must not depend on the memory.
            _CLEANED[(cleaned, base, schemes, keep_fragment)] = cleaned
    return cleaned


# Pages link the same few URLs over and over, and the sanitizer sees each
# link twice (its second pass checks the first is stable): remember results.
_CLEANED: dict[tuple[str, str | None, frozenset[str], bool], str | None] = {}
_CLEANED_MAX = 16_384
_MISSING = object()


def _clean_url(value: str, base: str | None, schemes: frozenset[str], keep_fragment: bool) -> str | None:
    value = value.strip()
    if not value or len(value) > 4096 or _CONTROL.search(value):
        return None
    try:
        if value.startswith("mailto:") and value[7:9] != "//" and (not base or _base_prefixes(base)):
            # What urljoin and urlsplit come to, without them: urljoin returns a "mailto:" link as it is
            # (not a relative scheme) once it has parsed the base (_base_prefixes did, or raised as it
            # would), and urlsplit finds no host in one without "//".
            return value if "mailto" in schemes and len(value) > 7 else None
        if base and not _ABSOLUTE_WEB.match(value):
            value = _join(base, value)
        plain = _PLAIN_WEB_URL.fullmatch(value)
        if plain is not None:
            return _clean_plain(plain, schemes, keep_fragment)
        parts = urlsplit(value)
        scheme = parts.scheme.lower()
        if scheme not in schemes:
            return None
        if scheme == "mailto":
            return f"mailto:{value.split(':', 1)[1]}" if len(value) > 7 else None
        host = parts.hostname  # lower-cased, brackets of an IPv6 literal removed
        port = parts.port  # raises ValueError for a port that is not a number
    except ValueError:
        return None
    if not host or _BAD_HOST.search(host):
        return None
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        netloc = f"{netloc}:{port}"
    if "@" in parts.netloc:
        netloc = f"{parts.netloc.rsplit('@', 1)[0]}@{netloc}"
    path = _encode_spaces(parts.path) or "/"
    fragment = _encode_spaces(parts.fragment) if keep_fragment else ""
    return urlunsplit((scheme, netloc, path, _encode_spaces(drop_tracking(parts.query)), fragment))


# An http(s) URL whose host is lower-case letters, digits, dots and hyphens, without user,
# password or port: what a CMS's links resolve to, nearly always. No control characters
# (urlsplit drops tabs and line ends, clean_url refuses them).
_PLAIN_WEB_URL = re.compile(
    r"(https?)://([a-z0-9.\-]+)(/[^?#\x00-\x1f\x7f]*)?(?:\?([^#\x00-\x1f\x7f]*))?(?:#([^\x00-\x1f\x7f]*))?"
)


def _clean_plain(url: re.Match[str], schemes: frozenset[str], keep_fragment: bool) -> str | None:
    """What ``_clean_url`` makes of a ``_PLAIN_WEB_URL`` by urlsplit and urlunsplit, without them.

    urlsplit splits it as the regex does (the fragment at the first "#",
    the query at the first "?" before it), its hostname is the host as it
    is (lower-case already, no port, no brackets), and urlunsplit of
    (scheme, host, a path that starts with "/", query, fragment) joins
    them with "://", "?" and "#", leaving out an empty query or fragment.
    A property test holds the two ways to the same results.
    """
    scheme, host, path, query, fragment = url.groups()
    if scheme not in schemes:
        return None
    cleaned = f"{scheme}://{host}{_encode_spaces(path or '') or '/'}"
    query = _encode_spaces(drop_tracking(query or ""))
    if query:
        cleaned += "?" + query
    fragment = _encode_spaces(fragment or "") if keep_fragment else ""
    if fragment:
        cleaned += "#" + fragment
    return cleaned


def _join(base: str, value: str) -> str:
    """``urljoin(base, value)``, the common cases without it (it is most of the cost of a page's links).

    A root-relative ("/a/b") or plain relative ("bilder/a.jpg") reference
    without dot segments, "//", ":" or ";" resolves by concatenation; the rest,
    and bases that are not plain, go to urljoin. A property test holds the
    two to the same results.
    """
    if not _NEEDS_URLJOIN.search(value) and value[:1] not in ("", "?", "#", "."):
        prefix = _base_prefixes(base)
        if prefix is not None:
            origin, directory = prefix
            return origin + value if value[0] == "/" else directory + value
    return urljoin(base, value)


@lru_cache(maxsize=1024)
def _base_prefixes(base: str) -> tuple[str, str] | None:
    """(scheme://host, scheme://host/directory/) of a plain http(s) base, else None."""
    plain = _PLAIN_WEB_URL.fullmatch(base)
    if plain is not None:  # urlparse would split it as the regex does (its ";params" hold no "/")
        scheme, netloc, path = plain.group(1, 2, 3)
        path = path or ""
    else:
        parts = urlparse(base)
        scheme, netloc, path = parts.scheme, parts.netloc, parts.path
    if scheme not in WEB_SCHEMES or not netloc or "//" in path or "/." in path:
        return None
    origin = f"{scheme}://{netloc}"
    return origin, origin + (path[: path.rfind("/") + 1] or "/")


def normalize_feed_url(url: str) -> str:
    """The feed URL as it enters an item id (``kisync.normalize.ids``).

    http(s): :func:`clean_url` without the fragment. Anything else (a local
    file a source reads) is used as given, surrounding whitespace removed.
    """
    return clean_url(url, keep_fragment=False) or url.strip()


def _encode_spaces(part: str) -> str:
    # CMS links to "Flyer Rucksack 2026.pdf" are common; a raw space is not a valid URL character.
    return part.replace(" ", "%20")
