"""Full-text search at scale: the ``q`` reads of the feeds and the API at several store sizes.

    .venv/bin/python bench/fulltext.py [--sizes 10000,100000,1000000] [--backends sqlite,postgresql]
                                       [--repeat 7] [--pg-url postgresql://postgres@127.0.0.1:5432/test]

Each size has a store of its own, built on first use and kept for the next
run: ``bench/out/fulltext-<size>.sqlite`` and the PostgreSQL database
``kisync_bench_fulltext_<size>`` (drop them by hand). It holds items
0 … size-1 of bench/items.py, as bench/scale.py loads them, plus the same
RARE_COUNT items at every size with a word no other item has: a rare term,
where "Sprachcafé" (about a quarter of all items) is a common one and
"Höxter" (a place, 1 item in 37) is in between. The store is tidied as
bench/scale.py does. Each query runs once as a warm-up and ``--repeat``
times; the medians of wall time and of this process's CPU time count (on
SQLite the query runs in this process, and CPU time is what another
process on the machine does not change).

To compare with another commit, run this file from that commit's tree
(``git archive``) on the same stores: it migrates a store only when it
builds it.
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

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._util import OUT, Report, Target, machine_line, table

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
COMMON, BETWEEN, RARE = "Sprachcafé", "Höxter", "Zauberwürfel"
RARE_COUNT = 20


def rare_items() -> list:
    """RARE_COUNT items with the rare word in their title, ``modified`` spread over five years."""
    from bench.items import EPOCH, item_dict
    from kisync.model import Item

    items = []
    for n in range(RARE_COUNT):
        data = item_dict(10**9 + n)
        data["id"] = data["url"] = f"https://bench.invalid/rare/{n}"
        data["modified"] = EPOCH - timedelta(days=91 * n + 1)
        data["created"] = data["modified"] - timedelta(days=3)
        data["title"] = f"{RARE} {data['title']}"
        items.append(Item.model_validate(data))
    return items


def open_store(backend: str, size: int, pg_url: str):
    """The store of one size, built (items, rare items, migrations, tidy) when it does not exist yet."""
    from sqlalchemy.engine import make_url

    from bench.items import NODE_CENTRE, fill_store
    from kisync.store.db import create_engine, upgrade
    from kisync.store.maintenance import tidy
    from kisync.store.merge import MergeContext
    from kisync.store.repository import Store

    if backend == "sqlite":
        path = OUT / f"fulltext-{size}.sqlite"
        exists = path.exists()
        url = f"sqlite:///{path}"
    else:
        import psycopg

        name = f"kisync_bench_fulltext_{size}"
        admin = make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(admin, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None
            if not exists:
                conn.execute(f"CREATE DATABASE {name}")
        url = make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    if not exists:
        print(f"  building the {backend} store of {size:,} items …", flush=True)
        upgrade(engine)
        fill_store(engine, 0, size, batch=10_000)
        Store(engine).merge(rare_items(), MergeContext(node_centre=NODE_CENTRE, now=datetime.now(UTC), source_id="bench-rare"))
        if backend == "sqlite":
            tidy(engine)
        else:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
    return engine


def queries(engine) -> dict[str, Callable[[], int]]:
    """The q reads as the handlers run them (kisync.web.query), each returning its number of rows."""
    from bench.items import EPOCH
    from kisync.web import query as q
    from kisync.web.params import Cursor, ItemFilter

    def feed(limit: int = 50, **filters) -> Callable[[], int]:
        def run() -> int:
            with engine.connect() as conn:
                return len(list(q.stream_items(conn, ItemFilter(**filters), limit=limit)))
        return run

    def page(limit: int = 100, after: Cursor | None = None, **filters) -> Callable[[], int]:
        return lambda: len(q.read_page(engine, ItemFilter(**filters), limit, include_tombstones=False, after=after).rows)

    a_year_back = Cursor(EPOCH - timedelta(days=365), "~")
    return {
        f"/feed.rss?q={COMMON}": feed(q=COMMON),
        f"/feed.rss?q={BETWEEN}": feed(q=BETWEEN),
        f"/feed.rss?q={RARE}": feed(q=RARE),
        f"/feed.rss?q={COMMON} {BETWEEN}": feed(q=f"{COMMON} {BETWEEN}"),
        "/feed.rss?q=Sprach": feed(q="Sprach"),
        f"/feed.rss?q={COMMON}&centre=ki-05170": feed(q=COMMON, centres=("ki-05170",)),
        f"/feed.rss?q={COMMON}&field=schule": feed(q=COMMON, fields=("schule",)),
        f"/feed.rss?q={COMMON}&kind=event": feed(q=COMMON, kinds=("event",)),
        f"/feed.rss?q={RARE}&centre=ki-05170": feed(q=RARE, centres=("ki-05170",)),
        f"/feed.rss?q={RARE}&field=schule": feed(q=RARE, fields=("schule",)),
        f"/api/v1/items?q={COMMON}": page(q=COMMON),
        f"/api/v1/items?q={COMMON}&cursor=<a year back>": page(q=COMMON, after=a_year_back),
        f"/api/v1/items?q={RARE}&cursor=<a year back>": page(q=RARE, after=a_year_back),
    }


def time_query(run: Callable[[], int], repeat: int) -> dict:
    """Median wall and CPU seconds of ``repeat`` runs after a warm-up."""
    rows = run()
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        rows = run()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return {"wall": statistics.median(walls), "cpu": statistics.median(cpus), "rows": rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated store sizes")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per query (after one warm-up); the median counts")
    parser.add_argument("--pg-url", default=PG_ADMIN_URL, help="PostgreSQL server to keep the stores on")
    parser.add_argument("--label", default="fulltext", help="name of the report and JSON files in bench/out")
    args = parser.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(","))
    OUT.mkdir(parents=True, exist_ok=True)
    report = Report(args.label)
    say = report.say
    say(f"kisync full-text benchmark: sizes {', '.join(f'{s:,}' for s in sizes)}; median of {args.repeat} after a warm-up")
    say(f"machine: {machine_line()}")
    results: dict = {}
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        data = results[backend] = {}
        for size in sizes:
            engine = open_store(backend, size, args.pg_url)
            try:
                data[size] = {name: time_query(run, args.repeat) for name, run in queries(engine).items()}
            finally:
                engine.dispose()
            print(f"  {backend} {size:,}: timed", flush=True)
        first, last = sizes[0], sizes[-1]
        say()
        say(f"{backend}: wall ms (CPU ms of this process), median of {args.repeat}; rows; ratio of wall {last:,} / {first:,}")
        rows = []
        for name in data[first]:
            cells = [f"{data[s][name]['wall'] * 1e3:.2f} ({data[s][name]['cpu'] * 1e3:.2f})" for s in sizes]
            ratio = data[last][name]["wall"] / max(data[first][name]["wall"], 1e-9)
            rows.append([name, *cells, data[last][name]["rows"], f"{ratio:.2f}"])
            report.targets.append(Target(f"{backend} {name}: time at {last:,} / at {first:,}", "<=", 2.0, ratio))
        say(table(["query", *[f"{s:,}" for s in sizes], "rows", "ratio"], rows))
    say()
    for target in report.targets:
        say(target.line())
    report.save(OUT / f"{args.label}-report.txt")
    (OUT / f"{args.label}.json").write_text(json.dumps(results, indent=1))
    say(f"\nsaved {OUT / f'{args.label}-report.txt'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
