"""A JSON-file adapter of ``AuthStore`` for clients, users, signing keys and refresh tokens.

Why a file and not the FHIR database: the auth package may not import a database driver
(import-linter contract), and this data is small and written rarely (a registration, a key
rotation, a token refresh). Every mutation rewrites the whole file to a temporary file in
the same directory, fsyncs it and moves it over the old one with ``os.replace``, so a crash
leaves either the old or the new file, never a torn one. The file holds private signing keys
and password hashes: ``mkstemp`` creates it with mode 0600. One process owns the file.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from fhir_server.auth.memory_store import MemoryAuthStore
from fhir_server.auth.ports import Document


class FileAuthStore(MemoryAuthStore):
    """``AuthStore`` kept in memory and written through to one JSON file."""

    def __init__(self, path: Path) -> None:
        """Open (or start) the store at ``path``."""
        self._path = path
        super().__init__(_load(path))

    def _changed(self) -> None:
        _write_atomically(self._path, self._snapshot())


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
