"""MongoDB indexes, created idempotently (``createIndexes`` is a no-op for existing ones).

The shared collections get theirs at startup (``ensure_indexes``); a ``resources_<Type>``
collection gets its own the first time a process writes that type
(``ensure_resource_indexes``): before a plain write's transaction, or after the commit of
a ``transaction()`` unit (see ``store``). Both run outside any transaction.

Per resource collection::

    ts_id       {ts, _id}                          _lastUpdated
    created_id  {created, _id}                     default order and tie-break, paging
    token       {_index.token.p, .c, .s}           multikey: code, then system
    reference   {_index.reference.p, .id, .type}   multikey: references, chains, _has
    date        {_index.date.p, .lo, .hi}          multikey: date ranges
    string      {_index.string.p, .n}              multikey: starts-with as a range
    number      {_index.number.p, .v}              multikey: numbers (probability, ...)
    quantity    {_index.quantity.p, .v}            multikey: device measurements
    uri         {_index.uri.p, .v}                 multikey: url, canonical

Every compound index has its fields inside one array (``_index.<kind>``), never in two
different arrays, which MongoDB refuses to index ("cannot index parallel arrays"), and each
search value condition is one ``$elemMatch`` on that array, so the bounds of all the
index's fields apply to the same entry. Not indexed, so answered by the ``p`` prefix: token
``:text`` (``t``), string ``:exact`` (``e``), reference by url, canonical quantity units
(``cc``/``cv``) and composites. ``_sort`` by a parameter sorts computed values, so it
never uses an index; ``_sort=_lastUpdated`` sorts on ``ts`` then the ``(created, _id)``
tie-break, which ``ts_id`` does not cover either (a bounded top-k sort after the match).

``counters`` gets one ``lock:<Type>`` document per type here too, outside any transaction,
so a plain write's transaction only ever updates it (two first writes of a type would
otherwise race on the upsert).

``history``: unique {type, id, version_id} (vread, instance history, one row per version),
{type, seq} (type history), {seq} (system history). ``outbox``: unique {seq}.

Sharding (scale-out): shard every ``resources_<Type>`` on ``{_id: "hashed"}`` (reads and
writes by id hit one shard, creates spread evenly; searches scatter-gather, as they would
on any key) and ``history`` on ``{type: 1, id: 1}`` (instance history and vread hit one
shard; the unique index starts with the shard key, as MongoDB requires). Keep ``outbox``
and ``counters`` unsharded: they are small, and ``seq`` order is the commit order that
outbox readers rely on.
"""

from __future__ import annotations

from typing import Final

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.database import Database

from fhir_server.storage.mongo.documents import (
    COUNTERS,
    HISTORY,
    OUTBOX,
    SEQ_COUNTER,
    Doc,
    collection_name,
    lock_id,
)

RESOURCE_INDEXES: Final = (
    IndexModel([("ts", ASCENDING), ("_id", ASCENDING)], name="ts_id"),
    IndexModel([("created", ASCENDING), ("_id", ASCENDING)], name="created_id"),
    IndexModel(
        [
            ("_index.token.p", ASCENDING),
            ("_index.token.c", ASCENDING),
            ("_index.token.s", ASCENDING),
        ],
        name="token",
    ),
    IndexModel(
        [
            ("_index.reference.p", ASCENDING),
            ("_index.reference.id", ASCENDING),
            ("_index.reference.type", ASCENDING),
        ],
        name="reference",
    ),
    IndexModel(
        [
            ("_index.date.p", ASCENDING),
            ("_index.date.lo", ASCENDING),
            ("_index.date.hi", ASCENDING),
        ],
        name="date",
    ),
    IndexModel([("_index.string.p", ASCENDING), ("_index.string.n", ASCENDING)], name="string"),
    IndexModel([("_index.number.p", ASCENDING), ("_index.number.v", ASCENDING)], name="number"),
    IndexModel(
        [("_index.quantity.p", ASCENDING), ("_index.quantity.v", ASCENDING)], name="quantity"
    ),
    IndexModel([("_index.uri.p", ASCENDING), ("_index.uri.v", ASCENDING)], name="uri"),
)

HISTORY_INDEXES: Final = (
    IndexModel(
        [("type", ASCENDING), ("id", ASCENDING), ("version_id", ASCENDING)],
        name="type_id_version",
        unique=True,
    ),
    IndexModel([("type", ASCENDING), ("seq", DESCENDING)], name="type_seq"),
    IndexModel([("seq", DESCENDING)], name="seq"),
)

OUTBOX_INDEXES: Final = (IndexModel([("seq", ASCENDING)], name="seq", unique=True),)


def ensure_indexes(db: Database[Doc]) -> None:
    """Create the shared collections, their indexes and the sequence counter, if missing."""
    db[HISTORY].create_indexes(list(HISTORY_INDEXES))
    db[OUTBOX].create_indexes(list(OUTBOX_INDEXES))
    db[COUNTERS].update_one({"_id": SEQ_COUNTER}, {"$setOnInsert": {"value": 0}}, upsert=True)


def ensure_resource_indexes(db: Database[Doc], resource_type: str) -> None:
    """Create ``resources_<resource_type>``, its indexes and its lock document, if missing."""
    db[collection_name(resource_type)].create_indexes(list(RESOURCE_INDEXES))
    lock = {"_id": lock_id(resource_type)}
    db[COUNTERS].update_one(lock, {"$setOnInsert": {"n": 0}}, upsert=True)
