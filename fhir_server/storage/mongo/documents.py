"""The BSON document shapes of the MongoDB adapter, and conversions to and from the port types.

Collections (one database; names are fixed except the per-type ones)::

    resources_<Type>  current version per logical id
        {_id: id, created, version_id, ts, last_updated, method, deleted, content, _index}
    history           every version
        {type, id, version_id, ts, last_updated, method, deleted, content, seq}
    outbox            one event per version, in commit order
        {seq, type, id, version_id, method, ts, recorded}
    counters          {_id: "seq", value} and one {_id: "lock:<Type>", n} per resource type

``content`` is the resource JSON exactly as the core serialised it, stored as BSON binary
(subtype 0), not as a BSON sub-document: a read hands the stored bytes straight back
(PyMongo decodes binary to ``bytes``) with no BSON -> dict -> JSON round trip, the bytes
are identical to what was written (key order, number formatting), and search never needs
the resource body because it queries ``_index``. A string would cost a UTF-8 decode and
encode on each side for nothing. The price is that mongosh shows the body as BinData.

``ts`` is the version instant as int64 microseconds since the Unix epoch (``created``: the
``ts`` of the first version, for the search snapshot bound). BSON dates keep
only milliseconds, while FHIR instants (and the core's clock) carry microseconds, so every
query, sort and round trip uses ``ts``; ``last_updated`` holds the same instant as a BSON
date for people, BI tools and TTL indexes.

``_index`` groups the search index entries by kind (``search.index``)::

    token:     [{p, s, c, t}]            system, code, display text (lower-cased)
    string:    [{p, n, e}]               normalised, exact
    date:      [{p, lo, hi}]             [lo, hi) in epoch seconds (floats, +-inf allowed)
    number:    [{p, v, lo, hi}]
    quantity:  [{p, v, lo, hi, s, c, cv, cc}]   cv/cc: UCUM-canonical value and code or null
    reference: [{p, type, id, url}]
    uri:       [{p, v}]
    composite: [{p, <kind>: [...]}]      component i indexed as param ``<p>$<i>``, grouped
                                         by kind like ``_index`` (as the SQLite rows are)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Final, assert_never, cast

from fhir_server.core.ports import Method, StoredVersion, VersionWrite
from fhir_server.errors import InvalidRequest
from fhir_server.model.instant import from_micros, to_micros
from fhir_server.search.index import (
    CompositeEntry,
    DateEntry,
    IndexEntry,
    NumberEntry,
    QuantityEntry,
    ReferenceEntry,
    StringEntry,
    TokenEntry,
    UriEntry,
)

Doc = dict[str, Any]

HISTORY: Final = "history"
OUTBOX: Final = "outbox"
COUNTERS: Final = "counters"
SEQ_COUNTER: Final = "seq"
RESOURCE_PREFIX: Final = "resources_"

KINDS: Final = ("token", "string", "date", "number", "quantity", "reference", "uri", "composite")
"""The ``_index`` sub-document's keys, one per index entry kind."""

VERSION_FIELDS: Final[Doc] = {"version_id": 1, "ts": 1, "method": 1, "content": 1}
"""Projection of what a ``StoredVersion`` needs (``_id`` comes along)."""

_TYPE_NAME: Final = re.compile(r"[A-Z][A-Za-z]{0,63}")


def collection_name(resource_type: str) -> str:
    """The collection of current versions of ``resource_type``.

    The type becomes part of a collection name, so it is checked here whatever the caller
    validated: only a FHIR type name (letters, leading capital) can reach MongoDB.

    Raises:
        InvalidRequest: ``resource_type`` is not shaped like a FHIR resource type.
    """
    if not is_type_name(resource_type):
        raise InvalidRequest(f"not a resource type: {resource_type!r}", code="unknown-type")
    return RESOURCE_PREFIX + resource_type


def is_type_name(value: str) -> bool:
    """Whether ``value`` is shaped like a FHIR resource type name."""
    return _TYPE_NAME.fullmatch(value) is not None


