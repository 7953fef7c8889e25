"""History on MongoDB: instance, type and system level. https://hl7.org/fhir/R4/http.html#history

Every version is one ``history`` document with a global ``seq`` allocated in the writing
transaction, so newest first is ``seq`` descending at every level. ``since`` and ``until``
bound ``ts``. ``at`` keeps, per resource, the latest version with ``ts <= min(at, until)``:
a ``$group`` keeps the highest ``seq`` per resource (only the number, so the stage stays
far below the server's 100 MB per-stage memory limit whatever the size of the bodies), and
the page's versions are then fetched by ``seq``. ``since`` may filter before the grouping
because the latest version in ``[since, at]`` exists exactly when the version current at
``at`` is in that range.
"""

from __future__ import annotations

from typing import Any, Final

from pymongo import DESCENDING
from pymongo.client_session import ClientSession
from pymongo.database import Database

from fhir_server.core.ports import HistoryQuery, Page, StoredVersion
from fhir_server.model.instant import to_micros
from fhir_server.storage.mongo.documents import HISTORY, VERSION_FIELDS, Doc, stored_version

_PROJECTION: Final[Doc] = {**VERSION_FIELDS, "type": 1, "id": 1, "_id": 0}


def run_history(db: Database[Doc], session: ClientSession | None, query: HistoryQuery) -> Page:
    """Versions matching ``query``, newest first, one page, with the total count."""
    if query.at is None:
        return _versions(db, session, query)
    return _current_at(db, session, query)


def _filter(query: HistoryQuery) -> Doc:
    found: Doc = {}
    if query.resource_type is not None:
        found["type"] = query.resource_type
    if query.id is not None:
        found["id"] = query.id
    bounds: Doc = {}
    if query.since is not None:
        bounds["$gte"] = to_micros(query.since)
    uppers = [to_micros(t) for t in (query.at, query.until) if t is not None]
    if uppers:
        bounds["$lte"] = min(uppers)
    if bounds:
        found["ts"] = bounds
    return found


def _versions(db: Database[Doc], session: ClientSession | None, query: HistoryQuery) -> Page:
    history = db[HISTORY]
    found = _filter(query)
    total = history.count_documents(found, session=session)
    if query.count <= 0:
        return Page([], total)
    cursor = (
        history.find(found, _PROJECTION, session=session)
        .sort("seq", DESCENDING)
        .skip(query.offset)
        .limit(query.count)
    )
    return Page([_version(doc) for doc in cursor], total)


def _current_at(db: Database[Doc], session: ClientSession | None, query: HistoryQuery) -> Page:
    history = db[HISTORY]
    latest: list[Doc] = [
        {"$match": _filter(query)},
        {"$group": {"_id": {"type": "$type", "id": "$id"}, "seq": {"$max": "$seq"}}},
    ]
    counted = list(history.aggregate([*latest, {"$count": "n"}], session=session))
    total = int(counted[0]["n"]) if counted else 0
    if query.count <= 0:
        return Page([], total)
    page = [
        *latest,
        {"$sort": {"seq": DESCENDING}},
        {"$skip": query.offset},
        {"$limit": query.count},
    ]
    seqs = [int(doc["seq"]) for doc in history.aggregate(page, session=session)]
    found = history.find({"seq": {"$in": seqs}}, _PROJECTION, session=session)
    return Page([_version(doc) for doc in found.sort("seq", DESCENDING)], total)


def _version(doc: dict[str, Any]) -> StoredVersion:
    return stored_version(str(doc["type"]), str(doc["id"]), doc)
