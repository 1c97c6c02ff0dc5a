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
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import ValidationError as PydanticValidationError
from sqlalchemy.engine import Engine

from kisync import __version__, parallel
from kisync.config import Settings
from kisync.errors import FetchError, KisyncError, ParseError
from kisync.fetch import Fetcher, FetchResult, user_agent
from kisync.logs import safe_url
from kisync.metrics import FETCH_SECONDS, FETCHES
from kisync.model import Centre, Tombstone
from kisync.normalize.ids import ID_PREFIX as FEED_ID_PREFIX
from kisync.parse.types import ParsedDocument
from kisync.pipeline import PageJob, Processed, SweepFacts, process_page
from kisync.schedule import Bounds, next_due_after_failure, next_due_after_success
from kisync.sources import Outcome, Source, SourceRegistry
from kisync.store.maintenance import tombstone_horizon
from kisync.store.merge import MergeContext
from kisync.store.repository import Batch, MergeResult, Store
from kisync.store.sweep import plan_sweep
from kisync.writer import Batched, Writer

log = logging.getLogger("kisync.sync")

# A changes feed is followed through `links.next` at most this many pages
# per sync; the stored cursor continues from there next time.
MAX_PAGES = 100

# At most this many sources' merges share one commit (a larger group holds the write lock longer).
MERGES_PER_COMMIT = 8
# How long a merge waits for others being parsed to share its commit (Batched: a group commit).
MERGE_LINGER = 0.2


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

    Sources are fetched concurrently; each fetched body is parsed and
    normalized in a worker process (``kisync.pipeline``, on
    ``sync.parse_processes`` processes, or a thread when that is 0) while
    the event loop goes on fetching; the store takes the items of one
    source at a time, on one writer thread (its merges are serialised by
    the change counter anyway; one thread keeps them from queueing on the
    database's lock).

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
        processes = settings.sync.parse_processes
        self.processes = parallel.default_processes() if processes is None else processes
        self._rules = settings.classification.rules().model_dump_json()
        self._writer = Writer()
        self._flows: tuple[asyncio.AbstractEventLoop, _Flow] | None = None
        # A warm sync is hundreds of 304s in a second: one commit each would keep
        # the writer thread (and SQLite's lock) busy for longer than the fetching takes.
        self._record = Batched(self._writer, self._record_many, self._record_one)
        # A cold sync parses on every core while one thread stores: a merge waits briefly for
        # the sources being parsed, and they share a commit (each commit writes the facet and
        # full-text pages it touched; Store.merge_many).
        self._merge = Batched(
            self._writer, self.store.merge_many, self._merge_one, limit=MERGES_PER_COMMIT,
            coming=lambda: self._flow().coming, linger=MERGE_LINGER,
        )

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
        await self._record((source.id, outcome))
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
            # From now, not from the start: a slow or queued attempt must not bring the next one closer.
            next_due=next_due_after_failure(self.now(), failures, self.bounds, retry_after),
        )

    async def _sync(self, fetcher: Fetcher, source: Source, url: str, attempted: datetime) -> Outcome:
        ticket = await self._flow().admit()
        try:
            return await self._fetch_and_ingest(fetcher, source, url, attempted, ticket)
        finally:
            ticket.leave()

    async def _fetch_and_ingest(
        self, fetcher: Fetcher, source: Source, url: str, attempted: datetime, ticket: _Ticket
    ) -> Outcome:
        try:
            result = await fetcher.fetch(url, etag=source.etag, last_modified=source.last_modified)
        except FetchError as error:
            if error.status == 410 and url != source.url:
                return await self._resync(fetcher, source, attempted, error, ticket)
            raise
        # The next fetch is due an interval after this one answered, however long it waited for a
        # connection slot: "once per interval" holds for the server, not only for our bookkeeping.
        fetched = self.now()
        if result.not_modified:
            return Outcome(
                attempted=attempted,
                ok=True,
                http_status=304,
                etag=result.etag,
                last_modified=result.last_modified,
                next_due=next_due_after_success(fetched, source.interval, self.bounds, result.max_age),
                not_modified=True,
                seen=source.seen,
                on_hold=source.on_hold,
            )
        return await self._ingest(fetcher, source, result, attempted, fetched, ticket)

    async def _resync(
        self, fetcher: Fetcher, source: Source, attempted: datetime, gone: FetchError, ticket: _Ticket
    ) -> Outcome:
        """A changes feed answered 410 to our cursor: read the snapshot, then follow the changes from its cursor.

        The peer purged tombstones our cursor has not seen (DESIGN.md, "Tombstone
        retention"), so the feed can no longer tell us every deletion. Its
        snapshot lists what is live; for a direct source that is the origin's own
        complete snapshot and the sweep deletes what it no longer lists; a relay
        never deletes by absence (``_sweep``).
        """
        snapshot = snapshot_url(source.url)
        log.warning(
            "changes cursor expired, reading the snapshot",
            extra={"source_id": source.id, "url": safe_url(source.url), "snapshot": safe_url(snapshot)},
        )
        result = await fetcher.fetch(snapshot)
        outcome = await self._ingest(fetcher, source, result, attempted, self.now(), ticket, resync=True)
        outcome.warnings.insert(
            0,
            {
                "where": "document",
                "code": "resync",
                "message": f"the changes feed no longer reaches back to cursor {source.cursor} ({gone}); "
                f"read the snapshot {safe_url(snapshot)} and continue from its cursor {outcome.cursor}",
            },
        )
        # The validators belong to the snapshot's URL, not to the changes feed the next sync asks.
        outcome.etag = outcome.last_modified = None
        return outcome

    async def _ingest(
        self,
        fetcher: Fetcher,
        source: Source,
        result: FetchResult,
        attempted: datetime,
        fetched: datetime,
        ticket: _Ticket,
        *,
        resync: bool = False,
    ) -> Outcome:
        async with self._flow().ingest:
            ticket.leave()
            return await self._ingest_pages(fetcher, source, result, attempted, fetched, resync)

    @property
    def ingest_slots(self) -> int:
        """Sources parsed or merged at once.

        Two groups of merges (one being written, the next filling up) and the parsers' work.
        """
        return 2 * MERGES_PER_COMMIT + 2 * max(self.processes, 1) + 2

    def _flow(self) -> _Flow:
        """This event loop's bounds on fetched work (a Syncer may serve several ``asyncio.run``)."""
        loop = asyncio.get_running_loop()
        if self._flows is None or self._flows[0] is not loop:
            self._flows = (loop, _Flow(self.ingest_slots, self.settings.fetch.concurrency))
        return self._flows[1]

    async def _ingest_pages(
        self, fetcher: Fetcher, source: Source, result: FetchResult, attempted: datetime, fetched: datetime, resync: bool
    ) -> Outcome:
        totals = _Accumulated()
        # Only a relay's context reads the store (the tombstone horizon): the others do not queue
        # behind the writer's merges before their parse can start.
        if source.relay:
            context = await self._store_call(self._context, source, attempted)
        else:
            context = self._context(source, attempted)
        on_hold, deletion_used, cursor = None, False, None
        page, pages = result, 0
        flow = self._flow()
        while True:
            flow.coming += 1  # a merge on its way: the queued ones may wait for it (Batched)
            try:
                processed = await self.process(source, page)
                doc, items = processed.doc, processed.items
                totals.warnings += processed.warnings
                # A paged snapshot is only complete with all its pages: sweep single documents only.
                if doc.complete and processed.sweep is not None and not doc.next_url and pages == 0:
                    hold, used, tombstones, why = await self._store_call(
                        self._sweep, source, doc, processed.sweep, attempted
                    )
                    on_hold, deletion_used = hold, deletion_used or used
                    items = items + tombstones  # their digests and parts are the merge's to compute (beyond the lists)
                    if why:
                        totals.warnings.append({"where": "document", "code": "not_swept", "message": why})
            except BaseException:
                flow.coming -= 1
                self._merge.consider()  # the merges waiting for this one need not
                raise
            flow.coming -= 1
            merged = await self._merge((items, context, processed.digests, processed.parts))
            totals.add(merged)
            # Only a changes feed is continued from its cursor; a snapshot is read whole every time
            # (kisync's own /api/v1/snapshot carries a cursor, and refuses `since`). After a 410 the
            # snapshot's cursor is where the changes feed continues.
            if not doc.complete or resync:
                cursor = doc.cursor or cursor
            pages += 1
            if not doc.next_url or pages >= MAX_PAGES:
                break
            page = await fetcher.fetch(doc.next_url)
        if resync and cursor is None:
            cursor = "0"  # a snapshot without a cursor: follow the changes from their start
        return Outcome(
            attempted=attempted,
            ok=True,
            http_status=result.status,
            etag=result.etag,
            last_modified=result.last_modified,
            cursor=cursor,
            next_due=next_due_after_success(fetched, source.interval, self.bounds, result.max_age),
            seen=totals.seen,
            new=totals.new,
            updated=totals.updated,
            deleted=totals.deleted,
            warnings=totals.warnings,
            on_hold=on_hold,
            deletion_used=deletion_used,
        )

    def job(self, source: Source, page: FetchResult) -> PageJob:
        """What ``process_page`` needs to parse and normalize ``page`` of ``source``."""
        return PageJob(
            body=page.body or b"",
            url=page.url,
            content_type=page.content_type,
            expected={"auto": "auto", "exchange": "exchange", "feed": "feed"}[source.format],
            source_id=source.id,
            feed_url=source.url,
            centre=source.centre or f"source-{source.id}",
            relay=source.relay,
            default_kind=source.defaults.kind,
            default_fields=tuple(source.defaults.fields_of_action),
            rules=self._rules,
            now=self.now(),
        )

    async def process(self, source: Source, page: FetchResult) -> Processed:
        """Parse and normalize one fetched page, in a worker process (or a thread)."""
        job = self.job(source, page)
        executor = self._parsers()
        if executor is None:
            return await asyncio.to_thread(process_page, job)
        try:
            return await asyncio.get_running_loop().run_in_executor(executor, process_page, job)
        except BrokenProcessPool:
            parallel.forget(executor)
            raise KisyncError(
                "the parser process ended while reading this body (killed for memory, or crashed); nothing was stored"
            ) from None

    def _parsers(self) -> parallel.ProcessPoolExecutor | None:
        """The pool of parser processes; None when parsing runs in a thread (``parse_processes`` 0, or no pool possible)."""
        if self.processes == 0:
            return None
        try:
            return parallel.pool(self.processes)
        except OSError as error:  # no semaphores (a container without /dev/shm): parse in a thread instead
            log.warning("no parser processes (%s); parsing in a thread of this process", error)
            self.processes = 0
            return None

    def _record_many(self, records: Sequence[tuple[str, Outcome]]) -> list[None]:
        self.registry.record_many(records)
        return [None] * len(records)

    def _record_one(self, record: tuple[str, Outcome]) -> None:
        self.registry.record(*record)

    def _merge_one(self, batch: Batch) -> MergeResult:
        return self.store.merge(*batch)

    async def _store_call(self, function: Callable, *args):
        return await self._writer.call(function, *args)

    def _sweep(
        self, source: Source, doc: ParsedDocument, facts: SweepFacts, now: datetime
    ) -> tuple[str | None, bool, list[Tombstone], str | None]:
        """Tombstones for the publisher's items its complete snapshot no longer lists.

        Also says why a snapshot that could have been swept was not.
        """
        publisher = (doc.publisher or {}).get("id")
        if source.relay or publisher is None or publisher != source.centre:
            return None, False, [], None  # only the origin's own snapshot may delete its items
        # Ids of invalid items count as present: a typo in one item must not delete it.
        present = facts.present
        if facts.relayed_by_publisher:
            # An item of the publisher with a hop in `via` was re-published by another node:
            # this is that node's view of the publisher (its /api/v1/snapshot?origin=…), which
            # may lack items it has not heard of yet, never the origin's own list (docs/federation.md).
            return None, False, [], (
                f"the snapshot lists items that passed through other nodes (via); it is not {publisher}'s own "
                "complete snapshot, so nothing was deleted by absence. Point a direct source at the origin itself."
            )
        try:
            origin = Centre.model_validate(doc.publisher)
        except PydanticValidationError:
            return None, False, [], None
        # Entries of the publisher's RSS/Atom/JSON Feed (another source beside this one) are never
        # in its exchange snapshot: a feed is a window of recent entries, not a list of what exists,
        # and nothing deletes its entries by absence.
        listed = [item for item in self.store.live_items_of(publisher, source.id) if not item.id.startswith(FEED_ID_PREFIX)]
        plan = plan_sweep(
            listed,
            present,
            origin=origin,
            generated=doc.generated,
            now=now,
            max_share=self.settings.sync.max_deletion_share,
            approved=source.deletion_approved,
        )
        # An approval is for the next snapshot only, whatever it deletes: left standing, it would
        # wave through a later, unrelated mass deletion.
        return plan.held, source.deletion_approved, plan.tombstones, None

    def _context(self, source: Source, now: datetime) -> MergeContext:
        return MergeContext(
            node_centre=self.settings.node.centre,
            now=now,
            source_id=source.id,
            source_centre=source.centre,
            relay=source.relay,
            own=is_own_source(source, self.settings.node.centre),
            # Only relays are held to the horizon (DESIGN.md, tombstone retention).
            tombstone_horizon=tombstone_horizon(self.store.engine) if source.relay else None,
        )


