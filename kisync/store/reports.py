""""Also reported by": one piece of news or one project reached us through several feeds.

An RSS entry of a centre's website and the same project in its exchange
export, or one press release in two centres' feeds, are different ids with
the same canonical URL. They stay separate items everywhere (ids are never
merged: LaKI counts them, and only the origin may change an item); what
links them is the ``item.report_key`` column the store writes with every
version, so every node derives the same links from the same items.

The rule (docs/federation.md, "Also reported by"). Two live items are the
same report when

1. their canonical URLs are equal (``http``/``https`` alike, a trailing
   slash ignored, the fragment kept: one events page may hold several
   events, told apart by the anchor), and the URL has a real path: not a
   site's home page, which any number of projects link;
2. at least one of them is a feed entry (``urn:kisync:feed:…``): a feed
   entry's link is the entry's own page (its permalink), while an exchange
   item's ``url`` may be any related page, such as a programme's homepage
   that two projects of two centres both point to; two exchange items are
   never the same report, the origins minted two ids on purpose;
3. two feed entries are the same report only when their origins differ:
   one centre's feeds may give several entries one link (events pointing
   at one overview page), and they are distinct entries.

Pure functions; the store writes the key (``kisync.store.repository``),
the web side reads the groups (``kisync.web.query``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from kisync.normalize.ids import ID_PREFIX as FEED_ID_PREFIX

# A last path segment that still names a site's start page.
HOME_PAGES = frozenset(
    {"index.html", "index.htm", "index.php", "index.jsp", "default.aspx", "default.asp", "home", "start", "startseite"}
)
KEY_LENGTH = 32  # hex digits of SHA-256: the column stays small and indexable whatever the URL's length


def report_key(url: str | None) -> str | None:
    """The key two items share when they report the same page; None when the URL cannot say that."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    segments = [s for s in parts.path.split("/") if s]
    if not segments or (len(segments) == 1 and segments[0].lower() in HOME_PAGES):
        return None
    canonical = parts.netloc.lower() + "/" + "/".join(segments)
    if parts.query:
        canonical += "?" + parts.query
    if parts.fragment:
        canonical += "#" + parts.fragment
    return hashlib.sha256(canonical.encode()).hexdigest()[:KEY_LENGTH]


@dataclass(frozen=True)
class Report:
    """What the rule needs of one live item."""

    id: str
    origin: str
    created: datetime
    key: str | None  # None: the item's URL cannot link it to anything

    @property
    def from_feed(self) -> bool:
        return self.id.startswith(FEED_ID_PREFIX)

    @property
    def rank(self) -> tuple[bool, datetime, str]:
        # Shown first: an exchange item (the origin's own, richer record), then the earliest, then by id.
        return (self.from_feed, self.created, self.id)

    def link(self) -> dict[str, str]:
        return {"id": self.id, "origin": self.origin}


def same_report(a: Report, b: Report) -> bool:
    if a.id == b.id or a.key is None or a.key != b.key:
        return False
    if not (a.from_feed or b.from_feed):
        return False  # rule 2: two exchange items are two items
    # rule 3: two entries of one centre's feeds are two entries
    return not (a.from_feed and b.from_feed and a.origin == b.origin)


def also_reported_by(item: Report, group: Iterable[Report]) -> list[Report]:
    """The other items that are the same report as ``item``, in rank order."""
    return sorted((other for other in group if same_report(item, other)), key=lambda r: r.rank)


@dataclass(frozen=True)
class Collapsed:
    shown: list[str]  # ids, in the order given
    also: dict[str, list[Report]]  # for every shown id with links: the items it stands for or beside


def collapse(items: Sequence[Report], groups: Mapping[str, Sequence[Report]]) -> Collapsed:
    """One entry per report among ``items`` (a feed's result, in its order).

    An item is left out when an item of the same report that ranks before
    it is shown too; ``groups`` holds every live item of each key, also
    those outside the result, so that the links are complete.
    """
    hidden: set[str] = set()
    for key in {r.key for r in items if r.key is not None}:
        shown_here: list[Report] = []
        for report in sorted((r for r in items if r.key == key), key=lambda r: r.rank):
            if any(same_report(report, s) for s in shown_here):
                hidden.add(report.id)
            else:
                shown_here.append(report)
    also = {}
    for report in items:
        if report.id in hidden:
            continue
        linked = also_reported_by(report, groups.get(report.key, ())) if report.key else []
        if linked:
            also[report.id] = linked
    return Collapsed(shown=[r.id for r in items if r.id not in hidden], also=also)
