"""The writer thread's batched writes: what queues up runs together, a failure stays its own."""

from __future__ import annotations

import asyncio
import threading

import pytest

from kisync.writer import Batched, Writer


class Recorder:
    """``together`` and ``alone`` for a Batched queue: doubles each number; 13 fails."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[int]]] = []

    def together(self, payloads):
        self.calls.append(("together", list(payloads)))
        if 13 in payloads:
            raise ValueError("13 in the group")
        return [2 * p for p in payloads]

    def alone(self, payload):
        self.calls.append(("alone", [payload]))
        if payload == 13:
            raise ValueError("13 alone")
        return 2 * payload


async def queued_behind_a_busy_writer(batched: Batched, writer: Writer, payloads: list[int]) -> list:
    busy = threading.Event()
    writer.submit(lambda: busy.wait(10))
    calls = [asyncio.ensure_future(batched(p)) for p in payloads]
    await asyncio.sleep(0.05)
    busy.set()
    return await asyncio.gather(*calls, return_exceptions=True)


async def test_what_queues_up_behind_the_writer_runs_in_one_call():
    writer, recorder = Writer(), Recorder()
    batched = Batched(writer, recorder.together, recorder.alone)
    assert await queued_behind_a_busy_writer(batched, writer, [1, 2, 3]) == [2, 4, 6]
    assert recorder.calls == [("together", [1, 2, 3])]
    assert await batched(5) == 10  # an idle writer: at once, alone in its group
    assert recorder.calls[-1] == ("together", [5])


async def test_a_failing_payload_fails_alone_and_the_others_land():
    writer, recorder = Writer(), Recorder()
    batched = Batched(writer, recorder.together, recorder.alone)
    results = await queued_behind_a_busy_writer(batched, writer, [1, 13, 3])
    assert results[0] == 2 and results[2] == 6
    assert isinstance(results[1], ValueError) and str(results[1]) == "13 alone"
    assert recorder.calls == [("together", [1, 13, 3]), ("alone", [1]), ("alone", [13]), ("alone", [3])]


async def test_at_most_limit_payloads_share_a_call_and_the_rest_follow():
    writer, recorder = Writer(), Recorder()
    batched = Batched(writer, recorder.together, recorder.alone, limit=2)
    assert await queued_behind_a_busy_writer(batched, writer, [1, 2, 3, 4, 5]) == [2, 4, 6, 8, 10]
    assert recorder.calls == [("together", [1, 2]), ("together", [3, 4]), ("together", [5])]


async def test_a_cancelled_caller_does_not_break_the_others():
    writer, recorder = Writer(), Recorder()
    batched = Batched(writer, recorder.together, recorder.alone)
    busy = threading.Event()
    writer.submit(lambda: busy.wait(10))
    first, second = asyncio.ensure_future(batched(1)), asyncio.ensure_future(batched(2))
    await asyncio.sleep(0.05)
    first.cancel()
    busy.set()
    assert await second == 4
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_a_result_that_does_not_fit_fails_every_caller_and_writes_nothing_twice():
    writer, recorder = Writer(), Recorder()
    batched = Batched(writer, lambda payloads: recorder.together(payloads)[:1], recorder.alone)
    results = await queued_behind_a_busy_writer(batched, writer, [1, 2])
    assert all(isinstance(r, RuntimeError) and str(r) == "1 results for 2 writes" for r in results)
    assert recorder.calls == [("together", [1, 2])]


# -- a group commit: waiting for the writes that are on their way --------------


async def test_with_writes_coming_the_first_waits_for_them_and_they_share_a_call():
    writer, recorder = Writer(), Recorder()
    coming = [2]
    batched = Batched(writer, recorder.together, recorder.alone, limit=3, coming=lambda: coming[0], linger=10)
    first = asyncio.ensure_future(batched(1))
    await asyncio.sleep(0.05)
    assert recorder.calls == []  # the writer is idle, and still the first waits: two more are coming
    coming[0] = 1
    second = asyncio.ensure_future(batched(2))
    await asyncio.sleep(0.05)
    assert recorder.calls == []
    coming[0] = 0
    assert await asyncio.gather(first, second, batched(3)) == [2, 4, 6]  # the limit is reached: at once
    assert recorder.calls == [("together", [1, 2, 3])]


async def test_when_nothing_more_is_coming_the_queue_goes_at_once():
    writer, recorder = Writer(), Recorder()
    coming = [1]
    batched = Batched(writer, recorder.together, recorder.alone, limit=10, coming=lambda: coming[0], linger=10)
    first = asyncio.ensure_future(batched(1))
    await asyncio.sleep(0.05)
    coming[0] = 0  # the coming write failed before it was queued: its caller says so
    batched.consider()
    assert await asyncio.wait_for(first, 2) == 2
    coming[0] = 0
    assert await asyncio.wait_for(batched(5), 2) == 10  # nothing coming: no wait at all
    assert recorder.calls == [("together", [1]), ("together", [5])]


async def test_the_wait_is_bounded_by_linger():
    writer, recorder = Writer(), Recorder()
    batched = Batched(writer, recorder.together, recorder.alone, limit=10, coming=lambda: 5, linger=0.3)
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await asyncio.wait_for(batched(1), 5) == 2
    assert 0.3 <= loop.time() - started < 2
    assert recorder.calls == [("together", [1])]


async def test_waiting_happens_on_the_loop_and_other_writes_go_on_meanwhile():
    writer, merges, records = Writer(), Recorder(), Recorder()
    lingering = Batched(writer, merges.together, merges.alone, limit=10, coming=lambda: 1, linger=10)
    other = Batched(writer, records.together, records.alone)
    waiting = asyncio.ensure_future(lingering(1))
    await asyncio.sleep(0.05)
    assert await asyncio.wait_for(other(7), 2) == 14  # the writer thread is not held by the wait
    assert await asyncio.wait_for(writer.call(lambda: "free"), 2) == "free"
    assert not waiting.done()
    waiting.cancel()


async def test_what_is_left_over_beyond_the_limit_follows_without_waiting():
    writer, recorder = Writer(), Recorder()
    batched = Batched(writer, recorder.together, recorder.alone, limit=2, coming=lambda: 1, linger=10)
    busy = threading.Event()
    writer.submit(lambda: busy.wait(10))
    calls = [asyncio.ensure_future(batched(p)) for p in [1, 2, 3]]
    await asyncio.sleep(0.05)
    busy.set()
    # [1, 2] reach the limit; 3 waited behind that flush, and goes next though more are "coming".
    assert await asyncio.wait_for(asyncio.gather(*calls), 2) == [2, 4, 6]
    assert recorder.calls == [("together", [1, 2]), ("together", [3])]


def test_a_wait_left_by_an_ended_event_loop_does_not_hold_the_next_one():
    """A sync cancelled while a merge waited: the next ``asyncio.run`` on the same syncer is not stuck behind it."""
    writer, recorder = Writer(), Recorder()
    batched = Batched(writer, recorder.together, recorder.alone, limit=10, coming=lambda: 1, linger=0.5)

    async def abandon():
        waiting = asyncio.ensure_future(batched(1))
        await asyncio.sleep(0.05)
        waiting.cancel()

    asyncio.run(abandon())  # the loop ends while the queue waits for its timer

    async def next_sync():
        return await asyncio.wait_for(batched(2), 5)

    assert asyncio.run(next_sync()) == 4
    assert recorder.calls == [("together", [1, 2])]


def test_what_queued_during_a_flush_is_written_though_its_event_loop_ended():
    """An interrupted sync: the writes queued while the writer was busy are written, as before there was waiting."""
    writer = Writer()
    release, calls = threading.Event(), []

    def together(payloads):
        calls.append(list(payloads))
        if payloads == [1]:
            release.wait(10)
        return [2 * p for p in payloads]

    batched = Batched(writer, together, lambda p: 2 * p)

    async def interrupted():
        first = asyncio.ensure_future(batched(1))
        await asyncio.sleep(0.05)  # the flush of [1] runs and blocks
        second = asyncio.ensure_future(batched(2))
        await asyncio.sleep(0.05)
        first.cancel()
        second.cancel()

    asyncio.run(interrupted())
    release.set()
    assert writer._executor.submit(lambda: None).result(5) is None  # the writer has done what it had
    deadline = threading.Event()
    for _ in range(50):
        if calls == [[1], [2]]:
            break
        deadline.wait(0.05)
    assert calls == [[1], [2]]