class _Flow:
    """Bounds on fetched bodies: how many are parsed and merged at once, and how many wait for that.

    ``ingest``: the sources between "parsing" and "merged" (parsed items are
    many times their body); enough to keep every parser process and the
    store busy. A source is *admitted* from the start of its fetch until it
    takes an ingest slot (or its fetch ends without a body); at most
    ``fetch.concurrency`` + ingest slots are. So fetching runs at its full
    concurrency (a 304 leaves at once: a warm sync never waits here), and
    when parsing lags, the bodies waiting for it are bounded: a cold sync
    of 400 sources no longer holds every body in memory at once.
    """

    def __init__(self, slots: int, concurrency: int) -> None:
        self.ingest = asyncio.Semaphore(slots)
        self._admission = asyncio.Semaphore(slots + concurrency)
        # Sources past their fetch whose merge is on its way (parsing, or sweeping): the merges
        # queued before them wait for them to share a commit.
        self.coming = 0

    async def admit(self) -> _Ticket:
        await self._admission.acquire()
        return _Ticket(self._admission)


class _Ticket:
    """One admitted source; ``leave`` once it holds an ingest slot or is done (again: no effect)."""

    __slots__ = ("_admission",)

    def __init__(self, admission: asyncio.Semaphore) -> None:
        self._admission: asyncio.Semaphore | None = admission

    def leave(self) -> None:
        if self._admission is not None:
            self._admission.release()
            self._admission = None


def is_own_source(source: Source, node_centre: str) -> bool:
    """A direct source for this node's own centre: the node's authoring path (docs/federation.md)."""
    return not source.relay and source.centre == node_centre


def snapshot_url(changes_url: str) -> str:
    """Where a changes feed's snapshot is: kisync serves ``…/changes`` beside ``…/snapshot``.

    Only the ``origin`` filter is kept (the snapshot refuses the others); a
    feed that is not at ``…/changes`` is read again from its start instead.
    """
    parts = urlsplit(changes_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "since"]
    if parts.path.rstrip("/").endswith("/changes"):
        path = parts.path.rstrip("/")[: -len("changes")] + "snapshot"
        return urlunsplit(parts._replace(path=path, query=urlencode([(k, v) for k, v in query if k == "origin"])))
    return urlunsplit(parts._replace(query=urlencode(query)))


def _with_cursor(url: str, cursor: str | None) -> str:
    """Continue a changes feed where the last sync stopped (DESIGN.md, changes feed)."""
    if not cursor or "://" not in url:
        return url
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "since"]
    query.append(("since", cursor))
    return urlunsplit(parts._replace(query=urlencode(query)))
