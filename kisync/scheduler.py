"""The scheduled worker: claims due sources from the database and syncs them.

APScheduler 3 runs two jobs in the event loop: a tick that leases due
sources (``kisync.store.leases``) and starts their syncs, and hourly
maintenance. Its job store stays in memory: APScheduler 3 job stores must
not be shared between processes, and the database leases are what
coordinate several workers.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.engine import Engine

from kisync import __version__
from kisync.config import Settings
from kisync.fetch import Fetcher, user_agent
from kisync.store.leases import claim, claim_due, release, release_all
from kisync.store.maintenance import purge_tombstones, tidy
from kisync.sync import Syncer

log = logging.getLogger("kisync.worker")

OnChange = Callable[[], Awaitable[None]]


class Worker:
    def __init__(self, settings: Settings, engine: Engine, *, owner: str | None = None, on_change: OnChange | None = None):
        self.settings = settings
        self.engine = engine
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.syncer = Syncer(settings, engine)
        self.on_change = on_change
        self.lease = timedelta(seconds=settings.sync.lease)
        self.in_flight: dict[str, asyncio.Task] = {}
        self.stopping = False
        self._fetcher: Fetcher | None = None
        self._scheduler: AsyncIOScheduler | None = None

    async def start(self) -> None:
        contact = self.settings.node.contact_url or self.settings.node.base_url
        self._fetcher = Fetcher(self.settings.fetch, user_agent=user_agent(__version__, contact))
        await self._fetcher.__aenter__()
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        now = datetime.now(UTC)
        self._scheduler.add_job(
            self.tick, "interval", seconds=self.settings.sync.tick, next_run_time=now,
            id="tick", max_instances=1, coalesce=True,
        )
        self._scheduler.add_job(
            self.maintain, "interval", hours=1, next_run_time=now + timedelta(minutes=1),
            id="maintenance", max_instances=1, coalesce=True,
        )
        self._scheduler.start()
        log.info("worker started", extra={"owner": self.owner, "tick_s": self.settings.sync.tick})

    async def tick(self) -> None:
        """Lease as many due sources as there are free fetch slots, and sync them."""
        if self.stopping:
            return
        free = self.settings.fetch.concurrency - len(self.in_flight)
        ids = await asyncio.to_thread(claim_due, self.engine, self.owner, datetime.now(UTC), self.lease, free)
        for source_id in ids:
            self._start(source_id)

    async def trigger(self, source_id: str) -> bool:
        """Sync one source now (admin API); False when another worker holds it or we are stopping."""
        if self.stopping or source_id in self.in_flight:
            return False
        if not await asyncio.to_thread(claim, self.engine, source_id, self.owner, datetime.now(UTC), self.lease):
            return False
        self._start(source_id)
        return True

    def _start(self, source_id: str) -> None:
        self.in_flight[source_id] = asyncio.create_task(self._sync(source_id), name=f"sync {source_id}")

    async def _sync(self, source_id: str) -> None:
        try:
            source = await asyncio.to_thread(self.syncer.registry.get, source_id)
            assert self._fetcher is not None
            report = await self.syncer.sync_source(self._fetcher, source)
            changed = report.outcome is not None and report.ok and (
                report.outcome.new or report.outcome.updated or report.outcome.deleted
            )
            if changed and self.on_change is not None:
                await self.on_change()
        except Exception:  # one source's bug must not stop the worker
            log.exception("sync crashed", extra={"source_id": source_id})
        finally:
            # After the outcome (and its next_due) is recorded: nobody re-claims it early.
            await asyncio.to_thread(release, self.engine, source_id, self.owner)
            self.in_flight.pop(source_id, None)

    async def maintain(self) -> None:
        retention = timedelta(days=self.settings.tombstones.retention_days)
        purged = await asyncio.to_thread(purge_tombstones, self.engine, datetime.now(UTC) - retention)
        await asyncio.to_thread(tidy, self.engine)
        log.info("maintenance done", extra={"purged_tombstones": purged})

    async def stop(self, timeout: float | None = None) -> None:
        """Stop claiming, let in-flight syncs finish (each merge is one transaction), give leases back."""
        self.stopping = True
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        timeout = self.settings.fetch.total_timeout + 30 if timeout is None else timeout
        if self.in_flight:
            log.info("waiting for in-flight syncs", extra={"count": len(self.in_flight)})
            done, pending = await asyncio.wait(list(self.in_flight.values()), timeout=timeout)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        await asyncio.to_thread(release_all, self.engine, self.owner)
        if self._fetcher is not None:
            await self._fetcher.__aexit__(None, None, None)
        log.info("worker stopped", extra={"owner": self.owner})
