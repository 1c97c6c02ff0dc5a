"""``created`` and ``modified`` for feed entries.

Exchange items carry their own (RFC 3339 with offset, as the model
requires) and are left alone: a `modified` in the future is the merge's to
refuse, with its own warning (DESIGN.md, version order).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from kisync.parse.dates import BERLIN, as_utc

__all__ = ["BERLIN", "FUTURE_TOLERANCE", "UNDATED", "EntryDates", "as_utc", "entry_dates"]

# The merge refuses a `modified` further ahead than this (kisync.store.merge.MAX_FUTURE).
FUTURE_TOLERANCE = timedelta(days=1)

# The date of an entry whose feed gives none.
#
# It must be the same on every fetch: the merge orders versions by
# `modified`, so `now` would make every fetch a new version of every
# undated entry (and the feed's own date changes whenever any entry does).
# A constant keeps an unchanged entry unchanged. A real change to such an
# entry is still noticed: its content hash changes while `modified` does
# not, and the merge stamps the fetch time (DESIGN.md, "Sloppy origins").
# The epoch says "unknown" plainly in every output; the cost is that
# undated entries sort last, and that a relay whose tombstone horizon has
# passed refuses them (the origin's own node publishes them directly).
UNDATED = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class EntryDates:
    created: datetime
    modified: datetime
    undated: bool = False
    clamped: bool = False  # a date was more than FUTURE_TOLERANCE ahead of now


def entry_dates(published: datetime | None, updated: datetime | None, now: datetime) -> EntryDates:
    """``created`` from published (else updated), ``modified`` from updated (else published).

    A date more than a day in the future (a CMS with a wrong clock, an
    event's date put into pubDate) is clamped, or the merge would refuse the
    entry. It is clamped to the start of the current UTC day rather than to
    ``now``: both are in the past, but ``now`` changes with every fetch and
    would make every fetch a new version, while the day changes once a day.
    """
    published = as_utc(published) if published else None
    updated = as_utc(updated) if updated else None
    created = published or updated
    modified = updated or published
    if created is None or modified is None:
        return EntryDates(UNDATED, UNDATED, undated=True)
    limit = now + FUTURE_TOLERANCE
    today = as_utc(now).replace(hour=0, minute=0, second=0, microsecond=0)
    clamped = created > limit or modified > limit
    if created > limit:
        created = today
    if modified > limit:
        modified = today
    # A feed that says "published" after "updated" has one of them wrong;
    # an item created after its last change is nonsense in every output.
    created = min(created, modified)
    return EntryDates(created, modified, clamped=clamped)
