"""Re-extract the search index of stored resources (``fhir-server reindex``) in MongoDB.

Each current version's ``_index`` is replaced only if the version is still the one read
(``version_id`` in the filter), so a concurrent update is never overwritten with an older
index.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import orjson
from pymongo.database import Database

from fhir_server.search.index import IndexEntry
from fhir_server.storage.mongo.documents import Doc, collection_name, index_doc

Extract = Callable[[dict[str, Any]], Sequence[IndexEntry]]


def reindex_mongo(db: Database[Doc], extract: Extract, resource_types: Sequence[str]) -> int:
    """Rewrite ``_index`` of every current resource of ``resource_types``; how many."""
    done = 0
    existing = set(db.list_collection_names())
    for resource_type in resource_types:
        name = collection_name(resource_type)
        if name not in existing:
            continue
        collection = db[name]
        for doc in collection.find({"deleted": False}, {"content": 1, "version_id": 1}):
            index = index_doc(extract(orjson.loads(doc["content"])))
            collection.update_one(
                {"_id": doc["_id"], "version_id": doc["version_id"]}, {"$set": {"_index": index}}
            )
            done += 1
    return done
