"""The store's writer thread, and writes that share a transaction when they queue up.

A sync writes from one thread: merges and source records would only queue
on the database's write lock anyway (SQLite has one writer; on PostgreSQL
merges serialise on the change-sequence row). While that thread is busy,
the same kind of write from other sources piles up behind it. A
``Batched`` queue hands everything that piled up to one call, so they
share one transaction and one commit; if that call fails, each is run on
its own, so one source's failure stays its own.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, TypeVar

P = TypeVar("P")
R = TypeVar("R")


class Writer:
    """One thread for every store write of a syncer."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kisync-store")
        weakref.finalize(self, self._executor.shutdown, wait=False)

    async def call(self, function: Callable[..., R], *args: Any) -> R:
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    def submit(self, function: Callable[[], Any]) -> None:
        self._executor.submit(function)


class Batched(Generic[P, R]):
    """Writes of one kind that run together when they queue up behind the writer thread.

    ``together(payloads)`` does them all in one transaction and returns one
    result per payload; ``alone(payload)`` does one. At most ``limit`` go
    into one call; the rest follow in the next.

    With ``coming`` (how many more writes of this kind are on their way,
    read on the event loop) and ``linger``, it is a group commit: while
    others are coming and fewer than ``limit`` wait, the first one waits
    for them, up to ``linger`` seconds. A cold sync parses on every core
    while one thread stores; without waiting, that thread took the
    sources one at a time, and each commit wrote most of the same
    facet and full-text pages again (issue #7). With nothing coming,
    nothing waits: a single source, or the pages of one, go at once.
    The waiting happens on the event loop, never on the writer thread,
    so the writes of another kind go on meanwhile.
    """

    def __init__(
        self,
        writer: Writer,
        together: Callable[[Sequence[P]], Sequence[R]],
        alone: Callable[[P], R],
        limit: int = 1000,
        *,
        coming: Callable[[], int] | None = None,
        linger: float = 0.0,
    ) -> None:
        self._writer = writer
        self._together = together
        self._alone = alone
        self._limit = limit
        self._coming = coming
        self._linger = linger
        self._queue: list[tuple[P, asyncio.Future[R]]] = []
        self._lock = threading.Lock()
        # A flush is submitted to the writer and has not finished: it, or what it leaves behind, takes the queue.
        self._flushing = False
        self._oldest = 0.0  # loop time when the oldest payload in the queue came
        # The call of ``consider`` a waiting queue is due for, and the loop it is on (a Syncer may serve
        # several ``asyncio.run``: a timer of a loop that ended never fires).
        self._timer: tuple[asyncio.AbstractEventLoop, asyncio.TimerHandle] | None = None

    async def __call__(self, payload: P) -> R:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[R] = loop.create_future()
        with self._lock:
            if not self._queue:
                self._oldest = loop.time()
            self._queue.append((payload, done))
        self.consider()
        return await done

    def consider(self) -> None:
        """Submit a flush if the queue should go now, or make sure it is looked at again when it should.

        On the event loop: ``Batched`` calls it when a payload comes and when
        a flush is done; a caller whose coming write is no longer coming
        (it failed before it was queued) may call it too.
        """
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._flushing or not self._queue:
                return
            waited = loop.time() - self._oldest
            if (
                self._lingers()
                and len(self._queue) < self._limit
                and waited < self._linger
                and self._coming() > 0
            ):
                if self._timer is None or self._timer[0] is not loop:
                    self._timer = (loop, loop.call_later(self._linger - waited, self._timer_done))
                return
            self._flushing = True
            timer, self._timer = self._timer, None
        if timer is not None:
            timer[1].cancel()
        self._writer.submit(self._flush)

    def _timer_done(self) -> None:
        self._timer = None
        self.consider()

    def _flush(self) -> None:
        with self._lock:
            batch, self._queue = self._queue[: self._limit], self._queue[self._limit :]
            if self._queue:
                self._oldest = float("-inf")  # they waited behind this flush: the next goes at once
        try:
            self._run(batch)
        finally:
            with self._lock:
                left = self._queue[-1][1] if self._queue else None  # the latest: its loop the likeliest alive
                # What cannot wait goes next from this thread, as before there was waiting: it does not
                # depend on an event loop that may have ended meanwhile (a sync interrupted).
                again = left is not None and (not self._lingers() or self._oldest == float("-inf"))
                self._flushing = again
            if again:
                self._writer.submit(self._flush)
            elif left is not None:
                try:
                    left.get_loop().call_soon_threadsafe(self.consider)
                except RuntimeError:  # that loop has ended: write what waits rather than keep it
                    with self._lock:
                        submit, self._flushing = not self._flushing, True
                    if submit:
                        self._writer.submit(self._flush)

    def _lingers(self) -> bool:
        return self._coming is not None and self._linger > 0

    def _run(self, batch: list[tuple[P, asyncio.Future[R]]]) -> None:
        if not batch:
            return
        outcomes: list[tuple[Any, BaseException | None]]
        try:
            results = self._together([payload for payload, _ in batch])
        except Exception:
            outcomes = []
            for payload, _ in batch:
                try:
                    outcomes.append((self._alone(payload), None))
                except Exception as error:
                    outcomes.append((None, error))
        else:
            # Done and committed: a result that does not fit is a bug to report, never a reason to write again.
            outcomes = [(result, None) for result in results]
            if len(outcomes) != len(batch):
                error = RuntimeError(f"{len(outcomes)} results for {len(batch)} writes")
                outcomes = [(None, error)] * len(batch)
        for (_, done), (result, error) in zip(batch, outcomes, strict=True):
            try:
                done.get_loop().call_soon_threadsafe(_settle, done, result, error)
            except RuntimeError:  # its event loop has ended (a sync cancelled while it waited): nobody awaits it
                continue


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)
