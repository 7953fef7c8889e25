"""The batch worker: a lone item runs at once; senders answered last join the next batch."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from fhir_server.ingest.batcher import Batcher


class Recorder:
    """A handler that records batch sizes and can be held while a batch runs."""

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.release = threading.Event()
        self.release.set()

    def __call__(self, items: Sequence[int]) -> list[int]:
        self.release.wait(5)
        self.sizes.append(len(items))
        return [item * 10 for item in items]


def test_a_lone_item_does_not_wait_for_the_linger() -> None:
    recorder = Recorder()
    batcher: Batcher[int, int] = Batcher(recorder, max_batch=10, name="t", linger=2.0)
    try:
        started = time.monotonic()
        assert batcher.submit(1).result(timeout=5) == 10
        assert time.monotonic() - started < 1.0
        assert recorder.sizes == [1]
    finally:
        batcher.stop()


def test_a_batch_smaller_than_the_last_waits_for_the_senders_still_answering() -> None:
    recorder = Recorder()
    batcher: Batcher[int, int] = Batcher(recorder, max_batch=10, name="t", linger=2.0)
    try:
        recorder.release.clear()
        held = batcher.submit(0)  # the worker takes it and is held
        time.sleep(0.1)
        first = [batcher.submit(i) for i in (1, 2, 3)]  # queued behind: one batch of 3
        recorder.release.set()
        assert [f.result(timeout=5) for f in [held, *first]] == [0, 10, 20, 30]
        assert recorder.sizes == [1, 3]
        # the three answered senders come back one by one, 50 ms apart: one batch again
        late = [batcher.submit(4)]
        for i in (5, 6):
            time.sleep(0.05)
            late.append(batcher.submit(i))
        assert [f.result(timeout=5) for f in late] == [40, 50, 60]
        assert recorder.sizes == [1, 3, 3]
    finally:
        batcher.stop()


def test_without_linger_items_arriving_later_form_their_own_batches() -> None:
    recorder = Recorder()
    batcher: Batcher[int, int] = Batcher(recorder, max_batch=10, name="t")
    try:
        assert batcher.submit(1).result(timeout=5) == 10
        futures = [batcher.submit(2)]
        time.sleep(0.1)
        futures.append(batcher.submit(3))
        assert [f.result(timeout=5) for f in futures] == [20, 30]
        assert recorder.sizes == [1, 1, 1]
    finally:
        batcher.stop()


def test_a_sender_that_went_away_costs_one_linger_then_batches_shrink() -> None:
    recorder = Recorder()
    batcher: Batcher[int, int] = Batcher(recorder, max_batch=10, name="t", linger=0.3)
    try:
        recorder.release.clear()
        held = batcher.submit(0)
        time.sleep(0.1)
        pair = [batcher.submit(1), batcher.submit(2)]
        recorder.release.set()
        for f in [held, *pair]:
            f.result(timeout=5)
        started = time.monotonic()
        assert batcher.submit(3).result(timeout=5) == 30  # expected 2, only 1 comes
        waited = time.monotonic() - started
        assert 0.25 <= waited < 2.0
        started = time.monotonic()
        assert batcher.submit(4).result(timeout=5) == 40  # now 1 is expected: no wait
        assert time.monotonic() - started < 0.25
        assert recorder.sizes == [1, 2, 1, 1]
    finally:
        batcher.stop()
