"""PyMongo exceptions translated to ``fhir_server.errors`` at the adapter boundary.

Nothing from ``pymongo.errors`` or ``bson.errors`` crosses the storage port. The mapping,
first match wins::

    DuplicateKeyError, BulkWriteError (E11000)  -> VersionConflict (the id or version exists)
    DocumentTooLarge (client-side check),
      BSONObjectTooLarge 10334, 17419, 17420    -> PayloadTooLarge (16 MB BSON limit)
    OperationFailure WriteConflict (112)        -> VersionConflict (a concurrent unit won)
    "replica set" / IllegalOperation (20)       -> StorageUnavailable (no replica set)
    label UnknownTransactionCommitResult        -> StorageUnavailable (commit outcome unknown)
    label TransientTransactionError             -> StorageUnavailable (aborted; retry)
    ServerSelectionTimeout, AutoReconnect,
      NotPrimary (ConnectionFailure, no timeout) -> StorageUnavailable (unreachable)
    other timeouts (NetworkTimeout, ExecutionTimeout, WTimeout)
                                                -> StorageUnavailable (no answer in time)
    WriteConcernError                           -> StorageUnavailable (not durable in time)
    ConfigurationError "wire version"           -> StorageUnavailable (server older than 4.4)
    any other PyMongoError or BSONError         -> ServerFault

``DocumentTooLarge`` is a ``bson.errors.InvalidDocument``, not a ``PyMongoError``, so the
boundary catches both families. ``with_transaction`` gives up on a transient error with a
timeout error that carries the original labels, hence labels before exception classes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from bson.errors import BSONError
from pymongo.errors import (
    BulkWriteError,
    ConfigurationError,
    ConnectionFailure,
    DocumentTooLarge,
    DuplicateKeyError,
    OperationFailure,
    PyMongoError,
    ServerSelectionTimeoutError,
    WriteConcernError,
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

_DUPLICATE_KEY: Final = 11000
_ILLEGAL_OPERATION: Final = 20
_WRITE_CONFLICT: Final = 112
_TOO_LARGE: Final = frozenset({10334, 17419, 17420})
"""BSONObjectTooLarge and the "Resulting document after update is larger than" codes."""


@contextmanager
def translated() -> Iterator[None]:
    """Run a block of PyMongo calls, re-raising its driver errors as ``FhirError``.

    Raises:
        VersionConflict: a duplicate id/version or a write conflict with a concurrent unit.
        StorageUnavailable: MongoDB is unreachable, not a replica set, too slow, or aborted
            the transaction for a transient reason.
        PayloadTooLarge: a document exceeds the BSON size limit.
        ServerFault: any other driver error.
    """
    try:
        yield
    except (PyMongoError, BSONError) as exc:
        raise translate(exc) from exc


def translate(exc: PyMongoError | BSONError) -> FhirError:
    """The ``FhirError`` that stands for a PyMongo or BSON error."""
    if isinstance(exc, DuplicateKeyError) or _write_error_codes(exc) & {_DUPLICATE_KEY}:
        return VersionConflict(
            "the resource id or version already exists (changed concurrently)",
            code="version-conflict",
        )
    if isinstance(exc, DocumentTooLarge) or _codes(exc) & _TOO_LARGE:
        return PayloadTooLarge("the resource exceeds MongoDB's 16 MB document limit")
    if not isinstance(exc, PyMongoError):
        return ServerFault(f"MongoDB document error ({type(exc).__name__})", code="mongo-error")
    if isinstance(exc, OperationFailure) and exc.code == _WRITE_CONFLICT:
        return VersionConflict(
            "a concurrent transaction changed the same resources; retry", code="write-conflict"
        )
    unavailable = _unavailable(exc)
    if unavailable is not None:
        return unavailable
    if isinstance(exc, OperationFailure):
        return ServerFault(f"MongoDB operation failed (code {exc.code})", code="mongo-error")
    return ServerFault(f"MongoDB driver error ({type(exc).__name__})", code="mongo-error")


def _unavailable(exc: PyMongoError) -> StorageUnavailable | None:
    """The 503 for an error that says MongoDB cannot do it now, or None."""
    if _no_replica_set(exc):
        return StorageUnavailable(REPLICA_SET_MESSAGE, code="mongo-no-replica-set")
    if exc.has_error_label("UnknownTransactionCommitResult"):
        return StorageUnavailable(
            "MongoDB did not confirm the commit; the change may or may not have been stored",
            code="mongo-commit-unknown",
        )
    if exc.has_error_label("TransientTransactionError"):
        return StorageUnavailable(
            "MongoDB aborted the transaction (concurrent writes or failover); retry",
            code="mongo-transient",
        )
    if isinstance(exc, ServerSelectionTimeoutError) or (
        isinstance(exc, ConnectionFailure) and not exc.timeout
    ):
        return StorageUnavailable("MongoDB is unreachable", code="mongo-unreachable")
    if exc.timeout:
        return StorageUnavailable("MongoDB did not answer in time", code="mongo-timeout")
    if isinstance(exc, WriteConcernError):
        return StorageUnavailable(
            "MongoDB could not make the write durable in time", code="mongo-write-concern"
        )
    if isinstance(exc, ConfigurationError) and "wire version" in str(exc):
        return StorageUnavailable(
            "the MongoDB server is too old for the driver (4.4 or newer needed)",
            code="mongo-too-old",
        )
    return None


def _codes(exc: PyMongoError | BSONError) -> set[int]:
    """The error code of ``exc`` and of each of its write errors."""
    codes = _write_error_codes(exc)
    if isinstance(exc, OperationFailure) and exc.code is not None:
        codes.add(exc.code)
    return codes


def _write_error_codes(exc: PyMongoError | BSONError) -> set[int]:
    if not isinstance(exc, BulkWriteError):
        return set()
    return {int(e.get("code", 0)) for e in exc.details.get("writeErrors", [])}


def _no_replica_set(exc: PyMongoError) -> bool:
    if not isinstance(exc, OperationFailure):
        return False
    text = str(exc)
    return "replica set" in text or (exc.code == _ILLEGAL_OPERATION and "ransaction" in text)
