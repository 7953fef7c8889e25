"""Server-assigned ids: valid FHIR ids, unique, time-ordered."""

from __future__ import annotations

import time
import uuid

from conformance.validator import is_valid_id
from fhir_server.model.ids import new_id


def test_ids_are_version_7_uuids_and_valid_fhir_ids() -> None:
    value = new_id()
    parsed = uuid.UUID(value)
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122
    assert is_valid_id(value)


def test_ids_carry_the_current_time_in_milliseconds() -> None:
    before = time.time_ns() // 1_000_000
    value = new_id()
    after = time.time_ns() // 1_000_000
    assert before <= uuid.UUID(value).int >> 80 <= after


def test_ids_are_unique_and_sort_by_creation_time() -> None:
    first = [new_id() for _ in range(2000)]
    time.sleep(0.002)
    later = new_id()
    assert len(set(first)) == len(first)
    assert all(value < later for value in first)
