"""Reference text as (type, id, url): one parser for extraction, the matcher and search values.

https://hl7.org/fhir/R4/references.html. ``Patient/1`` and ``Patient/1/_history/2`` are
local (url ""); ``http://x/fhir/Patient/1`` keeps its url (history stripped) and also
yields type and id from its last two segments; ``urn:uuid:...`` and canonical URLs that
do not end in ``Type/id`` have a url only; a canonical's ``|version`` stays in the url.
Contained references (``#x``) yield nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_TAIL = re.compile(
    r"(?:(?P<base>.*)/)?(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})"
    r"(?:/_history/[^/]+)?"
)
_ABSOLUTE = re.compile(r"[a-z][a-z0-9+.\-]*:", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ParsedReference:
    """A reference split into its parts; absent parts are ""."""

    target_type: str
    target_id: str
    url: str


@lru_cache(maxsize=4096)
def parse_reference(text: str) -> ParsedReference | None:
    """Split ``text`` (Reference.reference, or a canonical) into type, id and url.

    Cached: a resource names its patient twice (``subject``, ``patient``), a feed often.
    """
    if not text or text.startswith("#"):
        return None
    absolute = _ABSOLUTE.match(text) is not None
    match = _TAIL.fullmatch(text.split("|", 1)[0])
    if match is None:
        return ParsedReference("", "", text) if absolute else None
    if not absolute:
        if match["base"] is not None:
            return None
        return ParsedReference(match["type"], match["id"], "")
    history = text.find("/_history/")
    url = text if history < 0 else text[:history]
    return ParsedReference(match["type"], match["id"], url)


def reference_type(text: str) -> str:
    """The target type of a reference, "" when it has none (FHIRPath ``resolve() is T``)."""
    parsed = parse_reference(text)
    return parsed.target_type if parsed is not None else ""
