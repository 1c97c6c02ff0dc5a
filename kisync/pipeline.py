"""Parse and normalize one fetched body: the CPU-bound half of a sync.

A cold sync of many RSS/Atom sources spends most of its time here
(feedparser, nh3, classification), not on the network. ``process_page``
is a top-level function of plain, picklable data in and out, so the
Syncer can run it in worker processes (``kisync.parallel``) on every core
while its event loop goes on fetching, or in a thread when
``sync.parse_processes`` is 0.

What comes back is what the merge needs, and no more: the normalized
items with what the store derives from each (content hash, JSON, search
text, facets: work taken off the store writer, which every merge passes
through), the warnings, the document's envelope without its raw entries,
and the two facts about a snapshot's raw items that the sweep needs
(``SweepFacts``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from kisync.centres import centre_for
from kisync.errors import ParseError
from kisync.model import Item, Tombstone
from kisync.normalize import NormalizeContext, normalize_document
from kisync.normalize.classify import ClassificationRules
from kisync.parse import parse_document
from kisync.parse.document import Expected
from kisync.parse.types import ParsedDocument
from kisync.store.merge import incoming_digest
from kisync.store.rows import RowParts, row_parts
from kisync.vocab import FieldOfAction, Kind


@dataclass(frozen=True, kw_only=True)
class PageJob:
    """One fetched body and what normalizing it needs to know about its source."""

    body: bytes
    url: str  # where the body came from (messages, relative links)
    content_type: str | None
    expected: Expected
    source_id: str
    feed_url: str  # the source's configured URL: feed item ids are minted from it
    centre: str  # the source's centre id, or "source-<id>" for a source without one
    relay: bool
    default_kind: Kind | None
    default_fields: tuple[FieldOfAction, ...]
    rules: str  # ClassificationRules as JSON: compiled once per process (``_rules``)
    now: datetime


@dataclass(frozen=True)
class SweepFacts:
    """What the sweep of a complete snapshot needs from its raw items (``Syncer._sweep``)."""

    # Ids of every object in `data`, invalid items included: a typo in one item must not delete it.
    present: frozenset[object]
    # Some item of the publisher carries a hop in `via`: a relay's view, never the origin's own list.
    relayed_by_publisher: bool


@dataclass
class Processed:
    doc: ParsedDocument  # the envelope only: `entries` and `exchange_items` are emptied
    items: list[Item | Tombstone]
    digests: list[str]  # the merge's content hash of each item, computed here on a parser process's CPU
    parts: list[RowParts]  # and what the store writes of each item besides (Store.merge)
    warnings: list[dict]
    sweep: SweepFacts | None  # exchange documents only


def process_page(job: PageJob) -> Processed:
    """Parse and normalize one body; raises ParseError when nothing in it is usable."""
    doc = parse_document(job.body, url=job.url, content_type=job.content_type, expected=job.expected)
    ctx = NormalizeContext(
        source_id=job.source_id,
        feed_url=job.feed_url,
        centre=centre_for(job.centre, fallback_name=doc.feed_title),
        relay=job.relay,
        default_kind=job.default_kind,
        default_fields=list(job.default_fields),
        rules=_rules(job.rules),
        now=job.now,
    )
    batch = normalize_document(doc, ctx)
    warnings = [{"where": w.where, "code": w.code, "message": w.message} for w in doc.warnings + batch.warnings]
    if not batch.items and (doc.exchange_items or doc.entries):
        # Name an item's own problem: the document's warnings (a missing `generated`) come first
        # in `warnings` but are not why nothing could be used.
        first = (batch.warnings or doc.warnings)[0]
        raise ParseError(f"no usable item among {len(doc.exchange_items or doc.entries)}: {first.message}")
    sweep = sweep_facts(doc) if doc.format == "exchange" else None
    envelope = dataclasses.replace(doc, entries=[], exchange_items=[], exchange_positions=[], warnings=[])
    digests = [incoming_digest(item) for item in batch.items]
    return Processed(envelope, batch.items, digests, [row_parts(item) for item in batch.items], warnings, sweep)


def sweep_facts(doc: ParsedDocument) -> SweepFacts:
    publisher = (doc.publisher or {}).get("id")
    raw_items = [raw for raw in doc.exchange_items if isinstance(raw, dict)]
    return SweepFacts(
        present=frozenset(_hashable(raw.get("id")) for raw in raw_items),
        relayed_by_publisher=any(raw.get("via") and _origin_id(raw) == publisher for raw in raw_items),
    )


def _hashable(value: object) -> object:
    # An id that is a list or an object is invalid (its item was skipped) and matches no stored id.
    return value if isinstance(value, str | int | float | bool | None) else repr(value)


def _origin_id(raw: dict) -> object:
    origin = raw.get("origin")
    return origin.get("id") if isinstance(origin, dict) else None


@lru_cache(maxsize=8)
def _rules(rules_json: str) -> ClassificationRules:
    """Compiling the keyword regexes costs more than a small feed: once per rule set and process."""
    return ClassificationRules.model_validate_json(rules_json)
