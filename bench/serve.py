"""Serving benchmark: kisync's web app with 100k stored items, beside a bare aiohttp handler and nginx.

    .venv/bin/python bench/serve.py [--items 100000] [--duration 3] [--rounds 3] [--connections 64] [--rebuild]
                                    [--access-log on|off|both]

1. A SQLite store of ``--items`` generated items (``Store.merge`` in
   batches of 5,000; kept in bench/out/ and reused until ``--rebuild``).
2. Three servers, each in its own process pinned to CPU 0:
   kisync (``create_app`` + ``AppRunner(**RUNNER_OPTIONS)``, logging as
   ``kisync serve`` configures it: INFO, JSON lines, so one access-log line
   per request, to /dev/null); a bare aiohttp handler returning the same
   bytes and headers kisync returned (the stack's ceiling); nginx serving
   the same bytes from files (``gzip_static``).
3. For ``/feed.rss``, ``/api/v1/items?limit=100`` and ``/api/v1/changes``:
   200 without gzip, 200 with gzip, and 304 (If-None-Match), each measured
   by the load generator (wrk, or the Python fallback) in another process
   pinned to CPU 1, after a probe request that checks status and encoding;
   ``--rounds`` interleaved rounds per answer, each measuring every server
   in turn, and each server's median round is its figure.

It prints requests per second and p50/p99 latency, the ratios kisync/bare
and kisync/nginx, and the target lines; a report goes to bench/out/serve-report.txt.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._util import (
    OUT,
    PYTHON,
    ROOT,
    ForeignCpu,
    Report,
    Target,
    free_port,
    machine_line,
    run_phase,
    stop_process,
    table,
    tool_line,
    wait_for_port,
    wait_quiet,
    which,
)

ENDPOINTS = [
    ("/feed.rss", "feed.rss"),
    ("/api/v1/items?limit=100", "api/v1/items"),
    ("/api/v1/changes", "api/v1/changes"),
]
VARIANTS = ["200", "200 gzip", "304"]
SERVER_CPU, LOAD_CPU = 0, 1
# The bare handler sends every header of kisync's 200 answer (security headers, CORS, caching) but these,
# which aiohttp writes itself, the request's variant decides, or are the probe's connection's own (urllib
# asks for "Connection: close"): the same bytes on the wire.
NOT_KEPT_HEADERS = frozenset({"date", "server", "content-length", "content-encoding", "transfer-encoding", "connection",
                              "keep-alive"})


# -- the store -----------------------------------------------------------------


def phase_build(db: str, items: int, seed: int, batch: int = 5_000) -> dict[str, Any]:
    from bench.items import fill_store
    from kisync.store.db import create_engine, upgrade

    for suffix in ("", "-wal", "-shm"):
        Path(db + suffix).unlink(missing_ok=True)
    engine = create_engine(f"sqlite:///{db}")
    upgrade(engine)
    started = time.perf_counter()
    merge_time = fill_store(engine, 0, items, batch=batch, seed=seed)
    total = time.perf_counter() - started
    from kisync.store.repository import Store

    return {"items": Store(engine).counts()["live"], "merge_time": merge_time, "total_time": total}


def _at_head(db: Path) -> bool:
    from kisync.store.db import create_engine, current_revision, head_revision

    engine = create_engine(f"sqlite:///{db}")
    try:
        return current_revision(engine) == head_revision()
    finally:
        engine.dispose()


# -- servers (run as `python -m bench.serve --kisync-server …` and `--bare-server …`) --


def _settings(db: str, access_log: bool):
    from kisync.config import Settings

    return Settings.model_validate({
        "node": {"centre": "ki-bench-node", "name": "Benchmark-Knoten", "base_url": "http://127.0.0.1:8080"},
        "database": {"url": f"sqlite:///{db}"},
        "logging": {"level": "INFO" if access_log else "WARNING", "format": "json"},
    })


async def _serve_kisync(db: str, port: int, access_log: bool) -> None:
    from aiohttp import web

    from kisync.logs import configure_logging
    from kisync.store.db import open_engine
    from kisync.web.app import RUNNER_OPTIONS, create_app

    settings = _settings(db, access_log)
    # As `kisync serve` does (cli._open with one_shot=False): the configured level, JSON lines on stderr.
    configure_logging(settings.logging.level, settings.logging.format)
    engine = open_engine(settings.database.url)
    app = create_app(settings, engine, admin_token="")
    runner = web.AppRunner(app, **RUNNER_OPTIONS)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, backlog=4096).start()
    await asyncio.Event().wait()


async def _serve_bare(bodies: str, port: int) -> None:
    """The ceiling: an aiohttp handler that answers from a dict, with kisync's bytes and headers."""
    from aiohttp import web

    manifest = json.loads((Path(bodies) / "bare.json").read_text())
    table_: dict[str, tuple[bytes, bytes, dict[str, str], str]] = {}
    for path_qs, entry in manifest.items():
        plain = (Path(bodies) / entry["plain"]).read_bytes()
        gz = (Path(bodies) / entry["gzip"]).read_bytes()
        table_[path_qs] = (plain, gz, entry["headers"], entry["headers"]["ETag"])

    async def handle(request: web.Request) -> web.Response:
        plain, gz, headers, etag = table_[request.path_qs]
        if request.headers.get("If-None-Match") == etag:
            # Its 200's headers without Content-Type: kisync's 304 for these three endpoints, whose
            # cached entries add no headers of their own.
            return web.Response(status=304, headers={k: v for k, v in headers.items() if k != "Content-Type"})
        if "gzip" in request.headers.get("Accept-Encoding", ""):
            return web.Response(body=gz, headers={**headers, "Content-Encoding": "gzip"})
        return web.Response(body=plain, headers=headers)

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, backlog=4096).start()
    await asyncio.Event().wait()


