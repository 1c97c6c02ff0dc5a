"""Dates as feeds write them -> aware UTC datetimes.

Feeds say dates in RFC 822 (RSS), RFC 3339 (Atom, JSON Feed) and whatever
their CMS invented. A date without a UTC offset is read as German local
time (Europe/Berlin): the KI feeds are written in NRW, and a naive
"2026-07-01 10:00" on a Kreis website means 10:00 in Moers, not in London
(feedparser would assume UTC, which is two hours off in summer).
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_tz
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")

# Zone names German CMSs put into RFC 822 dates, which email.utils does not know.
_ZONE_NAMES = {"MEZ": 1, "CET": 1, "MESZ": 2, "CEST": 2, "WEZ": 0, "WET": 0, "WESZ": 1, "WEST": 1}
# Zone names email.utils knows (RFC 822 §5.1). With any other name, or none,
# email.utils silently says UTC; we read those dates as Berlin time instead.
_KNOWN_ZONES = {"UT", "UTC", "GMT", "Z", "EST", "EDT", "CST", "CDT", "MST", "MDT", "PST", "PDT"}
_RFC822_ZONE = re.compile(r"\s([+-]\d{4}|[A-Za-z]{1,5})\s*$")
_ISO_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_LIKE = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]")
_ISO_FRACTION = re.compile(r"(\.\d{6})\d+")


def as_utc(moment: datetime) -> datetime:
    """Aware UTC; a naive datetime is read as Europe/Berlin local time."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        moment = moment.replace(tzinfo=BERLIN)
    return moment.astimezone(UTC)


def parse_date(value: object) -> datetime | None:
    """An RFC 3339/ISO 8601 or RFC 822 date string -> aware UTC, or None when unreadable."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > 100:
        return None
    try:
        if _ISO_DATE_ONLY.match(text) or _ISO_LIKE.match(text):
            return _parse_iso(text)
        return _parse_rfc822(text)
    except (ValueError, OverflowError):
        return None


def from_struct_time(value: object) -> datetime | None:
    """feedparser's ``*_parsed`` (a UTC struct_time) -> aware UTC."""
    if not isinstance(value, time.struct_time):
        return None
    try:
        return datetime(*value[:6], tzinfo=UTC)
    except (ValueError, OverflowError):
        return None


def _parse_iso(text: str) -> datetime:
    text = text.replace("t", "T").replace(" ", "T", 1)
    if text.endswith(("z", "Z")):
        text = text[:-1] + "+00:00"
    # fromisoformat takes at most microseconds; some CMSs write nanoseconds.
    text = _ISO_FRACTION.sub(r"\1", text)
    return as_utc(datetime.fromisoformat(text))


def _parse_rfc822(text: str) -> datetime | None:
    match = _RFC822_ZONE.search(text)
    zone = match.group(1).upper() if match else ""
    if zone in _ZONE_NAMES:
        text = text[: match.start()]
    parsed = parsedate_tz(text)
    if parsed is None:
        return None
    year = parsed[0]
    if year < 100:  # two-digit years (RFC 822 allowed them): 69..99 -> 19xx
        year += 2000 if year < 69 else 1900
    naive = datetime(year, *parsed[1:6])
    if zone in _ZONE_NAMES:
        return naive.replace(tzinfo=timezone(timedelta(hours=_ZONE_NAMES[zone]))).astimezone(UTC)
    # RFC 5322 §3.3: "-0000" is UTC with the local zone unknown.
    if zone.startswith(("+", "-")) or zone in _KNOWN_ZONES:
        return naive.replace(tzinfo=timezone(timedelta(seconds=parsed[9] or 0))).astimezone(UTC)
    return as_utc(naive)
