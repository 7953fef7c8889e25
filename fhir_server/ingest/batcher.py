"""One worker thread that hands everything queued to a handler in one call.

Transports (MLLP connections, MQTT, HTTP requests) submit items from their own threads or
event loop and get a :class:`~concurrent.futures.Future` each. The worker takes the first
item, drains whatever else is waiting (up to ``max_batch``) and calls the handler once with
all of them, so concurrent senders share its fixed costs (a commit, an fsync) without
anyone waiting for a timer: a lone item runs at once, and items that arrive while a batch
runs form the next one. The handler answers per item, in order, with a result or an
exception; the worker puts each on its item's future. Items are handled in submission order.
"""

from __future__ import annotations

import logging
import queue
import threading
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
    ) -> None:
        """Start the worker thread; ``handler`` gets at most ``max_batch`` items per call."""
        self._handler = handler
        self._max_batch = max(1, max_batch)
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
            batch, stopping = [first], False
            while len(batch) < self._max_batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stopping = True
                    break
                batch.append(more)
            self._handle(batch)
            if stopping:
                return

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