def _start(args: list[str], port: int) -> subprocess.Popen:
    pin = ["taskset", "-c", str(SERVER_CPU)] if which("taskset") else []
    proc = subprocess.Popen([*pin, PYTHON, "-m", "bench.serve", *args, "--port", str(port)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port, timeout=60, proc=proc)
    return proc


# -- probing -------------------------------------------------------------------


def fetch(url: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers.items()), error.read()


def variant_headers(variant: str, etag: str) -> dict[str, str]:
    if variant == "200":
        return {}
    if variant == "200 gzip":
        return {"Accept-Encoding": "gzip"}
    return {"Accept-Encoding": "gzip", "If-None-Match": etag}


def probe(url: str, headers: dict[str, str], variant: str) -> str | None:
    """None when the server answers as the variant expects, else what is wrong."""
    status, got, _ = fetch(url, headers)
    want = 304 if variant == "304" else 200
    if status != want:
        return f"status {status}, expected {want}"
    if variant == "200 gzip" and got.get("Content-Encoding") != "gzip":
        return "not gzipped"
    if variant == "200" and got.get("Content-Encoding"):
        return f"Content-Encoding {got.get('Content-Encoding')} without Accept-Encoding"
    return None


def capture(base: str, bodies: Path) -> dict[str, dict]:
    """kisync's answers, written for the bare handler (bare.json) and for nginx (files at the paths, .gz twins)."""
    bodies.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, dict] = {}
    info: dict[str, dict] = {}
    for path_qs, file in ENDPOINTS:
        status, headers, plain = fetch(base + path_qs, {})
        if status != 200:
            raise RuntimeError(f"kisync answered {path_qs} with {status}: {plain[:300]!r}")
        status, gz_headers, gz = fetch(base + path_qs, {"Accept-Encoding": "gzip"})
        if gz_headers.get("Content-Encoding") != "gzip" or gzip.decompress(gz) != plain:
            raise RuntimeError(f"kisync's gzip of {path_qs} is not its plain body")
        target = bodies / file
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(plain)
        target.with_name(target.name + ".gz").write_bytes(gz)
        mtime = int(time.time()) - 60
        for p in (target, target.with_name(target.name + ".gz")):
            os.utime(p, (mtime, mtime))
        kept = {k: v for k, v in headers.items() if k.lower() not in NOT_KEPT_HEADERS}
        manifest[path_qs] = {"plain": file, "gzip": file + ".gz", "headers": kept}
        info[path_qs] = {"etag": headers["ETag"], "bytes": len(plain), "gzip_bytes": len(gz),
                         "content_type": headers.get("Content-Type")}
    (bodies / "bare.json").write_text(json.dumps(manifest, indent=1))
    return info


