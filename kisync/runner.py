"""``kisync run``, ``serve`` and ``worker``: the long-running processes.

SIGTERM or SIGINT stops claiming new work, lets in-flight syncs finish
(or rolls them back), closes the web server and exits 0.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web
from sqlalchemy.engine import Engine

from kisync.config import Settings
from kisync.scheduler import Worker
from kisync.store.db import describe_url

log = logging.getLogger("kisync.run")


def run(settings: Settings, engine: Engine, *, web: bool = True, worker: bool = True) -> int:
    return asyncio.run(_main(settings, engine, serve_web=web, run_worker=worker))


async def _main(settings: Settings, engine: Engine, *, serve_web: bool, run_worker: bool) -> int:
    from kisync.web.app import RUNNER_OPTIONS, SEQ, create_app

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    app: web.Application | None = None
    runner: web.AppRunner | None = None
    worker_: Worker | None = None

    if run_worker:

        async def on_change() -> None:
            if app is not None:
                await app[SEQ].refresh()  # feeds show a finished sync at once, not after the poll interval

        worker_ = Worker(settings, engine, on_change=on_change)
    if serve_web:
        app = create_app(settings, engine, trigger_sync=worker_.trigger if worker_ else None)
        runner = web.AppRunner(app, **RUNNER_OPTIONS)
        await runner.setup()
        site = web.TCPSite(runner, settings.web.host, settings.web.port)
        await site.start()
        log.info(
            "serving on http://%s:%s/", settings.web.host, settings.web.port,
            extra={"database": describe_url(settings.database.url)},
        )
    if worker_ is not None:
        await worker_.start()

    await stop.wait()
    log.info("stopping")
    if worker_ is not None:
        await worker_.stop()
    if runner is not None:
        await runner.cleanup()
    engine.dispose()
    return 0
