"""Prometheus metrics of the web side and their exposition.

The fetch metrics live in ``kisync.metrics`` (the sync code updates them).
Store gauges (items by kind, failing sources) are computed from
the database at scrape time by ``StoreCollector``, one per scrape, so a
scrape always shows the store as it is, whoever wrote it.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine

from kisync.metrics import FETCH_SECONDS, FETCHES, REGISTRY  # noqa: F401  (re-exported for the web side)
from kisync.store.tables import SOURCE_ENABLED, SourceRow, SourceStateRow
from kisync.vocab import Kind
from kisync.web import query as q
from kisync.web.caching import read_counters

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

HTTP_REQUESTS = Counter(
    "kisync_http_requests_total",
    "HTTP requests answered, by route template and status.",
    ["route", "status"],
    registry=REGISTRY,
)
HTTP_SECONDS = Histogram(
    "kisync_http_request_seconds",
    "Time to answer an HTTP request, by route template.",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
    registry=REGISTRY,
)



class RequestTally:
    """Answered requests kept as plain numbers, added to the request metrics in bulk.

    Counting in the Prometheus objects takes a lock per counter and per
    histogram bucket: under load that was a measurable share of answering
    a cached read. The tally is added to them every ``LIMIT`` requests and
    before every scrape (``kisync.web.ops.metrics``), so a scrape sees every
    request answered before it. Used from the event loop's thread only.
    """

    LIMIT = 1024

    def __init__(self) -> None:
        self._pending: list[tuple[tuple[Any, Any], float]] = []

    def add(self, metrics: tuple[Any, Any], seconds: float) -> None:
        """One request answered: its (counter, histogram) from ``request_metrics``, and how long it took."""
        self._pending.append((metrics, seconds))
        if len(self._pending) >= self.LIMIT:
            self.flush()

    def flush(self) -> None:
        pending, self._pending = self._pending, []
        for (requests, seconds), took in pending:
            requests.inc()
            seconds.observe(took)


# The web app's tally (kisync.web.app's serving middleware adds to it).
REQUEST_TALLY = RequestTally()


@cache  # routes are templates and statuses few: a small table
def request_metrics(route: str, status: int) -> tuple[Any, Any]:
    """The request counter and the time histogram of a route and status (``labels()`` is a locked lookup per call)."""
    return HTTP_REQUESTS.labels(route, str(status)), HTTP_SECONDS.labels(route)


_SOURCE = SourceRow.__table__
_STATE = SourceStateRow.__table__


class StoreCollector(Collector):
    """Gauges read from the store when scraped."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self.engine.connect() as conn:
            by_kind = q.live_counts_by_kind(conn)
            tombstones = q.tombstone_count(conn)
            enabled = sa.select(sa.func.count()).select_from(_SOURCE).where(SOURCE_ENABLED)
            failing = (
                sa.select(sa.func.count())
                .select_from(_SOURCE.join(_STATE, _STATE.c.source_id == _SOURCE.c.id))
                .where(SOURCE_ENABLED, _STATE.c.consecutive_failures > 0)
            )
            on_hold = (
                sa.select(sa.func.count())
                .select_from(_SOURCE.join(_STATE, _STATE.c.source_id == _SOURCE.c.id))
                .where(SOURCE_ENABLED, _STATE.c.on_hold.is_not(None))
            )
            n_enabled = conn.execute(enabled).scalar_one()
            n_failing = conn.execute(failing).scalar_one()
            n_on_hold = conn.execute(on_hold).scalar_one()
        seq, purged = read_counters(self.engine)

        items = GaugeMetricFamily("kisync_items", "Live items in the store, by kind.", labels=["kind"])
        for kind in Kind:
            items.add_metric([kind.value], by_kind.get(kind.value, 0))
        yield items
        yield GaugeMetricFamily("kisync_tombstones", "Deletions (tombstones) kept in the store.", value=tombstones)
        yield GaugeMetricFamily("kisync_sources_enabled", "Enabled sources.", value=n_enabled)
        yield GaugeMetricFamily(
            "kisync_sources_failing", "Enabled sources whose last fetch failed.", value=n_failing
        )
        yield GaugeMetricFamily(
            "kisync_sources_on_hold", "Enabled sources whose deletions wait for an operator.", value=n_on_hold
        )
        yield GaugeMetricFamily("kisync_change_seq", "The store's change sequence.", value=seq)
        yield GaugeMetricFamily("kisync_purged_seq", "Highest change sequence of a purged tombstone.", value=purged)


def render_metrics(engine: Engine) -> bytes:
    """The process metrics and the store gauges, in the Prometheus text format."""
    store = CollectorRegistry(auto_describe=False)
    store.register(StoreCollector(engine))
    return generate_latest(REGISTRY) + generate_latest(store)
