"""The write path on MongoDB: versions, history, outbox and counters in one transaction.

https://hl7.org/fhir/R4/http.html#concurrency. Inside the caller's transaction, for a batch
of ``VersionWrite``:

1. current versions: creates (``expected_version`` 0) are inserted with ``_id`` = id, so an
   existing id fails with a duplicate key; updates ``$set`` the document whose ``_id`` *and*
   ``version_id`` match (keeping ``created``), so zero matches means someone else wrote
   first. Both are a ``VersionConflict`` and the transaction aborts: nothing is written.
2. ``counters``: ``lock:<Type>`` is upserted/incremented per type written. Two transactions
   that write the same type thus always write the same document, and MongoDB's snapshot
   isolation aborts the later one with a write conflict. That makes a conditional
   create/update (search, then write, in one ``transaction()``) serializable: a concurrent
   unit that created a matching resource after our search made us conflict. The global
   ``seq`` counter below has the same effect today; the lock states the guarantee on
   its own, independent of how sequence numbers are allocated.
3. ``seq``: one ``$inc`` reserves a contiguous block of sequence numbers. Because it is
   written inside the transaction, commit order equals ``seq`` order, so an outbox reader
   that has seen ``seq`` n never later finds an event below n.
4. history and outbox documents (``insert_many``).

Every transaction runs with read concern "snapshot", write concern majority with journal,
and a primary read preference: nothing is acknowledged before it is durable.

Any error inside a transaction makes MongoDB abort it (a write conflict, and a duplicate key
too). A plain ``write`` is one ``with_transaction`` call, which starts the whole callback
again, with backoff, while the error carries the ``TransientTransactionError`` label (a
write conflict with a concurrent writer, a failover), and retries a commit whose outcome
is unknown. Both are bounded by ``WRITE_TIMEOUT_SECONDS`` (PyMongo's own bound is 120 s):
under that client-side operation timeout each command also carries ``maxTimeMS``, so a
commit waiting for an unreachable majority ends too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, cast

import pymongo
from pymongo import MongoClient, ReadPreference, ReturnDocument
from pymongo.client_session import ClientSession
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import PyMongoError
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from fhir_server.core.ports import VersionWrite
from fhir_server.errors import PayloadTooLarge, VersionConflict
from fhir_server.storage.mongo.documents import (
    COUNTERS,
    HISTORY,
    OUTBOX,
    SEQ_COUNTER,
    Doc,
    collection_name,
    created_doc,
    current_fields,
    history_doc,
    lock_id,
    outbox_doc,
)

TRANSACTION_OPTIONS: Final[dict[str, Any]] = {
    "read_concern": ReadConcern("snapshot"),
    "write_concern": WriteConcern("majority", j=True),
    "read_preference": ReadPreference.PRIMARY,
}
"""Options of every transaction: snapshot reads, durable (majority, journaled) commits."""

MAX_DOCUMENT_BYTES: Final = 16 * 1024 * 1024
"""MongoDB's BSON document limit: a body this large cannot fit with its index and fields."""

WRITE_TIMEOUT_SECONDS: Final = 30.0
"""Longest a write (with its retries) or a unit's commit may take; SQLite's busy timeout."""

_COMMIT_ATTEMPTS: Final = 3


def run_transaction(
    client: MongoClient[Doc], db: Database[Doc], writes: Sequence[VersionWrite]
) -> None:
    """Store ``writes`` in ``db`` in a transaction of their own, retried while transient."""
    with pymongo.timeout(WRITE_TIMEOUT_SECONDS), client.start_session() as session:
        session.with_transaction(
            lambda s: apply_writes(db, s, writes, check_first=False),
            **TRANSACTION_OPTIONS,
        )


