"""How long and how many: the timeouts of one fetch, and how many fetches run at once."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from kisync.config import FetchSettings


@dataclass(frozen=True)
class Timeouts:
    # A host that does not accept within this is down or filtered; waiting longer only delays the other sources.
    connect: float
    # A server that sends nothing for this long has stalled; it is given up on before the whole budget is spent.
    read: float
    # The whole fetch, all redirects and the body included: one source can never hold a worker longer.
    total: float

    @classmethod
    def from_settings(cls, settings: FetchSettings) -> Timeouts:
        # Half the budget for silence, but never less than the connect timeout: a slow but
        # alive server on a short budget is cut by the total, a silent one earlier.
        read = min(settings.total_timeout, max(settings.connect_timeout, settings.total_timeout / 2))
        return cls(connect=settings.connect_timeout, read=read, total=settings.total_timeout)


class ConcurrencyLimits:
    """Slots for fetches: ``concurrency`` in all, ``per_host`` against one host.

    The connector enforces the same numbers on connections; these slots are
    taken *before* a fetch's timeout starts, so a fetch queued behind slow ones
    does not time out while it waits its turn. The host slot comes first: a
    fetch waiting for a busy host must not sit on one of the global slots.
    """

    def __init__(self, total: int, per_host: int) -> None:
        # Bounded so that many sources due at once do not open hundreds of sockets.
        self._total = asyncio.Semaphore(total)
        # Small per host, so that kisync never looks like a flood to one centre's web server.
        self._per_host = per_host
        self._hosts: dict[str, tuple[asyncio.Semaphore, list[int]]] = {}

    def slot(self, host: str) -> _Slot:
        """``async with limits.slot(host):`` one fetch against ``host``."""
        return _Slot(self, host)


class _Slot:
    """A fetch's slots: its host's first, then one of all.

    A class, not an ``@asynccontextmanager``: every fetch takes one, and an
    async generator costs the event loop's bookkeeping of it on top.
    """

    __slots__ = ("_limits", "_host", "_entry")

    def __init__(self, limits: ConcurrencyLimits, host: str) -> None:
        self._limits = limits
        self._host = host

    async def __aenter__(self) -> None:
        limits = self._limits
        self._entry = entry = limits._hosts.setdefault(self._host, (asyncio.Semaphore(limits._per_host), [0]))
        entry[1][0] += 1
        try:
            await entry[0].acquire()
            try:
                await limits._total.acquire()
            except BaseException:
                entry[0].release()
                raise
        except BaseException:
            self._leave()
            raise

    async def __aexit__(self, *exc_info: object) -> None:
        self._limits._total.release()
        self._entry[0].release()
        self._leave()

    def _leave(self) -> None:
        users = self._entry[1]
        users[0] -= 1
        if users[0] == 0:
            del self._limits._hosts[self._host]  # forget idle hosts, so the table stays as small as the work in flight
