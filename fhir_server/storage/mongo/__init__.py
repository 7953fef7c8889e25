"""MongoDB storage adapter (production and scale-out). See ``store`` and ADR 0002.

Transactions need a replica set or a sharded cluster; shard keys are documented in
``indexes``.
"""

from __future__ import annotations

from fhir_server.storage.mongo.store import MongoResourceStore

__all__ = ["MongoResourceStore"]
