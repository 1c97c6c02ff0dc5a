"""Query parameters of the read endpoints: parsed, checked, normalized.

Every endpoint names the parameters it takes; anything else is a 400 that
names the parameter, so a typo (``feild=schule``) is not silently ignored
and a feed reader does not show an unfiltered feed under a filtered name.
The normalized form (sorted, defaults filled in) keys the ETag and the
render cache, so ``?kind=event&field=schule`` and its reverse share both.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from multidict import MultiMapping
from pydantic import AwareDatetime, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from kisync.vocab import FieldOfAction, Kind
from kisync.web.errors import InvalidParameter

MAX_LIMIT = 500
FEED_LIMIT = 50
API_LIMIT = 100
# Bounds that keep a query (and the self link that repeats it) a sensible size.
MAX_VALUES = 50
MAX_Q = 500

FILTERS = ("field", "centre", "kind", "audience", "programme", "tag", "q", "lang")
_CENTRE = re.compile(r"^[a-z0-9][a-z0-9._\-]{0,99}$")
_LANG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
_WORD = re.compile(r"\w+")
_SEQ = re.compile(r"[0-9]{1,19}")
MAX_SEQ = 2**63 - 1
_DATETIME: TypeAdapter[datetime] = TypeAdapter(AwareDatetime)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class ItemFilter:
    """What a feed or list shows: OR within a parameter, AND across."""

    fields: tuple[str, ...] = ()
    centres: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    audiences: tuple[str, ...] = ()
    programmes: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    langs: tuple[str, ...] = ()
    q: str | None = None
    modified_since: datetime | None = None
    modified_until: datetime | None = None

    def facets(self) -> list[tuple[str, tuple[str, ...]]]:
        """Filters answered by the ``item_facet`` table, by facet name."""
        return [
            ("field", self.fields),
            ("audience", self.audiences),
            ("programme", self.programmes),
            ("tag", self.tags),
        ]

    @property
    def empty(self) -> bool:
        return self == ItemFilter()


@dataclass(frozen=True)
class Cursor:
    """Keyset position in the newest-first order: the last (modified, id) shown."""

    modified: datetime
    id: str

    def encode(self) -> str:
        micros = (self.modified - _EPOCH) // _MICROSECOND  # exact, unlike timestamp() * 1e6
        raw = f"{micros}:{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            micros, item_id = raw.split(":", 1)
            moment = _EPOCH + int(micros) * _MICROSECOND
        except (ValueError, UnicodeDecodeError, OverflowError) as error:
            raise InvalidParameter("cursor", "not a cursor this server gave out") from error
        if not item_id:
            raise InvalidParameter("cursor", "not a cursor this server gave out")
        return cls(moment, item_id)


@dataclass(frozen=True)
class ItemQuery:
    """A parsed request for a list of items."""

    filter: ItemFilter = field(default_factory=ItemFilter)
    limit: int | None = API_LIMIT
    cursor: Cursor | None = None
    canonical: str = ""

    def canonical_at(self, cursor: Cursor) -> str:
        """The same query, continued at ``cursor``: the next page's link."""
        return canonical_query([*filter_pairs(self.filter), ("limit", self.limit), ("cursor", cursor.encode())])


@dataclass(frozen=True)
class ChangesQuery:
    since: int = 0
    limit: int = API_LIMIT
    origin: str | None = None
    canonical: str = ""


def check_known(query: MultiMapping[str], allowed: Iterable[str]) -> None:
    allowed = set(allowed)
    for name in query:
        if name not in allowed:
            known = ", ".join(sorted(allowed)) or "none"
            raise InvalidParameter(name, f"unknown parameter (this endpoint takes: {known})")


def _single(query: MultiMapping[str], name: str) -> str | None:
    values = query.getall(name, [])
    if len(values) > 1:
        raise InvalidParameter(name, "given more than once")
    return values[0] if values else None


def _many(query: MultiMapping[str], name: str) -> list[str]:
    values = [v.strip() for v in query.getall(name, [])]
    if len(values) > MAX_VALUES:
        raise InvalidParameter(name, f"at most {MAX_VALUES} values")
    for value in values:
        if not value:
            raise InvalidParameter(name, "empty value")
        if len(value) > 100:
            raise InvalidParameter(name, "longer than 100 characters")
    return sorted(set(values))


def _enum(query: MultiMapping[str], name: str, allowed: Iterable[str]) -> tuple[str, ...]:
    allowed = list(allowed)
    values = _many(query, name)
    for value in values:
        if value not in allowed:
            raise InvalidParameter(name, f"{value!r} is not one of {', '.join(allowed)}")
    return tuple(values)


def _pattern(query: MultiMapping[str], name: str, pattern: re.Pattern, what: str) -> tuple[str, ...]:
    values = _many(query, name)
    for value in values:
        if not pattern.fullmatch(value):
            raise InvalidParameter(name, f"{value!r} is not {what}")
    return tuple(values)


def parse_limit(query: MultiMapping[str], default: int | None) -> int | None:
    raw = _single(query, "limit")
    if raw is None:
        return default
    if not re.fullmatch(r"[0-9]{1,6}", raw.strip()):
        raise InvalidParameter("limit", f"{raw[:50]!r} is not an integer")
    limit = int(raw)
    if limit < 1:
        raise InvalidParameter("limit", "must be at least 1")
    if limit > MAX_LIMIT:
        raise InvalidParameter("limit", f"must be at most {MAX_LIMIT}")
    return limit


