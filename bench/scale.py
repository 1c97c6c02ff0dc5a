"""Scale benchmark: the feed and API queries at 10k, 100k and 1M stored items, on SQLite and PostgreSQL.

    .venv/bin/python bench/scale.py [--sizes 10000,100000,1000000] [--backends sqlite,postgresql]
                                    [--repeat 7] [--quick] [--pg-url postgresql://postgres@127.0.0.1:5432/test]

One store per backend grows through the sizes: items 0 … 10k-1 are
loaded, the queries timed, then items up to 100k, and so on; item ``n`` is
the same at every size (bench/items.py), with ``modified`` spread at random
over five years. Items are loaded with ``Store.merge`` in batches of
10,000: kisync's real write path (facets, full-text rows, provenance), so
the load rate printed is kisync's bulk ingest rate too.

After each load the store is tidied the way a running kisync does it:
``kisync.store.maintenance.tidy`` on SQLite (FTS5 optimize, PRAGMA
optimize), ``ANALYZE`` on PostgreSQL (what autovacuum does after a bulk
load). Each query then runs once as a warm-up and ``--repeat`` times; the
median counts. The parameters are the same at every size.

PostgreSQL gets a fresh database that this script creates and drops
(``kisync_bench_scale_<pid>``). ``--quick``: sizes 1k and 10k, 3 repeats.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._util import OUT, Report, Target, fmt_ms, machine_line, run_phase, table

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
LOAD_BATCH = 10_000
EPOCH = datetime(2025, 6, 1, tzinfo=UTC)  # the newest possible `modified` (bench/items.py)


def queries(engine) -> dict[str, Callable[[], int]]:
    """Each query as the web side runs it (kisync.web.query), returning the number of rows it read."""
    from kisync.web import query as q
    from kisync.web.params import Cursor, ItemFilter

    def feed(flt: ItemFilter, limit: int = 50) -> Callable[[], int]:
        def run() -> int:
            with engine.connect() as conn:
                return len(list(q.stream_items(conn, flt, limit=limit)))
        return run

    def page(flt: ItemFilter, limit: int = 100, *, after: Cursor | None = None, tombstones: bool = False) -> Callable[[], int]:
        return lambda: len(q.read_page(engine, flt, limit, include_tombstones=tombstones, after=after).rows)

    def changes(since: int, origin: str | None = None) -> Callable[[], int]:
        return lambda: len(q.read_changes(engine, since, 100, origin)[0])

    from bench.items import item_dict

    known_id = item_dict(42)["id"]  # an item that exists at every size

    def item() -> int:
        return int(q.read_item(engine, known_id) is not None)

    def stats() -> int:
        with engine.connect() as conn:
            parts = [q.live_counts_by_origin(conn), q.live_counts_by_kind(conn)]
            q.tombstone_count(conn)
            parts += [q.facet_counts(conn, f) for f in ("field", "programme", "audience")]
        return sum(len(p) for p in parts)

    a_year_back = Cursor(EPOCH - timedelta(days=365), "~")
    return {
        "/feed.rss (newest 50)": feed(ItemFilter()),
        "/feed.rss?field=schule": feed(ItemFilter(fields=("schule",))),
        "/feed.rss?centre=ki-05170": feed(ItemFilter(centres=("ki-05170",))),
        "/feed.rss?programme=griffbereit": feed(ItemFilter(programmes=("griffbereit",))),
        "/feed.rss?kind=event": feed(ItemFilter(kinds=("event",))),
        "/feed.rss?q=Sprachcafé": feed(ItemFilter(q="Sprachcafé")),
        "/api/v1/items?limit=100": page(ItemFilter()),
        "/api/v1/items?cursor=<a year back>": page(ItemFilter(), after=a_year_back),
        "/api/v1/items?modified_since=<60 days>": page(ItemFilter(modified_since=EPOCH - timedelta(days=60)), tombstones=True),
        "/api/v1/changes?since=0": changes(0),
        "/api/v1/changes?since=500": changes(500),
        "/api/v1/changes?origin=ki-05170": changes(0, "ki-05170"),
        "/api/v1/items/{id}": item,
        "/api/v1/stats (counts)": stats,
    }


def _time(run: Callable[[], int], repeat: int) -> tuple[float, int]:
    rows = run()  # warm-up
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        rows = run()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples), rows


def phase_scale(backend: str, sizes: list[int], repeat: int, seed: int, pg_url: str) -> dict[str, Any]:
    """Grow one store through ``sizes`` and time every query at each size."""
    from bench.items import fill_store
    from kisync.store.db import create_engine, upgrade
    from kisync.store.maintenance import tidy

    database = None
    if backend == "sqlite":
        path = OUT / "scale.sqlite"
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    else:
        import psycopg
        from sqlalchemy.engine import make_url

        database = f"kisync_bench_scale_{__import__('os').getpid()}"
        admin = make_url(pg_url)
        with psycopg.connect(admin.set(drivername="postgresql").render_as_string(hide_password=False), autocommit=True) as c:
            c.execute(f"CREATE DATABASE {database}")
        url = admin.set(database=database).render_as_string(hide_password=False)

    result: dict[str, Any] = {"backend": backend, "sizes": {}}
    engine = create_engine(url)
    try:
        upgrade(engine)
        loaded = 0
        for size in sizes:
            load_time = fill_store(engine, loaded, size - loaded, batch=LOAD_BATCH, seed=seed) if size > loaded else 0.0
            added = size - loaded
            loaded = size
            started = time.perf_counter()
            if backend == "sqlite":
                tidy(engine)
            else:
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.exec_driver_sql("ANALYZE")
            tidy_time = time.perf_counter() - started
            timings = {}
            for name, run in queries(engine).items():
                seconds, rows = _time(run, repeat)
                timings[name] = {"seconds": seconds, "rows": rows}
            result["sizes"][str(size)] = {"load_time": load_time, "loaded": added, "tidy_time": tidy_time, "queries": timings}
            print(f"  {backend} {size}: loaded {added} in {load_time:.1f} s "
                  f"({added / max(load_time, 1e-9):.0f} items/s), queries timed:", flush=True)
            for name, timing in timings.items():
                print(f"    {name:<42} {fmt_ms(timing['seconds']):>9} ms  {timing['rows']:>4} rows", flush=True)
            # Kept as each size finishes: a long run that is stopped keeps what it measured.
            (OUT / f"scale-{backend}-partial.json").write_text(json.dumps(result, indent=1))
        if backend == "sqlite":
            result["db_bytes"] = sum(Path(str(OUT / "scale.sqlite") + s).stat().st_size
                                     for s in ("", "-wal") if Path(str(OUT / "scale.sqlite") + s).exists())
    finally:
        engine.dispose()
        if database is not None:
            import psycopg

            with psycopg.connect(admin.set(drivername="postgresql").render_as_string(hide_password=False), autocommit=True) as c:
                c.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated store sizes, ascending")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per query (after one warm-up); the median counts")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="sizes 1000,10000 and 3 repeats")
    parser.add_argument("--pg-url", default=PG_ADMIN_URL, help="PostgreSQL server to create the benchmark database on")
    parser.add_argument("--no-wait", action="store_true", help="do not wait for a quiet machine")
    parser.add_argument("--keep-sqlite", action="store_true", help="keep bench/out/scale.sqlite afterwards")
    args = parser.parse_args(argv)
    sizes = [1_000, 10_000] if args.quick else sorted(int(s) for s in args.sizes.split(","))
    repeat = 3 if args.quick else args.repeat
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]

    OUT.mkdir(parents=True, exist_ok=True)
    report = Report("scale")
    say = report.say
    say(f"kisync scale benchmark: sizes {', '.join(f'{s:,}' for s in sizes)}; backends {', '.join(backends)}; "
        f"median of {repeat} after a warm-up")
    say(f"machine: {machine_line()}")
    if "postgresql" in backends:
        try:
            import psycopg

            with psycopg.connect(args.pg_url.replace("postgresql+psycopg", "postgresql"), connect_timeout=5) as c:
                version = c.execute("SHOW server_version").fetchone()[0]
            say(f"PostgreSQL {version} at {args.pg_url.split('@')[-1]}")
        except Exception as error:  # noqa: BLE001 - reported, then left out
            say(f"PostgreSQL not reachable ({error}): left out")
            backends.remove("postgresql")

    first, last = str(sizes[0]), str(sizes[-1])
    for backend in backends:
        say(f"- {backend} …")
        arguments = {"backend": backend, "sizes": sizes, "repeat": repeat, "seed": args.seed, "pg_url": args.pg_url}
        phase = run_phase(backend, "bench.scale:phase_scale", arguments, timeout=4 * 3600, quiet_machine=not args.no_wait)
        # Each backend's tables as soon as it is done (and saved with the report so far).
        data = phase.data["sizes"]
        say()
        say(f"{backend}: load (Store.merge, batches of {LOAD_BATCH:,}) and tidy")
        say(table(["size", "loaded", "load s", "items/s", "tidy s"],
                  [[f"{int(s_):,}", f"{d['loaded']:,}", f"{d['load_time']:.1f}",
                    f"{d['loaded'] / max(d['load_time'], 1e-9):.0f}", f"{d['tidy_time']:.1f}"] for s_, d in data.items()]))
        if "db_bytes" in phase.data:
            say(f"  database file: {phase.data['db_bytes'] / 1e9:.2f} GB")
        say(f"  peak memory of the phase {phase.maxrss_mb:.0f} MB; other processes used "
            f"{phase.foreign_cpu / max(phase.wall, 1e-9):.0%} of a core during it ({phase.wall / 60:.1f} min)")
        say()
        say(f"{backend}: query time in ms (median of {repeat}), rows read, and the ratio {int(last):,} / {int(first):,}")
        names = list(data[first]["queries"])
        rows = []
        for name in names:
            cells = [name]
            for size in data:
                cells.append(fmt_ms(data[size]["queries"][name]["seconds"]))
            cells.append(str(data[last]["queries"][name]["rows"]))
            ratio = data[last]["queries"][name]["seconds"] / max(data[first]["queries"][name]["seconds"], 1e-9)
            cells.append(f"{ratio:.2f}")
            rows.append(cells)
        say(table(["query", *[f"{int(s):,}" for s in data], "rows", "ratio"], rows))
        say()
        for name in names:
            ratio = data[last]["queries"][name]["seconds"] / max(data[first]["queries"][name]["seconds"], 1e-9)
            report.target(Target(f"{backend} {name}: time at {int(last):,} / at {int(first):,}", "<=", 2.0, ratio))
        report.save(OUT / "scale-report.txt")
    if not args.keep_sqlite:
        for suffix in ("", "-wal", "-shm"):
            Path(str(OUT / "scale.sqlite") + suffix).unlink(missing_ok=True)
    report.save(OUT / "scale-report.txt")
    say(f"\nsaved {OUT / 'scale-report.txt'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