def lock_id(resource_type: str) -> str:
    """The ``counters`` document that serialises conditional writes to ``resource_type``."""
    return f"lock:{resource_type}"


def component_param(param: str, position: int) -> str:
    """The param code under which component ``position`` of a composite is indexed."""
    return f"{param}${position}"


def created_doc(write: VersionWrite) -> Doc:
    """The ``resources_<Type>`` document of a resource's first version."""
    fields = current_fields(write)
    return {"_id": write.id, "created": fields["ts"], **fields}


def current_fields(write: VersionWrite) -> Doc:
    """The fields of ``resources_<Type>`` a new version sets (all but ``_id``, ``created``)."""
    return {**_version_fields(write), "_index": index_doc(write.index)}


def history_doc(write: VersionWrite, seq: int) -> Doc:
    """The ``history`` document of a new version."""
    return {"type": write.resource_type, "id": write.id, **_version_fields(write), "seq": seq}


def outbox_doc(write: VersionWrite, seq: int) -> Doc:
    """The ``outbox`` event announcing a new version (recorded at the version's instant)."""
    ts = to_micros(write.last_updated)
    return {
        "seq": seq,
        "type": write.resource_type,
        "id": write.id,
        "version_id": write.version_id,
        "method": write.method,
        "ts": ts,
        "recorded": from_micros(ts),
    }


def stored_version(resource_type: str, id: str, doc: Mapping[str, Any]) -> StoredVersion:
    """A ``StoredVersion`` from a current or history document."""
    return StoredVersion(
        resource_type=resource_type,
        id=id,
        version_id=int(doc["version_id"]),
        last_updated=from_micros(int(doc["ts"])),
        method=cast(Method, doc["method"]),
        content=cast(bytes | None, doc.get("content")),
    )


def index_doc(entries: Iterable[IndexEntry]) -> Doc:
    """Index entries grouped by kind, each kind a list of small documents."""
    grouped: dict[str, list[Doc]] = {}
    for entry in entries:
        kind, value = _entry(entry)
        grouped.setdefault(kind, []).append(value)
    return grouped


def _version_fields(write: VersionWrite) -> Doc:
    ts = to_micros(write.last_updated)
    return {
        "version_id": write.version_id,
        "ts": ts,
        "last_updated": from_micros(ts),
        "method": write.method,
        "deleted": write.content is None,
        "content": write.content,
    }


def _entry(entry: IndexEntry) -> tuple[str, Doc]:
    match entry:
        case TokenEntry(param=p, system=s, code=c, text=t):
            return "token", {"p": p, "s": s, "c": c, "t": t}
        case StringEntry(param=p, normalized=n, exact=e):
            return "string", {"p": p, "n": n, "e": e}
        case DateEntry(param=p, low=lo, high=hi):
            return "date", {"p": p, "lo": lo, "hi": hi}
        case NumberEntry(param=p, value=v, low=lo, high=hi):
            return "number", {"p": p, "v": v, "lo": lo, "hi": hi}
        case QuantityEntry():
            return "quantity", _quantity(entry)
        case ReferenceEntry(param=p, target_type=t, target_id=i, url=u):
            return "reference", {"p": p, "type": t, "id": i, "url": u}
        case UriEntry(param=p, value=v):
            return "uri", {"p": p, "v": v}
        case CompositeEntry(param=p, components=components):
            return "composite", {"p": p, **_components(p, components)}
        case _:
            assert_never(entry)


def _components(param: str, components: tuple[IndexEntry, ...]) -> Doc:
    grouped: dict[str, list[Doc]] = {}
    for position, component in enumerate(components):
        kind, value = _entry(component)
        grouped.setdefault(kind, []).append({**value, "p": component_param(param, position)})
    return grouped


def _quantity(entry: QuantityEntry) -> Doc:
    return {
        "p": entry.param,
        "v": entry.value,
        "lo": entry.low,
        "hi": entry.high,
        "s": entry.system,
        "c": entry.code,
        "cv": entry.canonical_value,
        "cc": entry.canonical_code,
    }
