"""PyMongo exceptions translated to ``fhir_server.errors`` at the adapter boundary.

Nothing from ``pymongo.errors`` crosses the storage port. The mapping::

    DuplicateKeyError, BulkWriteError (E11000)  -> VersionConflict (the id or version exists)
    OperationFailure WriteConflict (112)        -> VersionConflict (a concurrent unit won)
    OperationFailure IllegalOperation (20)      -> StorageUnavailable (no replica set)
    WTimeoutError, WriteConcernError            -> StorageUnavailable (not durable in time)
    other TransientTransactionError             -> StorageUnavailable (retry later)
    ConnectionFailure (ServerSelectionTimeout,
      AutoReconnect, NotPrimary, NetworkTimeout) -> StorageUnavailable (unreachable)
    DocumentTooLarge                            -> PayloadTooLarge (16 MB BSON limit)
    any other PyMongoError                      -> ServerFault
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pymongo.errors import (
    BulkWriteError,
    ConnectionFailure,
    DocumentTooLarge,
    DuplicateKeyError,
    OperationFailure,
    PyMongoError,
    WriteConcernError,
    WTimeoutError,
)

from fhir_server.errors import (
    FhirError,
    PayloadTooLarge,
    ServerFault,
    StorageUnavailable,
    VersionConflict,
)

REPLICA_SET_MESSAGE = (
    "MongoDB transactions need a replica set (or sharded cluster); start mongod with --replSet"
)
"""Raised (as StorageUnavailable) whenever the server cannot run multi-document transactions."""

_DUPLICATE_KEY = 11000
_ILLEGAL_OPERATION = 20
_WRITE_CONFLICT = 112


@contextmanager
def translated() -> Iterator[None]:
    """Run a block of PyMongo calls, re-raising its driver errors as ``FhirError``.

    Raises:
        VersionConflict: a duplicate id/version or a write conflict with a concurrent unit.
        StorageUnavailable: MongoDB is unreachable, not a replica set, or not durable in time.
        PayloadTooLarge: a document exceeds the BSON size limit.
        ServerFault: any other driver error.
    """
    try:
        yield
    except PyMongoError as exc:
        raise translate(exc) from exc


def translate(exc: PyMongoError) -> FhirError:
    """The ``FhirError`` that stands for a PyMongo error."""
    if isinstance(exc, DuplicateKeyError) or _is_duplicate_bulk(exc):
        return VersionConflict(
            "the resource id or version already exists (changed concurrently)",
            code="version-conflict",
        )
    if isinstance(exc, ConnectionFailure):
        return StorageUnavailable("MongoDB is unreachable", code="mongo-unreachable")
    if isinstance(exc, DocumentTooLarge):
        return PayloadTooLarge("the resource exceeds MongoDB's 16 MB document limit")
    if isinstance(exc, WTimeoutError | WriteConcernError):
        return StorageUnavailable(
            "MongoDB could not make the write durable in time", code="mongo-write-concern"
        )
    if isinstance(exc, OperationFailure):
        return _operation_failure(exc)
    return ServerFault(f"MongoDB driver error ({type(exc).__name__})", code="mongo-error")


def _is_duplicate_bulk(exc: PyMongoError) -> bool:
    if not isinstance(exc, BulkWriteError):
        return False
    errors = exc.details.get("writeErrors", [])
    return any(e.get("code") == _DUPLICATE_KEY for e in errors)


def _operation_failure(exc: OperationFailure) -> FhirError:
    text = str(exc)
    if "replica set" in text or (exc.code == _ILLEGAL_OPERATION and "ransaction" in text):
        return StorageUnavailable(REPLICA_SET_MESSAGE, code="mongo-no-replica-set")
    if exc.code == _WRITE_CONFLICT:
        return VersionConflict(
            "a concurrent transaction changed the same resources; retry", code="write-conflict"
        )
    if exc.has_error_label("TransientTransactionError"):
        return StorageUnavailable(
            "MongoDB aborted the transaction (transient); retry", code="mongo-transient"
        )
    return ServerFault(f"MongoDB operation failed (code {exc.code})", code="mongo-error")
