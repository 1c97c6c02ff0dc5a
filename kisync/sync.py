"""One sync of a set of sources: fetch -> parse -> normalize -> merge, per source.

A source's failure stays its own: it is recorded on the source's state
(with back-off), never raised past ``sync_sources``, and never touches
stored items. The store is written only from a successfully parsed body.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import ValidationError as PydanticValidationError
from sqlalchemy.engine import Engine

from kisync import __version__
from kisync.centres import centre_for
from kisync.config import Settings
from kisync.errors import FetchError, KisyncError, ParseError
from kisync.fetch import Fetcher, FetchResult, user_agent
from kisync.logs import safe_url
from kisync.metrics import FETCH_SECONDS, FETCHES
from kisync.model import Centre, Item, Tombstone
from kisync.normalize import NormalizeContext, normalize_document
from kisync.parse import parse_document
from kisync.parse.types import ParsedDocument
from kisync.schedule import Bounds, next_due_after_failure, next_due_after_success
from kisync.sources import Outcome, Source, SourceRegistry
from kisync.store.maintenance import tombstone_horizon
from kisync.store.merge import MergeContext
from kisync.store.repository import MergeResult, Store
from kisync.store.sweep import plan_sweep

log = logging.getLogger("kisync.sync")

# A changes feed is followed through `links.next` at most this many pages
# per sync; the stored cursor continues from there next time.
MAX_PAGES = 100


@dataclass
class SyncReport:
    source_id: str
    url: str
    ok: bool
    not_modified: bool = False
    error: str | None = None
    duration: float = 0.0
    outcome: Outcome | None = None
    warnings: int = 0
    on_hold: str | None = None

    @property
    def status(self) -> str:
        if not self.ok:
            return "failed"
        return "not modified" if self.not_modified else "ok"


@dataclass
class _Accumulated:
    seen: int = 0
    new: int = 0
    updated: int = 0
    deleted: int = 0
    warnings: list[dict] = field(default_factory=list)

    def add(self, result: MergeResult) -> None:
        self.seen += result.seen
        self.new += result.new
        self.updated += result.updated
        self.deleted += result.deleted
        self.warnings += [{"item": w.item_id, "code": w.code, "message": w.message} for w in result.warnings]


class Syncer:
    """Syncs sources into the store.

    ``allow_addresses`` is handed to the Fetcher that ``sync_sources`` opens:
    exact (address, port) pairs the SSRF guard lets through. It exists for
    tests, whose servers run on loopback; production code never passes it.
    """

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        *,
        now: Callable[[], datetime] | None = None,
        allow_addresses: Iterable[tuple[str, int]] = (),
    ):
        self.settings = settings
        self.store = Store(engine)
        self.registry = SourceRegistry(engine)
        self.now = now or (lambda: datetime.now(UTC))
        self.bounds = Bounds(settings.sync.min_interval, settings.sync.max_backoff)
        self.allow_addresses = list(allow_addresses)

    async def sync_sources(
        self, sources: Sequence[Source], progress: Callable[[SyncReport], None] | None = None
    ) -> list[SyncReport]:
        contact = self.settings.node.contact_url or self.settings.node.base_url
        agent = user_agent(__version__, contact)
        async with Fetcher(self.settings.fetch, user_agent=agent, allow_addresses=self.allow_addresses) as fetcher:

            async def one(source: Source) -> SyncReport:
                report = await self.sync_source(fetcher, source)
                if progress is not None:
                    progress(report)
                return report

            return list(await asyncio.gather(*(one(s) for s in sources)))

    async def sync_source(self, fetcher: Fetcher, source: Source) -> SyncReport:
        started = time.monotonic()
        attempted = self.now()
        url = _with_cursor(source.url, source.cursor)
        try:
            outcome = await self._sync(fetcher, source, url, attempted)
        except (FetchError, ParseError) as error:
            outcome = self._failure(source, attempted, error)
        except KisyncError as error:  # e.g. a StorageError: recorded, the other sources go on
            outcome = self._failure(source, attempted, error)
        except Exception as error:  # a bug, met in one source's data: it must not end the others' run
            log.exception("sync crashed", extra={"source_id": source.id, "url": safe_url(url)})
            outcome = self._failure(source, attempted, KisyncError(f"internal error: {type(error).__name__}: {error}"))
        duration = time.monotonic() - started
        FETCHES.labels("not_modified" if outcome.not_modified else "ok" if outcome.ok else "error").inc()
        FETCH_SECONDS.observe(duration)
        await asyncio.to_thread(self.registry.record, source.id, outcome)
        report = SyncReport(
            source_id=source.id,
            url=safe_url(url),
            ok=outcome.ok,
            not_modified=outcome.not_modified,
            error=outcome.error,
            duration=duration,
            outcome=outcome,
            warnings=len(outcome.warnings),
            on_hold=outcome.on_hold,
        )
        fields = {"source_id": source.id, "url": report.url, "duration_ms": round(duration * 1000)}
        if outcome.ok:
            log.info(
                "sync %s", report.status,
                extra={**fields, "status": outcome.http_status, "new": outcome.new, "updated": outcome.updated,
                       "deleted": outcome.deleted, "warnings": report.warnings},
            )
        else:
            log.warning("sync failed: %s", outcome.error, extra={**fields, "status": outcome.http_status})
        return report

    def _failure(self, source: Source, attempted: datetime, error: KisyncError) -> Outcome:
        failures = source.consecutive_failures + 1
        retry_after = getattr(error, "retry_after", None)
        return Outcome(
            attempted=attempted,
            ok=False,
            http_status=getattr(error, "status", None),
            error=str(error),
            next_due=next_due_after_failure(attempted, failures, self.bounds, retry_after),
        )

    async def _sync(self, fetcher: Fetcher, source: Source, url: str, attempted: datetime) -> Outcome:
        result = await fetcher.fetch(url, etag=source.etag, last_modified=source.last_modified)
        if result.not_modified:
            return Outcome(
                attempted=attempted,
                ok=True,
                http_status=304,
                etag=result.etag,
                last_modified=result.last_modified,
                next_due=next_due_after_success(attempted, source.interval, self.bounds, result.max_age),
                not_modified=True,
                seen=source.seen,
                on_hold=source.on_hold,
            )
        totals = _Accumulated()
        context = await asyncio.to_thread(self._context, source, attempted)
        on_hold, deletion_used, cursor = None, False, None
        page, pages = result, 0
        while True:
            doc, items, warnings = await asyncio.to_thread(self._process, source, page)
            totals.warnings += warnings
            # A paged snapshot is only complete with all its pages: sweep single documents only.
            if doc.complete and doc.format == "exchange" and not doc.next_url and pages == 0:
                hold, used, tombstones = await asyncio.to_thread(self._sweep, source, doc, attempted)
                on_hold, deletion_used = hold, deletion_used or used
                items = items + tombstones
            merged = await asyncio.to_thread(self.store.merge, items, context)
            totals.add(merged)
            # Only a changes feed is continued from its cursor; a snapshot is read whole every time
            # (kisync's own /api/v1/snapshot carries a cursor, and refuses `since`).
            if not doc.complete:
                cursor = doc.cursor or cursor
            pages += 1
            if not doc.next_url or pages >= MAX_PAGES:
                break
            page = await fetcher.fetch(doc.next_url)
        return Outcome(
            attempted=attempted,
            ok=True,
            http_status=result.status,
            etag=result.etag,
            last_modified=result.last_modified,
            cursor=cursor,
            next_due=next_due_after_success(attempted, source.interval, self.bounds, result.max_age),
            seen=totals.seen,
            new=totals.new,
            updated=totals.updated,
            deleted=totals.deleted,
            warnings=totals.warnings,
            on_hold=on_hold,
            deletion_used=deletion_used,
        )

    def _origin(self, source: Source, doc: ParsedDocument) -> Centre:
        return centre_for(source.centre or f"source-{source.id}", fallback_name=doc.feed_title)

    def _process(self, source: Source, page: FetchResult) -> tuple[ParsedDocument, list[Item | Tombstone], list[dict]]:
        expected = {"auto": "auto", "exchange": "exchange", "feed": "feed"}[source.format]
        doc = parse_document(page.body or b"", url=page.url, content_type=page.content_type, expected=expected)
        ctx = NormalizeContext(
            source_id=source.id,
            feed_url=source.url,
            centre=self._origin(source, doc),
            relay=source.relay,
            default_kind=source.defaults.kind,
            default_fields=list(source.defaults.fields_of_action),
            rules=self.settings.classification.rules(),
            now=self.now(),
        )
        batch = normalize_document(doc, ctx)
        warnings = [{"where": w.where, "code": w.code, "message": w.message} for w in doc.warnings + batch.warnings]
        if not batch.items and (doc.exchange_items or doc.entries):
            # Name an item's own problem: the document's warnings (a missing `generated`) come first
            # in `warnings` but are not why nothing could be used.
            first = (batch.warnings or doc.warnings)[0]
            raise ParseError(f"no usable item among {len(doc.exchange_items or doc.entries)}: {first.message}")
        return doc, batch.items, warnings

    def _sweep(self, source: Source, doc: ParsedDocument, now: datetime) -> tuple[str | None, bool, list[Tombstone]]:
        """Tombstones for the publisher's items its complete snapshot no longer lists."""
        publisher = (doc.publisher or {}).get("id")
        if source.relay or publisher is None or publisher != source.centre:
            return None, False, []  # only the origin's own snapshot may delete its items
        # Ids of invalid items count as present: a typo in one item must not delete it.
        present = {raw.get("id") for raw in doc.exchange_items if isinstance(raw, dict)}
        try:
            origin = Centre.model_validate(doc.publisher)
        except PydanticValidationError:
            return None, False, []
        plan = plan_sweep(
            self.store.live_items_of(publisher, source.id),
            present,
            origin=origin,
            generated=doc.generated,
            now=now,
            max_share=self.settings.sync.max_deletion_share,
            approved=source.deletion_approved,
        )
        # An approval is for the next snapshot only, whatever it deletes: left standing, it would
        # wave through a later, unrelated mass deletion.
        return plan.held, source.deletion_approved, plan.tombstones

    def _context(self, source: Source, now: datetime) -> MergeContext:
        return MergeContext(
            node_centre=self.settings.node.centre,
            now=now,
            source_id=source.id,
            source_centre=source.centre,
            relay=source.relay,
            # Only relays are held to the horizon (DESIGN.md, tombstone retention).
            tombstone_horizon=tombstone_horizon(self.store.engine) if source.relay else None,
        )


def _with_cursor(url: str, cursor: str | None) -> str:
    """Continue a changes feed where the last sync stopped (DESIGN.md, changes feed)."""
    if not cursor or "://" not in url:
        return url
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "since"]
    query.append(("since", cursor))
    return urlunsplit(parts._replace(query=urlencode(query)))
