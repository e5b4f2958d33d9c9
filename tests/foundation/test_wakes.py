"""WakeQueue: a burst of wake-ups neither piles up jobs nor loses or reorders ids."""

from __future__ import annotations

import threading

from bot.delivery.wakes import WakeQueue


def test_a_burst_is_queued_as_ids_and_run_in_order_by_few_threads():
    gate, calls, lock = threading.Event(), [], threading.Lock()
    running = set()

    def run(ids):
        gate.wait(10)
        with lock:
            calls.append(ids)
            running.add(threading.get_ident())

    queue = WakeQueue(run, threads=2, name="t", cap=10_001)  # room for every id: nothing gives way to a sweep
    for n in range(5_000):  # as a NOTIFY per commit would, while the drains are busy
        queue.wake([2 * n, 2 * n + 1])
    assert queue._waiting <= 10_000 and queue._draining == 2  # ids waiting, not 5,000 jobs
    gate.set()
    queue.close()
    assert len(running) <= 2
    assert sorted(i for batch in calls for i in batch) == list(range(10_000))
    assert all(batch == [batch[0], batch[0] + 1] for batch in calls)  # each wake-up's ids together, in order


def test_past_the_cap_the_ids_give_way_to_one_sweep():
    gate, taken, calls = threading.Event(), threading.Event(), []

    def run(ids):
        taken.set()
        gate.wait(10)
        calls.append(ids)

    queue = WakeQueue(run, threads=1, name="t", cap=100)
    queue.wake([0])
    assert taken.wait(10)  # the drain took [0] and waits at the gate
    for n in range(1, 300):
        queue.wake([n])
    assert queue._waiting <= 100
    gate.set()
    queue.close()
    assert calls[0] == [0] and None in calls  # what was dropped is read back by a sweep of everything due
    assert len(calls) <= 102
