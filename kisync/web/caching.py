"""HTTP caching: the change sequence, rendered bodies, ETags, 304s and gzip.

Every read of the merged set is a function of (path, normalized query,
change sequence): the store's ``change_seq`` counter advances on every
insert, update and tombstone. So

- the ETag is derived from the sequence and the normalized query, and a
  conditional request is answered 304 without touching the database;
- a rendered body (and its gzip) is kept in a small LRU under that key, so
  a popular feed is rendered and compressed once per change, not per
  request.

The sequence itself is read from the counter table when the known value
is ``REFRESH_SECONDS`` old (the fast path, kisync.web.hot, starts that
read a little earlier in the background, so that no request waits for
it); a syncer in the same process calls ``bump`` to make its change
visible at once. A change committed by another process (a worker on the
same PostgreSQL) is served to every request that starts
``REFRESH_SECONDS`` or more after the commit; the requests in between
need no database round trip.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

import sqlalchemy as sa
from aiohttp import web
from sqlalchemy.engine import Engine

from kisync.store.tables import CHANGE_SEQ, PURGED_SEQ, CounterRow

_COUNTER = CounterRow.__table__
log = logging.getLogger("kisync.web")

REFRESH_SECONDS = 0.5
# Share of REFRESH_SECONDS after which a request that finds the value fresh starts the next read in the background.
EARLY_READ = 0.75
# Bodies smaller than this gain little from gzip and cost a round of CPU.
GZIP_MIN_BYTES = 512
# Up to this size gzip takes about a millisecond: less than a hop to a thread and back.
INLINE_GZIP_BYTES = 64 * 1024


def read_counters(engine: Engine) -> tuple[int, int]:
    """``(change_seq, purged_seq)`` in one query."""
    query = sa.select(_COUNTER.c.name, _COUNTER.c.value).where(_COUNTER.c.name.in_([CHANGE_SEQ, PURGED_SEQ]))
    with engine.connect() as conn:
        values = dict(conn.execute(query).all())
    return int(values.get(CHANGE_SEQ, 0)), int(values.get(PURGED_SEQ, 0))


class ChangeSeq:
    """The store's change sequence as this process knows it, refreshed cheaply."""

    def __init__(self, engine: Engine, *, refresh_seconds: float = REFRESH_SECONDS, clock=time.monotonic):
        self._engine = engine
        self.refresh_seconds = refresh_seconds
        self._clock = clock
        self._checked: float | None = None
        self._lock = asyncio.Lock()
        self._early: asyncio.Task[None] | None = None
        self.value = 0
        self.purged = 0
        self._bumps = 0  # in-process commits seen: a read that overlapped one may be older than it
        # When this process first saw the current value: the time of the last change.
        self.changed_at = datetime.now(UTC)

    def _stale(self) -> bool:
        return self._checked is None or self._clock() - self._checked >= self.refresh_seconds

    def known(self) -> int | None:
        """The value when it is recent enough to answer with, without waiting; None when it is due for a read.

        Late in the interval it starts the next read in the background, so
        that under steady traffic no request has to wait for one.
        """
        if self._checked is None:
            return None
        age = self._clock() - self._checked
        if age >= self.refresh_seconds:
            return None
        if age >= self.refresh_seconds * EARLY_READ and self._early is None and not self._lock.locked():
            self._early = asyncio.get_running_loop().create_task(self._read_early())
        return self.value

    async def _read_early(self) -> None:
        try:
            async with self._lock:
                if self._checked is None or self._clock() - self._checked >= self.refresh_seconds * EARLY_READ:
                    await self._read()
        except Exception:
            # The request that finds the value stale reads it again, and answers the error.
            log.debug("early read of the change sequence failed", exc_info=True)
        finally:
            self._early = None

    async def current(self) -> int:
        if self._stale():
            async with self._lock:
                # Another request may have refreshed while this one waited for the lock.
                if self._stale():
                    await self._read()
        return self.value

    async def refresh(self) -> int:
        """Read the counters now, whatever the age of the known value."""
        async with self._lock:
            await self._read()
        return self.value

    async def _read(self) -> None:
        # The time the read started: a commit after it is seen by the next read, at most refresh_seconds later.
        started, bumps = self._clock(), self._bumps
        seq, purged = await asyncio.to_thread(read_counters, self._engine)
        self._checked = started
        self.purged = purged
        if bumps != self._bumps and seq < self.value:
            return  # read before a commit this process announced meanwhile: that value is the newer one
        self._observe(seq)

    def bump(self, seq: int) -> None:
        """An in-process writer committed up to ``seq``: serve it from now on."""
        self._bumps += 1
        self._observe(seq)

    def _observe(self, seq: int) -> None:
        if seq != self.value:
            # A lower value only after the store was reset (tests, restore from backup).
            self.value = seq
            self.changed_at = datetime.now(UTC)


