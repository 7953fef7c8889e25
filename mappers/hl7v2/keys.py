"""Keys that stay distinct within one message.

A message may repeat what a key is made of: OBX-4 sub-ids are optional, so a narrative sent
one line per OBX repeats its OBX-3, and several OBR may share one order number. The first
use keeps its key; the n-th repeat gets a key derived from it and n, so a resend of the
same message derives the same keys again.
"""

from __future__ import annotations

import hashlib

from fhir_server.ingest.spec import IdentifierKey


def distinct(key: IdentifierKey, taken: set[IdentifierKey], system: str) -> IdentifierKey:
    """``key``, or the key of system ``system`` derived from it when ``taken`` holds it.

    ``taken`` collects the keys used so far in the message; the returned key is added.
    """
    candidate, occurrence = key, 1
    while candidate in taken:
        occurrence += 1
        basis = f"{key.system}|{key.value}#{occurrence}"
        candidate = IdentifierKey(system, hashlib.sha256(basis.encode()).hexdigest())
    taken.add(candidate)
    return candidate