def apply_writes(
    db: Database[Doc],
    session: ClientSession,
    writes: Sequence[VersionWrite],
    *,
    check_first: bool,
) -> None:
    """Write ``writes`` inside the transaction of ``session`` (see the module docstring).

    Args:
        db: the database.
        session: a session with a transaction in progress.
        writes: the versions to store.
        check_first: verify every ``expected_version`` before writing anything. Needed when
            the caller owns the transaction and may go on after a ``VersionConflict``;
            a transaction that aborts on any error can skip the extra read.

    Raises:
        VersionConflict: a write's ``expected_version`` is not the current version.
        PayloadTooLarge: a body alone reaches the BSON document limit (a document just over
            it is refused by the driver or the server, and translated the same way).
    """
    for write in writes:
        if write.content is not None and len(write.content) >= MAX_DOCUMENT_BYTES:
            raise PayloadTooLarge(
                f"{write.resource_type}/{write.id} exceeds MongoDB's 16 MB document limit"
            )
    by_type: dict[str, list[VersionWrite]] = {}
    for write in writes:
        by_type.setdefault(write.resource_type, []).append(write)
    if check_first:
        for resource_type, group in by_type.items():
            _check_versions(db[collection_name(resource_type)], session, group)
    for resource_type, group in by_type.items():
        _write_current(db[collection_name(resource_type)], session, group)
    first = _reserve(db[COUNTERS], session, list(by_type), len(writes))
    db[HISTORY].insert_many(
        [history_doc(w, first + i) for i, w in enumerate(writes)], session=session
    )
    db[OUTBOX].insert_many(
        [outbox_doc(w, first + i) for i, w in enumerate(writes)], session=session
    )


def _reserve(
    counters: Collection[Doc], session: ClientSession, resource_types: list[str], count: int
) -> int:
    """Touch the types' locks and reserve ``count`` sequence numbers; the first one."""
    for resource_type in resource_types:
        lock = {"_id": lock_id(resource_type)}
        counters.update_one(lock, {"$inc": {"n": 1}}, upsert=True, session=session)
    reserved = counters.find_one_and_update(
        {"_id": SEQ_COUNTER},
        {"$inc": {"value": count}},
        upsert=True,
        return_document=ReturnDocument.AFTER,
        session=session,
    )
    # An upsert returning the document after the update always returns one.
    return int(cast(Doc, reserved)["value"]) - count + 1


def commit(session: ClientSession) -> None:
    """Commit, retrying while the outcome is unknown (the commit itself is idempotent).

    A timed-out commit is not retried: waiting again for the same majority would not help.
    """
    with pymongo.timeout(WRITE_TIMEOUT_SECONDS):
        for attempt in range(1, _COMMIT_ATTEMPTS + 1):
            try:
                session.commit_transaction()
                return
            except PyMongoError as exc:
                unknown = exc.has_error_label("UnknownTransactionCommitResult")
                if attempt == _COMMIT_ATTEMPTS or exc.timeout or not unknown:
                    raise


def _check_versions(
    collection: Collection[Doc], session: ClientSession, writes: list[VersionWrite]
) -> None:
    ids = list({w.id for w in writes})
    cursor = collection.find({"_id": {"$in": ids}}, {"version_id": 1}, session=session)
    current = {doc["_id"]: int(doc["version_id"]) for doc in cursor}
    for write in writes:
        found = current.get(write.id, 0)
        if found != write.expected_version:
            raise _conflict(write, found)
        current[write.id] = write.version_id


def _write_current(
    collection: Collection[Doc], session: ClientSession, writes: list[VersionWrite]
) -> None:
    creates = [created_doc(w) for w in writes if w.expected_version == 0]
    if creates:
        collection.insert_many(creates, session=session)
    for write in writes:
        if write.expected_version == 0:
            continue
        expected = {"_id": write.id, "version_id": write.expected_version}
        update = {"$set": current_fields(write)}
        result = collection.update_one(expected, update, session=session)
        if result.matched_count == 0:
            raise _conflict(write, None)


def _conflict(write: VersionWrite, found: int | None) -> VersionConflict:
    now = "a different version" if found is None else f"version {found}"
    return VersionConflict(
        f"{write.resource_type}/{write.id}: expected version {write.expected_version}, found {now}",
        code="version-conflict",
    )
