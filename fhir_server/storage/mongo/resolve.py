"""Chained search and ``_has`` on MongoDB: the inner query runs first, yielding ids.

https://hl7.org/fhir/R4/search.html#chaining and #has. MongoDB has no join that a filter
document can express, so ``subject:Patient.name=x`` runs ``name=x`` on ``resources_Patient``
and then matches ``subject`` references against those ids (``$in``); ``_has`` runs the
inner query on the referring type and collects the ids its references point at. An inner
query that finds more than ``LIMIT`` resources is refused as too costly rather than sent
to the server as a huge ``$in``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Final

from pymongo.client_session import ClientSession
from pymongo.database import Database

from fhir_server.errors import TooCostly
from fhir_server.search.ir import Term
from fhir_server.storage.mongo.compile import compile_term
from fhir_server.storage.mongo.documents import Doc, collection_name
from fhir_server.storage.mongo.ranges import all_of

LIMIT: Final = 10_000
"""Most resources an inner query of a chain or ``_has`` may match."""


@dataclass(frozen=True, slots=True)
class CollectionResolver:
    """Resolves inner queries for a search on ``resource_type``.

    Attributes:
        db: the database.
        session: the session of the enclosing transaction, if any.
        resource_type: the type being searched (the target of ``_has`` references).
    """

    db: Database[Doc]
    session: ClientSession | None
    resource_type: str

    def referenced_ids(self, target_type: str, where: Term) -> list[str]:
        """Ids of current ``target_type`` resources matching ``where``."""
        inner = replace(self, resource_type=target_type)
        query = all_of({"deleted": False}, compile_term(where, inner))
        docs = self._find(target_type, query, {"_id": 1})
        return [str(doc["_id"]) for doc in docs]

    def referring_ids(self, source_type: str, param: str, where: Term) -> list[str]:
        """Ids of searched-type resources that a ``source_type`` match refers to via ``param``."""
        inner = replace(self, resource_type=source_type)
        refers = {"_index.reference": {"$elemMatch": {"p": param, "type": self.resource_type}}}
        query = all_of({"deleted": False}, refers, compile_term(where, inner))
        docs = self._find(source_type, query, {"_index.reference": 1})
        ids = {
            str(ref["id"])
            for doc in docs
            for ref in doc["_index"]["reference"]
            if ref["p"] == param and ref["type"] == self.resource_type
        }
        return sorted(ids)

    def _find(self, resource_type: str, query: Doc, projection: Doc) -> list[dict[str, Any]]:
        collection = self.db[collection_name(resource_type)]
        cursor = collection.find(query, projection, session=self.session, limit=LIMIT + 1)
        docs = list(cursor)
        if len(docs) > LIMIT:
            raise TooCostly(
                f"a chained or _has search matches more than {LIMIT} {resource_type} resources;"
                " narrow it",
                code="chain-too-broad",
            )
        return docs
