"""Server hints for the next due time: Retry-After and freshness (Cache-Control, Expires).

Parsed, never clamped: the scheduler owns the bounds (``sync.min_interval``,
``sync.max_backoff``). Anything unparsable is None ("no hint"), because a
broken header must not make a source fetch in a loop or never again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from multidict import CIMultiDictProxy, MultiMapping

# One Cache-Control directive: token, optionally = token or quoted string (RFC 9111 §5.2).
_DIRECTIVE = re.compile(r"""\s*([!#$%&'*+\-.^_`|~0-9A-Za-z]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"|[^,\s]*))?\s*(?:,|$)""")
_DELTA_SECONDS = re.compile(r"^\d+$")


def parse_http_date(value: str | None) -> datetime | None:
    """An HTTP-date (RFC 9110 §5.6.7, all three legacy forms) as an aware UTC datetime, or None."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    # asctime dates carry no zone; HTTP dates are always GMT.
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header: delay-seconds or an HTTP-date (RFC 9110 §10.2.3)."""
    if value is None:
        return None
    value = value.strip()
    if _DELTA_SECONDS.match(value):
        return float(value)
    when = parse_http_date(value)
    if when is None:
        return None
    # A date in the past means "now"; a negative wait has no meaning.
    return max(0.0, (when - now).total_seconds())


def max_age(headers: MultiMapping[str] | CIMultiDictProxy[str], now: datetime) -> float | None:
    """Seconds the response stays fresh, from Cache-Control or Expires (RFC 9111 §4.2.1), or None.

    ``no-store`` and ``no-cache`` give 0 (the server wants us back at once; the
    scheduler's minimum interval still applies). ``s-maxage`` is for shared
    caches and we are not one. The Age header, set by caches on the way,
    is subtracted: a CDN copy that is already old is fresh for less time.
    """
    directives = _cache_control(headers.getall("Cache-Control", []))
    if "no-store" in directives or "no-cache" in directives:
        return 0.0
    age = _delta_seconds(headers.get("Age")) or 0
    if "max-age" in directives:
        lifetime = _delta_seconds(directives["max-age"])
        if lifetime is not None:
            return max(0.0, float(lifetime - age))
    expires_header = headers.get("Expires")
    if expires_header is None:
        return None
    expires = parse_http_date(expires_header)
    if expires is None:
        return None
    date = parse_http_date(headers.get("Date"))
    if date is None:
        return max(0.0, (expires - now).total_seconds())
    return max(0.0, (expires - date).total_seconds() - age)


def _cache_control(values: Iterable[str]) -> dict[str, str | None]:
    directives: dict[str, str | None] = {}
    for value in values:
        for match in _DIRECTIVE.finditer(value):
            name, argument = match.group(1).lower(), match.group(2)
            if argument is not None and argument.startswith('"'):
                argument = argument[1:-1]
            # A repeated max-age is ambiguous; the smaller one is the safe reading.
            if name == "max-age" and name in directives:
                old, new = _delta_seconds(directives[name]), _delta_seconds(argument)
                if old is not None and (new is None or old <= new):
                    continue
            directives[name] = argument
    return directives


def _delta_seconds(value: str | None) -> int | None:
    if value is None:
        return None
    value = value.strip()
    return int(value) if _DELTA_SECONDS.match(value) else None
