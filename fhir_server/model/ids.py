"""Server-assigned logical ids: time-ordered UUIDs (RFC 9562 version 7).

A version-7 UUID starts with the Unix time in milliseconds, so ids assigned one after the
other sort together: new index entries land on the same few B-tree pages instead of
random ones, which keeps bulk loads fast as the database grows (docs/adr/0005). The
remaining 74 bits are random, so ids stay unguessable. The text form (36 characters of
hex and hyphens) is a valid FHIR id.
"""

from __future__ import annotations

import os
import time
import uuid

_VERSION_7 = 0x7 << 76
_VARIANT_RFC = 0b10 << 62


def new_id() -> str:
    """A fresh version-7 UUID as text."""
    millis = time.time_ns() // 1_000_000
    random = int.from_bytes(os.urandom(10), "big")
    rand_a = random >> 68  # 12 bits
    rand_b = random & ((1 << 62) - 1)  # 62 bits
    value = (millis & ((1 << 48) - 1)) << 80 | _VERSION_7 | rand_a << 64 | _VARIANT_RFC | rand_b
    return str(uuid.UUID(int=value))
