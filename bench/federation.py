"""Federation benchmark: all 54 centres of NRW and LaKI as kisync nodes, converging after faults.

    .venv/bin/python bench/federation.py [--seed 1] [--fault-rounds 10] [--changes 60] [--per-centre 5]
                                         [--fault-share 0.2] [--page-limit 100] [--timeout 1] [--keep]

55 nodes, one per centre with its real name from ``kisync/data/ki-nrw.csv``
plus LaKI, each with its own SQLite file under a temporary directory in
/tmp, its web app on a loopback port, and its own items served by an
origin server (the centre's CMS export). The topology (``nrw`` in
tests/federation_harness.py) is what the network looks like in practice:

- LaKI pulls every centre directly (``/api/v1/changes?origin=<centre>``),
- every centre pulls LaKI's merged feed (a relay),
- neighbours within each Regierungsbezirk pull each other in a ring (relays).

Its diameter is 2: an item goes from its origin to LaKI, and from LaKI to
every centre. For ``--fault-rounds`` rounds, ``--changes`` items are
created, updated or deleted at random origins before each round, and a
fault injector makes ``--fault-share`` of all requests answer 500, hang
past the fetch timeout, or break off half-way. Then the faults stop and
fault-free rounds run until every node holds exactly the expected items
and tombstones (ids and version keys). The issue's bound: diameter + 2
rounds after the last fault.

A round is every node syncing all its sources once, the nodes in random
order. Bytes are the response bodies the servers sent (gzip as sent).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kisync.centres import registry  # noqa: E402
from tests.federation_harness import LAKI, Network, NodeOptions, RoundResult, nrw, run_to_convergence  # noqa: E402


def mib(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB"


async def run(args: argparse.Namespace) -> int:
    topology = nrw()
    diameter = topology.diameter()
    bound = diameter + 2
    directory = Path(tempfile.mkdtemp(prefix="kisync-federation-", dir="/tmp"))
    network = Network(
        topology,
        lambda centre: f"sqlite:///{directory / centre}.db",
        seed=args.seed,
        fault_share=args.fault_share,
        options=NodeOptions(page_limit=args.page_limit, total_timeout=args.timeout, connect_timeout=args.timeout),
    )
    regions: dict[str, list[str]] = {}
    for entry in registry().values():
        regions.setdefault(entry.region, []).append(f"KI {entry.name}")
    print(f"nodes: {len(topology.centres)} (LaKI and the {len(topology.centres) - 1} centres of NRW), "
          f"sources: {len(topology.links) + len(topology.centres)} ({len(topology.links)} links between nodes, "
          f"one own export each), diameter {diameter}, bound {bound} rounds after the last fault")
    for region, names in regions.items():
        print(f"  Regierungsbezirk {region} ({len(names)}): {', '.join(names)}")
    print(f"databases: {directory}")
    started = time.monotonic()
    phase_bytes: dict[str, int] = {"fault": 0, "clean": 0}
    phase_seconds: dict[str, float] = {"fault": 0.0, "clean": 0.0}

    def on_round(phase: str, n: int, result: RoundResult) -> None:
        before = sum(phase_bytes.values())
        phase_bytes[phase] += network.bytes_sent() - before
        phase_seconds[phase] += result.seconds
        left = len(network.divergence().problems) if phase == "clean" else None
        status = f", nodes not yet converged: {left}" if left is not None else ""
        print(f"  {phase} round {n:2d}: {result.seconds:6.1f} s, {result.failed:3d} of {result.syncs} source syncs failed, "
              f"{mib(network.bytes_sent())} sent so far{status}", flush=True)

    try:
        async with network:
            print(f"started {len(network.nodes)} nodes in {time.monotonic() - started:.1f} s")
            network.workload.seed(args.per_centre)
            rounds = await run_to_convergence(
                network,
                fault_rounds=args.fault_rounds,
                changes_per_round=args.changes,
                max_clean_rounds=args.max_clean_rounds,
                on_round=on_round,
            )
            elapsed = time.monotonic() - started
            stats, counts = network.faults.stats, network.workload.counts
            totals = network.totals()
            laki = network.nodes[LAKI]
            assert laki.store is not None
    finally:
        if not args.keep:
            shutil.rmtree(directory, ignore_errors=True)

    print()
    print(f"converged: {rounds} fault-free round(s) after the last fault (bound: diameter {diameter} + 2 = {bound}) "
          f"-> {'OK' if rounds <= bound else 'OVER THE BOUND'}")
    print(f"items on every node: {totals['live']} live, {totals['deleted']} tombstones, identical ids and version keys "
          f"on all {len(network.nodes)} nodes")
    print(f"workload: {counts['created']} created, {counts['updated']} updated, {counts['deleted']} deleted by tombstone, "
          f"{counts['withdrawn']} deleted by leaving them out of the export")
    print(f"requests: {stats.requests} answered, faults injected: {stats.faults} "
          f"({stats.errors} HTTP 500, {stats.hangs} hung past the timeout, {stats.truncations} truncated)")
    print(f"bytes transferred: {mib(stats.bytes)} in all ({mib(phase_bytes['fault'])} while faulty, "
          f"{mib(phase_bytes['clean'])} in the {rounds} fault-free round(s))")
    print(f"time: {elapsed:.1f} s in all ({phase_seconds['fault']:.1f} s in {args.fault_rounds} faulty rounds, "
          f"{phase_seconds['clean']:.1f} s in {rounds} fault-free rounds, the rest start-up and checks)")
    return 0 if rounds <= bound else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fault-rounds", type=int, default=10, help="rounds with faults and changes")
    parser.add_argument("--changes", type=int, default=60, help="changes at random origins before each faulty round")
    parser.add_argument("--per-centre", type=int, default=5, help="items each centre starts with")
    parser.add_argument("--fault-share", type=float, default=0.2, help="share of requests that fail while faults are on")
    parser.add_argument("--page-limit", type=int, default=100, help="`limit` of the changes feeds the nodes pull")
    parser.add_argument("--timeout", type=float, default=1.0, help="fetch.total_timeout of every node (seconds)")
    parser.add_argument("--max-clean-rounds", type=int, default=10, help="give up after this many fault-free rounds")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite files")
    args = parser.parse_args()
    # Failed fetches are the point here, not news: keep the terminal for the results.
    logging.basicConfig(level=logging.CRITICAL)
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