@dataclass
class Rendered:
    """A representation ready to send."""

    body: bytes
    media_type: str
    last_modified: datetime | None = None
    headers: dict[str, str] = field(default_factory=dict)
    gzipped: bytes | None = None
    # The compression under way, so that concurrent requests wait for it instead of compressing again.
    _gzipping: asyncio.Future[bytes] | None = field(default=None, repr=False, compare=False)
    # Whole answers made from this entry, by variant, as they left the middlewares (kisync.web.hot).
    prepared: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def size(self) -> int:
        return len(self.body) + len(self.gzipped or b"")


CacheKey = tuple[str, str, int]


class RenderCache:
    """LRU of rendered bodies keyed by (path, normalized query, change sequence), bounded in entries and bytes."""

    def __init__(self, *, max_entries: int = 256, max_bytes: int = 64 * 1024 * 1024):
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[CacheKey, Rendered] = OrderedDict()
        self._bytes = 0
        self._inflight: dict[CacheKey, asyncio.Future[Rendered]] = {}
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def bytes(self) -> int:
        return self._bytes

    def get(self, key: CacheKey) -> Rendered | None:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def put(self, key: CacheKey, entry: Rendered) -> None:
        # One body may not take more than a quarter of the budget: a huge
        # snapshot would otherwise evict every feed.
        if entry.size > self.max_bytes // 4:
            self.discard(key)
            return
        self.discard(key)
        self._entries[key] = entry
        self._bytes += entry.size
        self._evict()

    def resize(self, key: CacheKey, entry: Rendered, old_size: int) -> None:
        """An entry grew (its gzip was added): account for it."""
        if self._entries.get(key) is entry:
            self._bytes += entry.size - old_size
            self._evict()

    def discard(self, key: CacheKey) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= old.size

    def drop_older_than(self, seq: int) -> None:
        """Bodies of earlier sequences will never be asked for again."""
        for key in [k for k in self._entries if k[2] < seq]:
            self.discard(key)

    def _evict(self) -> None:
        while self._entries and (len(self._entries) > self.max_entries or self._bytes > self.max_bytes):
            _, old = self._entries.popitem(last=False)
            self._bytes -= old.size

    async def get_or_render(self, key: CacheKey, render: Callable[[], Awaitable[Rendered]]) -> Rendered:
        """The cached body, or render it once however many requests ask at the same time."""
        entry = self.get(key)
        if entry is not None:
            self.hits += 1
            return entry
        pending = self._inflight.get(key)
        if pending is not None:
            self.hits += 1
            return await asyncio.shield(pending)
        self.misses += 1
        future: asyncio.Future[Rendered] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            entry = await render()
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: no "never retrieved" warning when nobody waits
            raise
        finally:
            self._inflight.pop(key, None)
        future.set_result(entry)
        self.drop_older_than(key[2])
        self.put(key, entry)
        return entry


# -- headers -------------------------------------------------------------------


def make_etag(seq: int, path: str, query: str, salt: str = "") -> str:
    """A weak ETag: the same for the plain and the gzipped body (RFC 9110 §8.8.3)."""
    digest = hashlib.sha256(f"{salt}\n{path}\n{query}".encode()).hexdigest()[:16]
    return f'W/"{seq}-{digest}"'


