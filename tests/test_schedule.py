"""Next due times: intervals, server hints and back-off."""

from __future__ import annotations

import random
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from kisync.schedule import Bounds, next_due_after_failure, next_due_after_success
from tests.factories import T0

BOUNDS = Bounds(min_interval=300, max_backoff=86400)


def seconds(moment) -> float:
    return (moment - T0).total_seconds()


def test_success_uses_the_interval():
    assert seconds(next_due_after_success(T0, 3600, BOUNDS)) == 3600


def test_interval_below_the_minimum_is_raised():
    assert seconds(next_due_after_success(T0, 10, BOUNDS)) == 300


def test_max_age_can_only_lengthen_and_is_capped():
    assert seconds(next_due_after_success(T0, 3600, BOUNDS, max_age=60)) == 3600
    assert seconds(next_due_after_success(T0, 3600, BOUNDS, max_age=7200)) == 7200
    assert seconds(next_due_after_success(T0, 3600, BOUNDS, max_age=10**9)) == 86400


def test_backoff_grows_and_is_capped_at_a_day():
    rng = random.Random(1)
    delays = [seconds(next_due_after_failure(T0, n, BOUNDS, rng=rng)) for n in range(1, 20)]
    assert delays[0] <= 300 and delays[4] > delays[0]
    assert all(d <= 86400 for d in delays)
    assert delays[-1] >= 43200  # jitter keeps it in the upper half of the cap


def test_retry_after_is_honoured_up_to_the_cap():
    rng = random.Random(1)
    assert seconds(next_due_after_failure(T0, 1, BOUNDS, retry_after=5000, rng=rng)) == 5000
    assert seconds(next_due_after_failure(T0, 1, BOUNDS, retry_after=10**8, rng=rng)) == 86400


@given(st.integers(1, 1000), st.floats(0, 10**7) | st.none(), st.integers(0, 2**32))
def test_failure_delay_always_within_bounds(failures, retry_after, seed):
    due = next_due_after_failure(T0, failures, BOUNDS, retry_after, random.Random(seed))
    assert T0 + timedelta(seconds=150) <= due <= T0 + timedelta(seconds=86400)