def _datetime(query: MultiMapping[str], name: str) -> datetime | None:
    raw = _single(query, name)
    if raw is None:
        return None
    try:
        return _DATETIME.validate_python(raw.strip()).astimezone(UTC)
    except PydanticValidationError:
        raise InvalidParameter(name, f"{raw!r} is not an RFC 3339 date-time with offset (2026-11-01T00:00:00Z)") from None


def _q(query: MultiMapping[str]) -> str | None:
    raw = _single(query, "q")
    if raw is None or not raw.strip():
        return None
    if len(raw) > MAX_Q:
        raise InvalidParameter("q", f"longer than {MAX_Q} characters")
    if not _WORD.search(raw):
        raise InvalidParameter("q", "contains no word to search for")
    return " ".join(raw.split())


def parse_filter(query: MultiMapping[str], *, time_range: bool) -> ItemFilter:
    return ItemFilter(
        fields=_enum(query, "field", [f.value for f in FieldOfAction]),
        centres=_pattern(query, "centre", _CENTRE, "a centre id (ki-05170)"),
        kinds=_enum(query, "kind", [k.value for k in Kind]),
        audiences=tuple(_many(query, "audience")),
        programmes=tuple(_many(query, "programme")),
        # Tags are stored lower case (kisync.store.rows.facets_of).
        tags=tuple(sorted({t.lower() for t in _many(query, "tag")})),
        langs=tuple(sorted({v.lower() for v in _pattern(query, "lang", _LANG, "a language tag (de, en, tr)")})),
        q=_q(query),
        modified_since=_datetime(query, "modified_since") if time_range else None,
        modified_until=_datetime(query, "modified_until") if time_range else None,
    )


def canonical_query(pairs: Iterable[tuple[str, object]]) -> str:
    flat: list[tuple[str, str]] = []
    for name, value in pairs:
        if value is None or value == ():
            continue
        if isinstance(value, tuple):
            flat += [(name, str(v)) for v in value]
        elif isinstance(value, datetime):
            flat.append((name, value.astimezone(UTC).isoformat().replace("+00:00", "Z")))
        else:
            flat.append((name, str(value)))
    return urlencode(sorted(flat))


def filter_pairs(flt: ItemFilter, *, time_range: bool = True) -> list[tuple[str, object]]:
    """The filter as (parameter, value) pairs, the shape ``canonical_query`` takes."""
    pairs: list[tuple[str, object]] = [
        ("field", flt.fields),
        ("centre", flt.centres),
        ("kind", flt.kinds),
        ("audience", flt.audiences),
        ("programme", flt.programmes),
        ("tag", flt.tags),
        ("lang", flt.langs),
        ("q", flt.q),
    ]
    if time_range:
        pairs += [("modified_since", flt.modified_since), ("modified_until", flt.modified_until)]
    return pairs


FEED_PARAMS = (*FILTERS, "limit")
LIST_PARAMS = (*FILTERS, "limit", "cursor", "modified_since", "modified_until")


def parse_feed_query(query: MultiMapping[str]) -> ItemQuery:
    check_known(query, FEED_PARAMS)
    flt = parse_filter(query, time_range=False)
    limit = parse_limit(query, FEED_LIMIT)
    return ItemQuery(flt, limit, None, canonical_query([*filter_pairs(flt), ("limit", limit)]))


def parse_list_query(query: MultiMapping[str], *, default_limit: int | None = API_LIMIT) -> ItemQuery:
    check_known(query, LIST_PARAMS)
    flt = parse_filter(query, time_range=True)
    limit = parse_limit(query, default_limit)
    raw_cursor = _single(query, "cursor")
    cursor = Cursor.decode(raw_cursor) if raw_cursor else None
    pairs = [*filter_pairs(flt), ("limit", limit), ("cursor", cursor.encode() if cursor else None)]
    return ItemQuery(flt, limit, cursor, canonical_query(pairs))


def parse_changes_query(query: MultiMapping[str]) -> ChangesQuery:
    check_known(query, ("since", "limit", "origin"))
    raw = _single(query, "since")
    since = 0
    if raw is not None:
        # The cursor of exchange v1 is a string; ours is the change sequence, a BIGINT.
        if not _SEQ.fullmatch(raw.strip()) or int(raw) > MAX_SEQ:
            raise InvalidParameter("since", f"{raw[:50]!r} is not a cursor of this node's changes feed (a number)")
        since = int(raw)
    limit = parse_limit(query, API_LIMIT) or API_LIMIT
    origin = parse_origin(query)
    return ChangesQuery(since, limit, origin, changes_canonical(since, limit, origin))


def changes_canonical(since: int, limit: int, origin: str | None) -> str:
    return canonical_query([("since", since), ("limit", limit), ("origin", origin)])


def parse_origin(query: MultiMapping[str]) -> str | None:
    origin = _single(query, "origin")
    if origin is not None and not _CENTRE.fullmatch(origin):
        raise InvalidParameter("origin", f"{origin!r} is not a centre id (ki-05170)")
    return origin


def parse_snapshot_query(query: MultiMapping[str]) -> tuple[str | None, str]:
    check_known(query, ("origin",))
    origin = parse_origin(query)
    return origin, canonical_query([("origin", origin)])


def parse_no_params(query: MultiMapping[str]) -> None:
    check_known(query, ())