def content_etag(body: bytes) -> str:
    """For representations that do not follow the change sequence (source state)."""
    return f'W/"h-{hashlib.sha256(body).hexdigest()[:24]}"'


def _opaque(tag: str) -> str:
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Weak comparison, as If-None-Match requires (RFC 9110 §13.1.2)."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    wanted = _opaque(etag)
    return any(_opaque(tag) == wanted for tag in if_none_match.split(","))


def not_modified_since(if_modified_since: str | None, last_modified: datetime | None) -> bool:
    if not if_modified_since or last_modified is None:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError, IndexError):
        return False  # an unreadable date is ignored (RFC 9110 §13.1.3)
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return last_modified.replace(microsecond=0) <= since


def http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether gzip is acceptable: named with q > 0, or ``*`` with q > 0 and gzip not refused."""
    if not accept_encoding:
        return False
    weights: dict[str, float] = {}
    for part in accept_encoding.split(","):
        token, *params = [p.strip() for p in part.split(";")]
        if not token:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        weights[token.lower()] = q
    for name in ("gzip", "x-gzip"):
        if name in weights:
            return weights[name] > 0
    return weights.get("*", 0) > 0


def gzip_body(body: bytes) -> bytes:
    # mtime=0: the same body always compresses to the same bytes.
    return gzip.compress(body, compresslevel=6, mtime=0)


# -- answering -----------------------------------------------------------------


def _base_headers(etag: str, cache_control: str, last_modified: datetime | None) -> dict[str, str]:
    headers = {"ETag": etag, "Cache-Control": cache_control, "Vary": "Accept-Encoding"}
    if last_modified is not None:
        headers["Last-Modified"] = http_date(last_modified)
    return headers


def not_modified(etag: str, cache_control: str, last_modified: datetime | None) -> web.Response:
    return web.Response(status=304, headers=_base_headers(etag, cache_control, last_modified))


async def _gzipped(entry: Rendered, cache: RenderCache | None, key: CacheKey | None) -> bytes:
    """The entry's gzip, compressed once however many requests want it at the same time."""
    if entry.gzipped is None:
        if len(entry.body) <= INLINE_GZIP_BYTES:
            compressed = gzip_body(entry.body)  # no await: no other request runs meanwhile
        else:
            if entry._gzipping is None:
                entry._gzipping = asyncio.ensure_future(asyncio.to_thread(gzip_body, entry.body))
            try:
                compressed = await asyncio.shield(entry._gzipping)
            except Exception:
                entry._gzipping = None
                raise
        if entry.gzipped is None:  # the first request to get here keeps it
            entry.gzipped = compressed
            if cache is not None and key is not None:
                cache.resize(key, entry, entry.size - len(compressed))
    return entry.gzipped


async def send(
    request: web.Request,
    entry: Rendered,
    *,
    etag: str,
    cache_control: str,
    cache: RenderCache | None = None,
    key: CacheKey | None = None,
) -> web.Response:
    """Answer with the entry: 304 when the client has it, gzip when the client takes it."""
    if etag_matches(request.headers.get("If-None-Match"), etag):
        return not_modified(etag, cache_control, entry.last_modified)
    # If-Modified-Since counts only without If-None-Match (RFC 9110 §13.1.3).
    if "If-None-Match" not in request.headers and not_modified_since(
        request.headers.get("If-Modified-Since"), entry.last_modified
    ):
        return not_modified(etag, cache_control, entry.last_modified)
    headers = _base_headers(etag, cache_control, entry.last_modified)
    headers.update(entry.headers)
    body = entry.body
    if len(body) >= GZIP_MIN_BYTES and accepts_gzip(request.headers.get("Accept-Encoding")):
        body = await _gzipped(entry, cache, key)
        headers["Content-Encoding"] = "gzip"
    headers["Content-Type"] = entry.media_type
    return web.Response(body=body, headers=headers)
