"""Search execution: one aggregation per resource type, merged when ``_type`` names several.

https://hl7.org/fhir/R4/search.html. A single type pages on the server (``$skip``/
``$limit``). Several types (one collection each) fetch the first ``offset + count`` of
every collection in the same order and merge them here; that costs the offset per
collection, which the ``_count``/paging limits bound, and works the same on a sharded
cluster. ``_include``/``_revinclude`` follow in ``includes``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cmp_to_key, partial
from typing import Any

from bson import json_util
from pymongo.client_session import ClientSession
from pymongo.database import Database

from fhir_server.core.ports import Page, StoredVersion
from fhir_server.search.ir import Query
from fhir_server.storage.mongo.compile import compile_query
from fhir_server.storage.mongo.documents import (
    VERSION_FIELDS,
    Doc,
    collection_name,
    stored_version,
)
from fhir_server.storage.mongo.includes import fetch_includes
from fhir_server.storage.mongo.resolve import CollectionResolver
from fhir_server.storage.mongo.sorting import SortPlan, compare, sort_plan


@dataclass(frozen=True, slots=True)
class _Plan:
    resource_type: str
    filter: Doc
    pipeline: list[Doc]


def run_search(db: Database[Doc], session: ClientSession | None, query: Query) -> Page:
    """One page of current, non-deleted resources matching ``query``, with its total."""
    sort = sort_plan(query.sort)
    plans = _plans(db, session, query, sort)
    rows: list[tuple[str, Doc]] = []
    if query.count > 0:
        for plan in plans:
            cursor = db[collection_name(plan.resource_type)].aggregate(
                plan.pipeline, session=session
            )
            rows.extend((plan.resource_type, doc) for doc in cursor)
    total: int | None = None
    if query.total != "none":
        complete = query.offset == 0 and len(rows) < query.count
        total = len(rows) if complete else _total(db, session, plans)
    if len(plans) > 1:
        rows.sort(key=cmp_to_key(partial(_compare_rows, plan=sort)))
        rows = rows[query.offset : query.offset + query.count]
    entries = [_version(t, doc) for t, doc in rows]
    return Page(entries, total, fetch_includes(db, session, query, entries))


def explain_search(db: Database[Doc], session: ClientSession | None, query: Query) -> str:
    """The aggregation pipeline sent to each collection, as extended JSON."""
    plans = _plans(db, session, query, sort_plan(query.sort))
    explained = {collection_name(p.resource_type): p.pipeline for p in plans}
    return json_util.dumps(explained, indent=2)


def _plans(
    db: Database[Doc], session: ClientSession | None, query: Query, sort: SortPlan
) -> list[_Plan]:
    single = len(query.resource_types) == 1
    skip = query.offset if single else 0
    limit = query.count if single else query.offset + query.count
    plans = []
    for resource_type in query.resource_types:
        resolver = CollectionResolver(db, session, resource_type)
        where = compile_query(query, resolver)
        pipeline = [{"$match": where}, *sort.stages, {"$sort": dict(sort.order)}]
        if skip:
            pipeline.append({"$skip": skip})
        if limit > 0:
            pipeline.append({"$limit": limit})
        pipeline.append({"$project": {**VERSION_FIELDS, **dict.fromkeys(sort.fields(), 1)}})
        plans.append(_Plan(resource_type, where, pipeline))
    return plans


def _total(db: Database[Doc], session: ClientSession | None, plans: list[_Plan]) -> int:
    return sum(
        db[collection_name(p.resource_type)].count_documents(p.filter, session=session)
        for p in plans
    )


def _compare_rows(left: tuple[str, Doc], right: tuple[str, Doc], plan: SortPlan) -> int:
    return compare(left[1], right[1], plan)


def _version(resource_type: str, doc: dict[str, Any]) -> StoredVersion:
    return stored_version(resource_type, str(doc["_id"]), doc)