# -- the run -------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="measurements per server, interleaved; the median counts")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rebuild", action="store_true", help="rebuild the store even if bench/out has one")
    parser.add_argument("--access-log", choices=("on", "off", "both"), default="both",
                        help="kisync as shipped (INFO: an access-log line per request), without it, or both (default)")
    parser.add_argument("--no-wait", action="store_true", help="do not wait for a quiet machine")
    # internal: the server processes
    parser.add_argument("--kisync-server", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--bare-server", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--bodies", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--log", choices=("on", "off"), default="on", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.kisync_server:
        asyncio.run(_serve_kisync(args.db, args.port, args.log == "on"))
        return 0
    if args.bare_server:
        asyncio.run(_serve_bare(args.bodies, args.port))
        return 0

    from bench import loadgen
    from bench import server as static

    OUT.mkdir(parents=True, exist_ok=True)
    report = Report("serve")
    say = report.say
    say(f"kisync serving benchmark: {args.items} stored items, {args.connections} connections, "
        f"{args.rounds} rounds of {args.duration:g} s per server")
    say(f"machine: {machine_line()}")
    say("tools:")
    say(tool_line("wrk", bool(which("wrk")), loadgen.describe_tool(), loadgen.describe_tool()))
    say(tool_line("nginx", bool(which("nginx")), "serves the same bytes from files", "nginx column left out"))
    say(tool_line("taskset", bool(which("taskset")), f"servers on CPU {SERVER_CPU}, load generator on CPU {LOAD_CPU}",
                  "processes not pinned"))

    db = OUT / f"serve-{args.items}-s{args.seed}.sqlite"
    if db.exists() and not args.rebuild and not _at_head(db):
        say(f"store {db} is not at kisync's newest schema revision: rebuilding it")
        args.rebuild = True
    if args.rebuild or not db.exists():
        say(f"- building the store {db} …")
        built = run_phase("build", "bench.serve:phase_build", {"db": str(db), "items": args.items, "seed": args.seed},
                          quiet_machine=not args.no_wait)
        say(f"  {built['items']} items in {built['total_time']:.1f} s (Store.merge {built['merge_time']:.1f} s, "
            f"{built['items'] / built['merge_time']:.0f} items/s), peak {built.maxrss_mb:.0f} MB")
    else:
        say(f"store: {db} (reused; --rebuild to make it again)")

    modes = {"on": ["on"], "off": ["off"], "both": ["on", "off"]}[args.access_log]
    servers: dict[str, tuple[subprocess.Popen | static.StaticServer, int]] = {}
    bodies = OUT / "serve-bodies"
    results: dict[tuple[str, str, str], loadgen.Load] = {}
    disturbed: dict[tuple[str, str, str], float] = {}
    spread: dict[tuple[str, str, str], tuple[float, float]] = {}
    problems: list[str] = []
    try:
        for mode in modes:
            port = free_port()
            servers[f"kisync{'' if mode == 'on' else ' (no log)'}"] = (
                _start(["--kisync-server", "--db", str(db), "--log", mode], port), port)
        first_kisync = next(iter(servers.values()))[1]
        info = capture(f"http://127.0.0.1:{first_kisync}", bodies)
        port = free_port()
        servers["bare aiohttp"] = (_start(["--bare-server", "--bodies", str(bodies)], port), port)
        if which("nginx"):
            nginx = static.start(bodies, cpu=SERVER_CPU)
            servers[nginx.kind.split(" (")[0]] = (nginx, nginx.port)
        say("bodies: " + "; ".join(f"{p} {i['bytes'] / 1024:.0f} KiB ({i['gzip_bytes'] / 1024:.0f} KiB gzip)"
                                   for p, i in info.items()))
        say(f"servers: {', '.join(servers)}")
        if not args.no_wait:
            wait_quiet(say=say)
        for path_qs, _ in ENDPOINTS:
            for variant in VARIANTS:
                urls: dict[str, tuple[str, dict[str, str]]] = {}
                for name, (_, port) in servers.items():
                    url = f"http://127.0.0.1:{port}{path_qs}"
                    etag = info[path_qs]["etag"]
                    if name.startswith("nginx"):
                        etag = fetch(url, {"Accept-Encoding": "gzip"})[1].get("ETag", "")
                    headers = variant_headers(variant, etag)
                    wrong = probe(url, headers, variant)
                    if wrong:
                        problems.append(f"{name} {path_qs} {variant}: {wrong}")
                        continue
                    loadgen.run(url, headers, connections=args.connections, duration=1, cpu=LOAD_CPU)  # warm-up
                    urls[name] = (url, headers)
                # Rounds, each measuring every server in turn: a drift of the machine's speed during the
                # run touches all of them alike, and the median round (the lower middle one for an even
                # count) drops an outlier.
                loads: dict[str, list[tuple[loadgen.Load, float]]] = {name: [] for name in urls}
                for _ in range(args.rounds):
                    for name, (url, headers) in urls.items():
                        with ForeignCpu() as foreign:
                            load = loadgen.run(url, headers, connections=args.connections, duration=args.duration,
                                               cpu=LOAD_CPU)
                        loads[name].append((load, foreign.share))
                for name, measured in loads.items():
                    load, _ = sorted(measured, key=lambda pair: pair[0].rps)[(len(measured) - 1) // 2]  # median_low
                    share = max(s for _, s in measured)
                    results[(path_qs, variant, name)] = load
                    disturbed[(path_qs, variant, name)] = share
                    spread[(path_qs, variant, name)] = (min(m.rps for m, _ in measured), max(m.rps for m, _ in measured))
                    say(f"  {path_qs:<26} {variant:<9} {name:<18} {load.rps:>9.0f} req/s  "
                        f"(rounds: {', '.join(f'{m.rps:.0f}' for m, _ in measured)})"
                        + (f"   ! other processes used {share:.0%} of a core meanwhile" if share > 0.25 else ""))
    finally:
        for proc, _ in servers.values():
            if isinstance(proc, static.StaticServer):
                proc.stop()
            else:
                stop_process(proc)

    say()
    names = list(servers)
    rows = []
    for path_qs, _ in ENDPOINTS:
        for variant in VARIANTS:
            for name in names:
                load = results.get((path_qs, variant, name))
                if load is None:
                    continue
                low, high = spread[(path_qs, variant, name)]
                rows.append([path_qs, variant, name, f"{load.rps:.0f}", f"{low:.0f}–{high:.0f}", f"{load.p50 * 1000:.2f}",
                             f"{load.p99 * 1000:.2f}", str(load.errors), f"{disturbed[(path_qs, variant, name)]:.0%}"])
    say(table(["endpoint", "answer", "server", "req/s", "rounds", "p50 ms", "p99 ms", "errors", "foreign"], rows,
              align="lllrrrrrr"))
    say(f"  req/s: the median of {args.rounds} rounds (each round measures every server in turn); rounds: lowest–highest;"
        " p50/p99 of the median round")
    say("  foreign: CPU other processes on the machine used during the measurement (the most of any round), as a share"
        " of one core")
    if problems:
        say("problems: " + "; ".join(problems))

    say()
    say("ratios (requests per second)")
    ratio_rows = []
    kisync_names = [n for n in names if n.startswith("kisync")]
    nginx_name = next((n for n in names if n.startswith("nginx")), None)
    for path_qs, _ in ENDPOINTS:
        for variant in VARIANTS:
            bare = results.get((path_qs, variant, "bare aiohttp"))
            for name in kisync_names:
                mine = results.get((path_qs, variant, name))
                if mine is None or bare is None:
                    continue
                ngx = results.get((path_qs, variant, nginx_name)) if nginx_name else None
                ratio_rows.append([path_qs, variant, name, f"{mine.rps / bare.rps:.2f}",
                                   f"{mine.rps / ngx.rps:.2f}" if ngx else "-",
                                   f"{bare.rps / ngx.rps:.2f}" if ngx else "-"])
    say(table(["endpoint", "answer", "server", "kisync/bare", "kisync/nginx", "bare/nginx"], ratio_rows, align="lllrrr"))
    say()
    say("targets (kisync as shipped, with its access log, against the bare aiohttp handler)")
    shipped = "kisync" if "kisync" in names else kisync_names[0]
    for path_qs, _ in ENDPOINTS:
        for variant in VARIANTS:
            mine, bare = results.get((path_qs, variant, shipped)), results.get((path_qs, variant, "bare aiohttp"))
            if mine and bare:
                report.target(Target(f"{shipped} {path_qs} {variant}: req/s vs bare aiohttp", ">=", 0.8, mine.rps / bare.rps))
    report.save(OUT / "serve-report.txt")
    say(f"\nsaved {OUT / 'serve-report.txt'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
