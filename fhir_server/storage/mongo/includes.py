"""``_include`` and ``_revinclude`` on MongoDB. https://hl7.org/fhir/R4/search.html#include

The twin of the SQLite ``includes`` module, with the same limits: ``:iterate`` directives
run for at most ``MAX_ITERATIONS`` rounds, at most ``MAX_INCLUDED`` resources come back,
never a match itself and never a deleted resource. Forward includes read the references of
the page's resources from ``_index.reference`` and fetch their targets by id; reverse
includes find the source type's resources whose references point at the page.
"""

from __future__ import annotations

from typing import Any, Final

from pymongo.client_session import ClientSession
from pymongo.database import Database

from fhir_server.core.ports import StoredVersion
from fhir_server.search.ir import Include, Query
from fhir_server.storage.mongo.documents import (
    VERSION_FIELDS,
    Doc,
    collection_name,
    is_type_name,
    stored_version,
)

MAX_INCLUDED: Final = 1000
MAX_ITERATIONS: Final = 4

Key = tuple[str, str]


def fetch_includes(
    db: Database[Doc], session: ClientSession | None, query: Query, matches: list[StoredVersion]
) -> list[StoredVersion]:
    """Resources included by the query's directives, excluding the matches themselves."""
    if not query.includes or not matches:
        return []
    seen = {(m.resource_type, m.id) for m in matches}
    included: list[StoredVersion] = []
    frontier = list(seen)
    for iteration in range(MAX_ITERATIONS):
        found: list[Key] = []
        for include in query.includes:
            if iteration > 0 and not include.iterate:
                continue
            follow = _reverse if include.reverse else _forward
            for version in follow(db, session, include, frontier):
                key = (version.resource_type, version.id)
                if key not in seen and len(included) < MAX_INCLUDED:
                    seen.add(key)
                    included.append(version)
                    found.append(key)
        if not found:
            break
        frontier = found
    return included


def _forward(
    db: Database[Doc], session: ClientSession | None, include: Include, frontier: list[Key]
) -> list[StoredVersion]:
    sources: dict[str, list[str]] = {}
    for source_type, id in frontier:
        if include.source_type in ("*", source_type):
            sources.setdefault(source_type, []).append(id)
    targets: dict[str, set[str]] = {}
    for source_type, ids in sources.items():
        query = {"_id": {"$in": ids}, "deleted": False}
        cursor = db[collection_name(source_type)].find(
            query, {"_index.reference": 1}, session=session
        )
        for doc in cursor:
            for ref in doc.get("_index", {}).get("reference", []):
                if _followed(ref, include):
                    targets.setdefault(ref["type"], set()).add(ref["id"])
    found: list[StoredVersion] = []
    for target_type, wanted in targets.items():
        found.extend(_current(db, session, target_type, {"_id": {"$in": sorted(wanted)}}))
    return found


def _followed(ref: dict[str, Any], include: Include) -> bool:
    if include.param != "*" and ref["p"] != include.param:
        return False
    if include.target_type is not None and ref["type"] != include.target_type:
        return False
    return bool(ref["id"]) and is_type_name(ref["type"])


def _reverse(
    db: Database[Doc], session: ClientSession | None, include: Include, frontier: list[Key]
) -> list[StoredVersion]:
    targets: dict[str, list[str]] = {}
    for target_type, id in frontier:
        if include.target_type is None or target_type == include.target_type:
            targets.setdefault(target_type, []).append(id)
    if not targets:
        return []
    refers: Doc = {"$or": [{"type": t, "id": {"$in": ids}} for t, ids in targets.items()]}
    if include.param != "*":
        refers["p"] = include.param
    query = {"_index.reference": {"$elemMatch": refers}}
    return _current(db, session, include.source_type, query)


def _current(
    db: Database[Doc], session: ClientSession | None, resource_type: str, query: Doc
) -> list[StoredVersion]:
    cursor = db[collection_name(resource_type)].find(
        {**query, "deleted": False}, VERSION_FIELDS, session=session, limit=MAX_INCLUDED
    )
    return [stored_version(resource_type, str(doc["_id"]), doc) for doc in cursor]
