"""Coalesced wake-ups: ids to work on, handed in order to a few drain threads.

A worker is woken once per NOTIFY (and a web process once per commit). Submitting one thread-pool
job per wake-up let a burst it could not keep up with pile up jobs in memory (the memory bench saw
a worker grow 29 MB a minute under 394 requests/s). Here a wake-up only appends its ids to a queue,
whose size is capped: beyond ``cap`` ids waiting, the queue is dropped for one sweep of everything
due, which reads the same rows from the database. Each wake-up's ids stay together and in order
(one commit's notices go out in the order they were written, by one thread).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger(__name__)

Run = Callable[[list[int] | None], object]  # a batch of ids in order, or None: everything due


class WakeQueue:
    def __init__(self, run: Run, *, threads: int, name: str, cap: int = 10_000) -> None:
        self._run = run
        self._threads = threads
        self._cap = cap
        self._lock = threading.Lock()
        self._batches: deque[list[int]] = deque()
        self._waiting = 0  # ids in _batches
        self._sweep = False
        self._draining = 0
        self._closed = False
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=name)

    def wake(self, ids: list[int] | None) -> None:
        """Work on ``ids`` soon (None: everything due), off the caller's thread."""
        with self._lock:
            if self._closed:
                return
            if ids is None or self._waiting + len(ids) > self._cap:
                self._sweep = True
                self._batches.clear()
                self._waiting = 0
            elif ids:
                self._batches.append(list(ids))
                self._waiting += len(ids)
            else:
                return
            if self._draining < self._threads:
                self._draining += 1
                self._executor.submit(self._drain)

    def _drain(self) -> None:
        while True:
            with self._lock:
                batch: list[int] | None
                if self._sweep:
                    self._sweep, batch = False, None
                elif self._batches:
                    batch = self._batches.popleft()
                    self._waiting -= len(batch)
                else:
                    self._draining -= 1
                    return
            try:
                self._run(batch)
            except Exception:  # the periodic sweep does it anyway
                log.exception("woken work failed; the next sweep retries it")

    @property
    def idle(self) -> bool:
        """Nothing queued and no thread draining (tests and the demo wait for it)."""
        with self._lock:
            return self._draining == 0 and not self._sweep and not self._batches

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self._executor.shutdown(wait=True, cancel_futures=False)
