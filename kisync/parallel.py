"""Worker processes for the CPU-bound half of a sync (``kisync.pipeline``).

One pool per process and size, made on first use and kept: starting a
worker costs about as much as parsing a few feeds (it imports feedparser,
nh3 and the models), so every sync of a long-running ``kisync run`` or
``kisync worker`` reuses the same processes.

Workers start from a fork server that has imported ``kisync.pipeline``
already: fork's speed without forking the syncing process itself, whose
threads (the event loop's executor, the database pool) a plain fork
would copy in whatever state they are in.

A pool whose worker died (killed for memory, a crash in a C extension on
a hostile body) is broken for good: ``forget`` drops it, and the next use
starts a fresh one.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor

# Workers run below the process that starts them. When every core is busy, the
# syncing process goes first: its event loop, the store writer that every
# source's merge passes through one at a time, and in `kisync run` the web
# server. The workers, several of them, take the rest. A cold sync of 400
# sources on 2 cores took about 10 % less wall time this way (issue #7).
WORKER_NICENESS = 10

_POOLS: dict[int, ProcessPoolExecutor] = {}
_LOCK = threading.Lock()


def default_processes() -> int:
    """One worker per core, at most 4; none on a single core, where a thread does as well."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return 0 if cores < 2 else min(cores, 4)


def pool(processes: int) -> ProcessPoolExecutor:
    """The shared pool of ``processes`` workers (``processes`` >= 1)."""
    with _LOCK:
        executor = _POOLS.get(processes)
        if executor is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["kisync.pipeline"])
            executor = _POOLS[processes] = ProcessPoolExecutor(
                max_workers=processes, mp_context=context, initializer=_lower_priority
            )
        return executor


def _lower_priority() -> None:
    os.nice(WORKER_NICENESS)


def forget(executor: ProcessPoolExecutor) -> None:
    """Drop a broken pool; the next ``pool`` call starts a new one."""
    with _LOCK:
        for size, known in list(_POOLS.items()):
            if known is executor:
                del _POOLS[size]
    executor.shutdown(wait=False, cancel_futures=True)


def shutdown() -> None:
    """Stop every pool (at exit, and for tests that count processes)."""
    with _LOCK:
        pools = list(_POOLS.values())
        _POOLS.clear()
    for executor in pools:
        executor.shutdown(wait=True, cancel_futures=True)


atexit.register(shutdown)
