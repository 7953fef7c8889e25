"""A JSON-file adapter of ``AuthStore`` for clients, users, signing keys and refresh tokens.

Why a file and not the FHIR database: the auth package may not import a database driver
(import-linter contract), and this data is small and written rarely (a registration, a key
rotation, a token refresh). Every mutation rewrites the whole file to a temporary file in
the same directory, fsyncs it and moves it over the old one with ``os.replace``, so a crash
leaves either the old or the new file, never a torn one. The file holds private signing keys
and password hashes: ``mkstemp`` creates it with mode 0600.

The server and the ``fhir-server auth`` commands share the file: a mutation holds an
exclusive ``flock`` on a sibling ``.lock`` file and first reloads the file if another process
replaced it; reads reload a replaced file too (one ``stat`` per read), so a client or user
registered from the command line is seen by a running server at once.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fhir_server.auth.memory_store import MemoryAuthStore
from fhir_server.auth.ports import Document


class FileAuthStore(MemoryAuthStore):
    """``AuthStore`` kept in memory and written through to one JSON file."""

    def __init__(self, path: Path) -> None:
        """Open (or start) the store at ``path``."""
        self._path = path
        self._seen = _identity(path)
        super().__init__(_load(path))

    def get(self, collection: str, key: str) -> Document | None:
        """The document, or None when absent."""
        self._reload()
        return super().get(collection, key)

    def put(self, collection: str, key: str, document: Document) -> None:
        """Insert or replace a document (under the cross-process lock)."""
        with _locked(self._path):
            self._reload()
            super().put(collection, key, document)

    def pop(self, collection: str, key: str) -> Document | None:
        """Remove and return a document atomically (under the cross-process lock)."""
        with _locked(self._path):
            self._reload()
            return super().pop(collection, key)

    def items(self, collection: str) -> Iterator[tuple[str, Document]]:
        """A snapshot of every (key, document) of a collection."""
        self._reload()
        return super().items(collection)

    def _reload(self) -> None:
        identity = _identity(self._path)
        if identity == self._seen:
            return
        data = _load(self._path)
        with self._lock:
            self._data, self._seen = data, identity

    def _changed(self) -> None:
        _write_atomically(self._path, self._snapshot())
        self._seen = _identity(self._path)


def _identity(path: Path) -> tuple[int, int, int] | None:
    """What changes whenever the file is replaced (inode, mtime, size); None if absent."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(f"{path.name}.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _load(path: Path) -> dict[str, dict[str, Document]]:
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path} does not hold a JSON object")
    return data


def _write_atomically(path: Path, data: dict[str, dict[str, Document]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, separators=(",", ":"), sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
