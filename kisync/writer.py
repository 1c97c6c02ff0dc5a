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
    """

    def __init__(
        self,
        writer: Writer,
        together: Callable[[Sequence[P]], Sequence[R]],
        alone: Callable[[P], R],
        limit: int = 1000,
    ) -> None:
        self._writer = writer
        self._together = together
        self._alone = alone
        self._limit = limit
        self._queue: list[tuple[P, asyncio.Future[R]]] = []
        self._lock = threading.Lock()

    async def __call__(self, payload: P) -> R:
        done: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        with self._lock:
            self._queue.append((payload, done))
            first = len(self._queue) == 1
        if first:  # otherwise a flush is queued already and takes this one too
            self._writer.submit(self._flush)
        return await done

    def _flush(self) -> None:
        with self._lock:
            batch, self._queue = self._queue[: self._limit], self._queue[self._limit :]
            if self._queue:
                self._writer.submit(self._flush)
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
            done.get_loop().call_soon_threadsafe(_settle, done, result, error)


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)
