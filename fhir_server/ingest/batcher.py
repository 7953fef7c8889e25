"""One worker thread that hands everything queued to a handler in one call.

Transports (MLLP connections, MQTT, HTTP requests) submit items from their own threads or
event loop and get a :class:`~concurrent.futures.Future` each. The worker takes the first
item, drains whatever else is waiting (up to ``max_batch``) and calls the handler once with
all of them, so concurrent senders share its fixed costs (a commit, an fsync). A lone
sender never waits for a timer: its item runs at once, and items that arrive while a batch
runs form the next one. With several senders that each wait for their answer (MLLP
connections), that rule alone splits them into alternating batches (1, 3, 1, 3 ... for
four): the senders answered last are still sending when the worker looks. So the worker
*lingers*: while a batch is smaller than the one before it, it waits up to ``linger``
seconds for the rest (a sender that went away costs one wait; the next batch is then
expected no larger). The handler answers per item, in order, with a result or an
exception; the worker puts each on its item's future. Items are handled in submission order.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

log = logging.getLogger(__name__)


class Batcher(Generic[T, R]):
    """Feeds queued items to ``handler`` in batches, on one daemon thread."""

    def __init__(
        self,
        handler: Callable[[Sequence[T]], Sequence[R | BaseException]],
        *,
        max_batch: int,
        name: str,
        linger: float = 0.0,
    ) -> None:
        """Start the worker thread; ``handler`` gets at most ``max_batch`` items per call."""
        self._handler = handler
        self._max_batch = max(1, max_batch)
        self._linger = linger
        self._expected = 1
        self._queue: queue.SimpleQueue[tuple[T, Future[R]] | None] = queue.SimpleQueue()
        self._closed = False
        self._close_lock = threading.Lock()
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

    def submit(self, item: T) -> Future[R]:
        """Queue ``item``; the future completes once its batch was handled."""
        future: Future[R] = Future()
        with self._close_lock:
            if self._closed:
                raise RuntimeError("the batcher is stopped")
            self._queue.put((item, future))
        return future

    def stop(self) -> None:
        """Handle what is queued, then end the worker thread."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(None)
        self._thread.join()

    def _work(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch, stopping = self._collect(first)
            self._expected = len(batch)
            self._handle(batch)
            if stopping:
                return

    def _collect(self, first: tuple[T, Future[R]]) -> tuple[list[tuple[T, Future[R]]], bool]:
        """The batch starting with ``first``, and whether the stop marker came after it."""
        batch = [first]
        deadline: float | None = None
        while len(batch) < self._max_batch:
            try:
                more = self._queue.get_nowait()
            except queue.Empty:
                if len(batch) >= self._expected or self._linger <= 0:
                    break
                if deadline is None:
                    deadline = time.monotonic() + self._linger
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    more = self._queue.get(timeout=remaining)
                except queue.Empty:
                    break
            if more is None:
                return batch, True
            batch.append(more)
        return batch, False

    def _handle(self, batch: list[tuple[T, Future[R]]]) -> None:
        try:
            outcomes = list(self._handler([item for item, _ in batch]))
        except BaseException as exc:  # a failing handler fails its batch, not the worker
            log.exception("a batch of %d item(s) failed", len(batch))
            outcomes = [exc] * len(batch)
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
