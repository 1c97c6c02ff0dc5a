"""When to fetch a source next: a pure function of the last outcome.

Kept apart from the I/O so every rule can be tested with fixed inputs.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Bounds:
    min_interval: float  # seconds
    max_backoff: float  # seconds


def clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def next_due_after_success(now: datetime, interval: float, bounds: Bounds, max_age: float | None = None) -> datetime:
    """The interval, or longer when the server asks (Cache-Control max-age, Expires).

    A server hint never makes us fetch more often than the configured
    interval, and never less often than once a day (``max_backoff``): a
    year-long max-age on a feed must not hide a centre's updates.
    """
    delay = max(interval, bounds.min_interval)
    if max_age is not None:
        delay = max(delay, clamp(max_age, bounds.min_interval, bounds.max_backoff))
    return now + timedelta(seconds=delay)


def next_due_after_failure(
    now: datetime,
    failures: int,
    bounds: Bounds,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> datetime:
    """Exponential back-off with jitter, capped at ``max_backoff`` (one day by default).

    ``failures`` counts consecutive failures including this one. The jitter
    (the upper half of the delay, drawn at random) keeps many failing
    sources from being retried in lockstep. A Retry-After from the server
    (429/503) is honoured up to the cap.
    """
    rng = rng or random.Random()
    exponent = min(max(failures, 1) - 1, 30)  # 2**30 × 5 min is far past any cap
    ceiling = min(bounds.max_backoff, bounds.min_interval * 2**exponent)
    delay = ceiling * (0.5 + rng.random() / 2)
    if retry_after is not None:
        delay = max(delay, clamp(retry_after, 0, bounds.max_backoff))
    return now + timedelta(seconds=min(delay, bounds.max_backoff))
