"""A network of kisync nodes on loopback: the federation tests and ``bench/federation.py`` drive it.

Each node is what a centre runs: its own settings (``node.centre``), its own
database, its web app served on a real loopback port, and a ``Syncer``
whose sources are

- ``own``: the centre's own items, a complete exchange snapshot served by a
  small "origin" server the harness controls (the centre's CMS export). It
  is a direct source for the node's own centre, the node's authoring path
  (docs/federation.md, "Your own items");
- one source per neighbour: a relay (``/api/v1/changes``, any origin) or a
  direct source (``/api/v1/changes?origin=<neighbour>`` with ``centre``).

A ``Faults`` middleware sits in front of every server, nodes and origins
alike: while it is on, a share of the requests answer 500, hang past the
fetch timeout, or send half their body and drop the connection. It also
counts requests and the bytes of the bodies sent.

A ``Workload`` creates, updates and deletes items at random origins (a
deletion is a tombstone in the origin's export, or the item simply left
out of it, which the origin node's sweep turns into a tombstone) and keeps
the expected final state: per id the latest version the origin published.

A round is every node syncing all its sources once, the nodes in random
order. ``converged`` compares every node's ``Store.versions()`` (id ->
version key) with the expected state and with each other.
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy.engine import Engine

from kisync.centres import centre_for, registry
from kisync.config import Settings
from kisync.model import Centre, Item, Tombstone, format_utc, version_key
from kisync.sources import SourceRegistry
from kisync.store.db import create_engine, upgrade
from kisync.store.repository import Store
from kisync.sync import Syncer, SyncReport
from kisync.web import create_app
from kisync.web.context import SEQ

LAKI = "laki-nrw"  # the state coordination office: not one of the 54 centres
LAKI_NAME = "Landesweite Koordinierungsstelle Kommunale Integrationszentren NRW"
KINDS = ("project", "best_practice", "event", "news")
FIELDS = ("querschnitt", "elementarbereich", "schule", "uebergang_schule_beruf")


def centre_name(centre_id: str) -> str:
    return LAKI_NAME if centre_id == LAKI else centre_for(centre_id).name


def centre_of(centre_id: str) -> Centre:
    if centre_id == LAKI:
        return Centre(id=LAKI, name=LAKI_NAME)
    return centre_for(centre_id)


# -- topologies --------------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    """``puller`` syncs ``peer``: a relay of everything it merged, or direct (only the peer's own items)."""

    puller: str
    peer: str
    direct: bool = False


@dataclass
class Topology:
    name: str
    centres: list[str]
    links: list[Link]

    def pulls(self, centre: str) -> list[Link]:
        return [link for link in self.links if link.puller == centre]

    def diameter(self) -> int:
        """Most hops any item needs from its origin to any node.

        A direct link carries only its peer's own items, so it can be the
        first hop of an item's path and no other.
        """
        worst = 0
        for origin in self.centres:
            hops = {origin: 0}
            queue = deque([origin])
            while queue:
                here = queue.popleft()
                for link in self.links:
                    if link.peer != here or link.puller in hops:
                        continue
                    if link.direct and here != origin:
                        continue
                    hops[link.puller] = hops[here] + 1
                    queue.append(link.puller)
            missing = set(self.centres) - set(hops)
            if missing:
                raise ValueError(f"{self.name}: items of {origin} never reach {sorted(missing)}")
            worst = max(worst, *hops.values())
        return worst


def both_ways(a: str, b: str, *, direct: bool = False) -> list[Link]:
    return [Link(a, b, direct), Link(b, a, direct)]


def ring(centres: Sequence[str]) -> Topology:
    """Every node pulls both neighbours' merged feeds (relays)."""
    n = len(centres)
    links = [link for i in range(n) for link in both_ways(centres[i], centres[(i + 1) % n])]
    return Topology("ring", list(centres), links)


def star(centres: Sequence[str], hub: str = LAKI) -> Topology:
    """LaKI pulls every centre directly (its own items); every centre pulls LaKI's merged feed."""
    links = []
    for centre in centres:
        links += [Link(hub, centre, direct=True), Link(centre, hub)]
    return Topology("star", [hub, *centres], links)


def mesh(centres: Sequence[str], rng: random.Random, *, extra: int) -> Topology:
    """A random spanning tree of relays, plus ``extra`` random edges: a relay one way, either kind the other."""
    centres = list(centres)
    links: list[Link] = []
    edges: set[frozenset[str]] = set()
    for i in range(1, len(centres)):
        other = centres[rng.randrange(i)]
        edges.add(frozenset((centres[i], other)))
        links += both_ways(centres[i], other)
    candidates = [frozenset((a, b)) for i, a in enumerate(centres) for b in centres[i + 1 :]]
    rng.shuffle(candidates)
    for pair in [p for p in candidates if p not in edges][:extra]:
        a, b = sorted(pair)
        links += [Link(a, b), Link(b, a, direct=rng.random() < 0.5)]
    return Topology("mesh", centres, links)


def nrw() -> Topology:
    """All 54 centres: LaKI pulls each directly, each pulls LaKI, and neighbours within a
    Regierungsbezirk pull each other in a ring (the regional working groups)."""
    entries = list(registry().values())
    links: list[Link] = []
    for entry in entries:
        links += [Link(LAKI, entry.id, direct=True), Link(entry.id, LAKI)]
    regions: dict[str, list[str]] = {}
    for entry in entries:
        regions.setdefault(entry.region, []).append(entry.id)
    for members in regions.values():
        for i, centre in enumerate(members):
            links += both_ways(centre, members[(i + 1) % len(members)])
    return Topology("nrw", [LAKI, *(e.id for e in entries)], links)


# -- faults and counting -------------------------------------------------------------------


@dataclass
class FaultStats:
    requests: int = 0
    bytes: int = 0
    errors: int = 0
    hangs: int = 0
    truncations: int = 0

    @property
    def faults(self) -> int:
        return self.errors + self.hangs + self.truncations


class Faults:
    """Seeded fault injection and byte counting, as an aiohttp middleware for every server."""

    KINDS = ("error", "hang", "truncate")

    def __init__(self, seed: int, *, share: float, hang_seconds: float, weights: Sequence[float] = (0.4, 0.2, 0.4)):
        self.rng = random.Random(seed)
        self.share = share
        self.hang_seconds = hang_seconds
        self.weights = list(weights)
        self.active = False
        self.stats = FaultStats()

    def draw(self) -> str | None:
        if not self.active or self.rng.random() >= self.share:
            return None
        return self.rng.choices(self.KINDS, self.weights)[0]

    @web.middleware
    async def middleware(self, request: web.Request, handler) -> web.StreamResponse:
        response = await handler(request)
        self.stats.requests += 1
        body = response.body if isinstance(response, web.Response) and isinstance(response.body, bytes) else b""
        fault = self.draw()
        if fault == "truncate" and len(body) < 2:
            fault = "error"  # a 304 or an empty page has nothing to cut
        if fault == "error":
            self.stats.errors += 1
            return web.json_response({"error": {"code": "injected", "message": "injected fault", "details": {}}}, status=500)
        if fault == "hang":
            self.stats.hangs += 1
            await asyncio.sleep(self.hang_seconds)  # the client's fetch.total_timeout ends it first
            return response
        if fault == "truncate":
            self.stats.truncations += 1
            return await _truncated(request, response, body)
        self.stats.bytes += len(body)
        return response


async def _truncated(request: web.Request, response: web.Response, body: bytes) -> web.StreamResponse:
    """Half the body under the whole body's Content-Length, then the connection drops."""
    skip = {"content-length", "transfer-encoding"}
    headers = {k: v for k, v in response.headers.items() if k.lower() not in skip}
    stream = web.StreamResponse(status=response.status, headers=headers)
    stream.content_length = len(body)
    await stream.prepare(request)
    await stream.write(body[: len(body) // 2])
    if request.transport is not None:
        request.transport.abort()
    return stream


# -- origins: each centre's own export ------------------------------------------------------


class Origin:
    """A centre's CMS export: a complete exchange snapshot of its current items and explicit tombstones."""

    def __init__(self, centre: Centre):
        self.centre = centre
        self.items: dict[str, Item | Tombstone] = {}
        self.version = 0

    def publish(self, item: Item | Tombstone) -> None:
        self.items[item.id] = item
        self.version += 1

    def withdraw(self, item_id: str) -> None:
        """Left out of the export: the origin node's sweep deletes it."""
        del self.items[item_id]
        self.version += 1

    def document(self) -> bytes:
        data = [json.loads(item.model_dump_json(exclude_none=True)) for item in self.items.values()]
        return json.dumps(
            {
                "exchange_version": "1.0",
                "publisher": self.centre.model_dump(mode="json", exclude_none=True),
                # Later than every item's `modified` (the workload's clock runs behind): the sweep may delete.
                "generated": datetime.now(UTC).isoformat(),
                "complete": True,
                "data": data,
            },
            ensure_ascii=False,
        ).encode()

    async def handle(self, request: web.Request) -> web.Response:
        etag = f'"v{self.version}"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(body=self.document(), content_type="application/json", headers={"ETag": etag})


# -- nodes -------------------------------------------------------------------------------------


def _bound_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@dataclass
class NodeOptions:
    page_limit: int = 100  # `limit` of the changes feeds the nodes pull: small values exercise paging
    total_timeout: float = 1.0
    connect_timeout: float = 1.0


class Node:
    def __init__(self, centre: str, database_url: str, node_sock: socket.socket, origin_sock: socket.socket):
        self.centre = centre
        self.name = centre_name(centre)
        self.database_url = database_url
        self.node_sock, self.origin_sock = node_sock, origin_sock
        self.port = node_sock.getsockname()[1]
        self.origin_port = origin_sock.getsockname()[1]
        self.origin = Origin(centre_of(centre))
        self.engine: Engine | None = None
        self.app: web.Application | None = None
        self.runners: list[web.AppRunner] = []
        self.syncer: Syncer | None = None
        self.registry: SourceRegistry | None = None
        self.store: Store | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def settings(self, topology: Topology, ports: dict[str, int], options: NodeOptions) -> Settings:
        sources: list[dict[str, Any]] = [
            {"id": "own", "url": f"http://127.0.0.1:{self.origin_port}/export.json", "format": "exchange", "centre": self.centre}
        ]
        for link in topology.pulls(self.centre):
            base = f"http://127.0.0.1:{ports[link.peer]}/api/v1/changes?limit={options.page_limit}"
            if link.direct:
                sources.append({"id": f"direct-{link.peer}", "url": f"{base}&origin={link.peer}", "format": "exchange",
                                "centre": link.peer})
            else:
                sources.append({"id": f"relay-{link.peer}", "url": base, "format": "exchange", "relay": True})
        return Settings.model_validate(
            {
                "node": {"centre": self.centre, "name": self.name, "base_url": self.base_url},
                "database": {"url": self.database_url},
                "fetch": {
                    "allow_private_networks": True,
                    "connect_timeout": options.connect_timeout,
                    "total_timeout": options.total_timeout,
                    "per_host_concurrency": 4,
                    "concurrency": 64,
                },
                # Deletions by sweep are part of the workload: no operator to approve them here.
                "sync": {"min_interval": 1, "max_deletion_share": 1.0},
                "sources": sources,
            }
        )

    async def start(self, settings: Settings, faults: Faults) -> None:
        self.engine = create_engine(settings.database.url)
        await asyncio.to_thread(upgrade, self.engine)
        self.store = Store(self.engine)
        self.registry = SourceRegistry(self.engine)
        self.registry.sync_config(settings.sources, settings.sync.default_interval)
        self.syncer = Syncer(settings, self.engine)
        self.app = create_app(settings, self.engine, admin_token="")
        self.app.middlewares.insert(0, faults.middleware)
        origin_app = web.Application(middlewares=[faults.middleware])
        origin_app.router.add_get("/export.json", self.origin.handle)
        for app, sock in ((self.app, self.node_sock), (origin_app, self.origin_sock)):
            runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
            await runner.setup()
            await web.SockSite(runner, sock).start()
            self.runners.append(runner)

    async def sync(self, *source_ids: str) -> list[SyncReport]:
        """Sync the named sources, or all of them."""
        assert self.syncer and self.registry and self.app
        reports = await self.syncer.sync_sources(self.registry.select(source_ids))
        # The syncer shares the process with the app: show its changes at once (kisync.web.app).
        await self.app[SEQ].refresh()
        return reports

    def versions(self) -> dict[str, str]:
        assert self.store
        return self.store.versions()

    async def stop(self) -> None:
        for runner in self.runners:
            await runner.cleanup()
        if self.engine is not None:
            self.engine.dispose()


# -- the workload ----------------------------------------------------------------------------


class Workload:
    """Random changes at random origins, and what every node must end up with."""

    def __init__(self, rng: random.Random, origins: dict[str, Origin]):
        self.rng = rng
        self.origins = origins
        # Behind the wall clock, one millisecond a change: every `modified` is unique, in the past,
        # and earlier than the `generated` of every export that lists it.
        self.clock = datetime.now(UTC) - timedelta(hours=6)
        self.expected: dict[str, Item | Tombstone] = {}  # per id the origin's latest version
        self.withdrawn: set[str] = set()  # deleted by leaving them out of the export
        self.serial = 0
        self.counts = {"created": 0, "updated": 0, "deleted": 0, "withdrawn": 0}

    def tick(self) -> datetime:
        self.clock += timedelta(milliseconds=1)
        return self.clock

    def live_of(self, centre: str) -> list[Item]:
        return [i for i in self.origins[centre].items.values() if isinstance(i, Item)]

    def create(self, centre: str) -> Item:
        self.serial += 1
        origin = self.origins[centre].centre
        now = self.tick()
        item = Item.model_validate(
            {
                "id": f"https://ki.example/{centre}/projekte/{self.serial}",
                "kind": self.rng.choice(KINDS),
                "origin": origin.model_dump(mode="json", exclude_none=True),
                "created": now,
                "modified": now,
                "title": f"Projekt {self.serial} des {origin.name}",
                "summary": "Sprachbildung und Elternarbeit für neu zugewanderte Familien.",
                "url": f"https://ki.example/{centre}/projekte/{self.serial}",
                "fields_of_action": self.rng.sample(FIELDS, self.rng.randint(1, 2)),
                "audience": ["eltern"],
            }
        )
        self._publish(centre, item)
        self.counts["created"] += 1
        return item

    def update(self, centre: str) -> None:
        live = self.live_of(centre)
        if not live:
            self.create(centre)
            return
        item = self.rng.choice(live)
        data = item.model_dump(mode="json")
        data["modified"] = self.tick()
        data["title"] = f"{data['title'].split(' (Stand')[0]} (Stand {format_utc(data['modified'])})"
        self._publish(centre, Item.model_validate(data))
        self.counts["updated"] += 1

    def delete(self, centre: str, *, withdraw: bool, item_id: str | None = None) -> None:
        """A tombstone in the export, or (``withdraw``) the item left out of it."""
        live = self.live_of(centre)
        if item_id is None and len(live) < 2:  # an export listing nothing at all is held by the mass-deletion guard
            self.create(centre)
            return
        item = next(i for i in live if i.id == item_id) if item_id else self.rng.choice(live)
        if withdraw:
            self.origins[centre].withdraw(item.id)
            self.withdrawn.add(item.id)
            del self.expected[item.id]
            self.counts["withdrawn"] += 1
            return
        tombstone = Tombstone(
            id=item.id, kind=item.kind, origin=item.origin, created=item.created, modified=self.tick(), deleted=True
        )
        self._publish(centre, tombstone)
        self.counts["deleted"] += 1

    def _publish(self, centre: str, item: Item | Tombstone) -> None:
        self.origins[centre].publish(item)
        self.expected[item.id] = item

    def seed(self, per_origin: int) -> None:
        for centre in self.origins:
            for _ in range(per_origin):
                self.create(centre)

    def step(self, changes: int) -> None:
        for _ in range(changes):
            centre = self.rng.choice(list(self.origins))
            roll = self.rng.random()
            if roll < 0.35:
                self.create(centre)
            elif roll < 0.7:
                self.update(centre)
            elif roll < 0.9:
                self.delete(centre, withdraw=False)
            else:
                self.delete(centre, withdraw=True)

    def expected_versions(self) -> dict[str, str]:
        return {item_id: version_key(item) for item_id, item in self.expected.items()}


# -- the network -------------------------------------------------------------------------------


@dataclass
class RoundResult:
    failed: int  # source syncs that failed
    syncs: int
    seconds: float


@dataclass
class Divergence:
    """How far the nodes are from the expected state; empty when they converged."""

    problems: dict[str, list[str]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.problems)

    def describe(self, limit: int = 5) -> str:
        lines = []
        for centre, problems in sorted(self.problems.items()):
            lines.append(f"{centre}: {len(problems)} problem(s): " + "; ".join(problems[:limit]))
        return "\n".join(lines)


def is_tombstone_key(key: str) -> bool:
    return key.split("|")[1] == "1"


class Network:
    def __init__(
        self,
        topology: Topology,
        database_url: Callable[[str], str],
        *,
        seed: int = 1,
        fault_share: float = 0.3,
        options: NodeOptions | None = None,
    ):
        self.topology = topology
        self.options = options or NodeOptions()
        self.rng = random.Random(seed)
        self.faults = Faults(seed + 1, share=fault_share, hang_seconds=self.options.total_timeout + 0.5)
        self.nodes = {
            centre: Node(centre, database_url(centre), _bound_socket(), _bound_socket()) for centre in topology.centres
        }
        self.workload = Workload(random.Random(seed + 2), {c: n.origin for c, n in self.nodes.items()})
        self.rounds = 0

    async def start(self) -> None:
        ports = {centre: node.port for centre, node in self.nodes.items()}
        for node in self.nodes.values():
            await node.start(node.settings(self.topology, ports, self.options), self.faults)

    async def stop(self) -> None:
        await asyncio.gather(*(node.stop() for node in self.nodes.values()), return_exceptions=True)

    async def __aenter__(self) -> Network:
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def round(self) -> RoundResult:
        started = time.monotonic()
        order = list(self.nodes.values())
        self.rng.shuffle(order)
        failed = syncs = 0
        for node in order:
            reports = await node.sync()
            syncs += len(reports)
            failed += sum(1 for r in reports if not r.ok)
        self.rounds += 1
        return RoundResult(failed, syncs, time.monotonic() - started)

    def divergence(self) -> Divergence:
        """Every node against the expected state, and the withdrawn items against their origin's tombstone."""
        expected = self.workload.expected_versions()
        withdrawn = self.workload.withdrawn
        reference: dict[str, str] = {}
        for item_id in withdrawn:
            origin = item_id.split("/")[3]
            key = self.nodes[origin].versions().get(item_id)
            if key is not None:
                reference[item_id] = key
        result = Divergence()
        for centre, node in self.nodes.items():
            stored = node.versions()
            problems = []
            for item_id, key in expected.items():
                have = stored.get(item_id)
                if have != key:
                    problems.append(f"{item_id}: has {have}, expected {key}")
            for item_id in withdrawn:
                # Withdrawn before its origin node ever read it: it never existed anywhere.
                have, origin_has = stored.get(item_id), reference.get(item_id)
                if have is not None and not is_tombstone_key(have):
                    problems.append(f"{item_id} withdrawn at its origin, but live here: {have}")
                elif have != origin_has:
                    problems.append(f"{item_id}: {have}, its origin node has {origin_has}")
            extra = set(stored) - set(expected) - withdrawn
            problems += [f"{item_id}: unknown here" for item_id in sorted(extra)]
            if problems:
                result.problems[centre] = problems
        return result

    def bytes_sent(self) -> int:
        return self.faults.stats.bytes

    def totals(self) -> dict[str, int]:
        node = next(iter(self.nodes.values()))
        assert node.store
        return node.store.counts()


async def run_to_convergence(
    network: Network,
    *,
    fault_rounds: int,
    changes_per_round: int,
    max_clean_rounds: int,
    on_round: Callable[[str, int, RoundResult], Awaitable[None] | None] | None = None,
) -> int:
    """Faults and changes for ``fault_rounds`` rounds, then clean rounds until converged.

    Returns the number of clean rounds it took; raises AssertionError with
    the divergence when ``max_clean_rounds`` were not enough.
    """
    network.faults.active = True
    for n in range(fault_rounds):
        network.workload.step(changes_per_round)
        result = await network.round()
        if on_round is not None:
            await _maybe_await(on_round("fault", n + 1, result))
    network.faults.active = False
    for n in range(1, max_clean_rounds + 1):
        result = await network.round()
        if on_round is not None:
            await _maybe_await(on_round("clean", n, result))
        if not network.divergence():
            return n
    raise AssertionError(
        f"{network.topology.name}: not converged after {max_clean_rounds} fault-free rounds:\n"
        + network.divergence().describe()
    )


async def _maybe_await(value: Awaitable[None] | None) -> None:
    if value is not None:
        await value


def centres_sample(rng: random.Random, n: int, exclude: Iterable[str] = ()) -> list[str]:
    pool = [c for c in registry() if c not in set(exclude)]
    return sorted(rng.sample(pool, n))
