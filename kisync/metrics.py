"""Prometheus metrics shared by the sync and the web side.

They live in a registry of our own (``REGISTRY``), not prometheus-client's
global one, so that tests and several apps in one process never register a
name twice. ``/metrics`` (``kisync.web.metrics``) exposes the registry.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

FETCHES = Counter(
    "kisync_fetches_total",
    "Fetches of sources, by outcome (ok, not_modified, error, ...).",
    ["outcome"],
    registry=REGISTRY,
)
# Buckets from a fast conditional GET to the total timeout of a slow source.
FETCH_SECONDS = Histogram(
    "kisync_fetch_seconds",
    "Duration of one fetch of one source, in seconds.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
    registry=REGISTRY,
)
