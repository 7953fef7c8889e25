"""Custom SearchParameters, ``reindex`` and disabled parameters, on every backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest
from pymongo import MongoClient

from fhir_server.core.resources import ResourceService
from fhir_server.errors import Unprocessable, UnsupportedParameter
from fhir_server.reindex import reindex
from fhir_server.search.engine import RegistrySearchEngine
from fhir_server.search.index import TokenEntry
from fhir_server.storage.mongo.reindex import reindex_mongo
from fhir_server.storage.mongo.store import MongoResourceStore
from fhir_server.storage.sqlite.store import SqliteResourceStore
from tests.factories import make_settings, observation, patient
from tests.support.mongo_standin import StandinClient

EYE = "http://example.org/fhir/StructureDefinition/eye-colour"
EYE_PARAM: dict[str, Any] = {
    "resourceType": "SearchParameter",
    "url": "http://example.org/fhir/SearchParameter/patient-eye-colour",
    "name": "eye-colour",
    "status": "active",
    "description": "Eye colour of a patient",
    "code": "eye-colour",
    "base": ["Patient"],
    "type": "token",
    "expression": f"Patient.extension.where(url='{EYE}').value",
}


def eyed(colour: str, id: str) -> dict[str, Any]:
    return {**patient(id), "id": id, "extension": [{"url": EYE, "valueCode": colour}]}


def found(service: ResourceService, resource_type: str, query: str) -> set[str]:
    name, _, value = query.partition("=")
    parsed, issues = service.parse([resource_type], [(name, value)], strict=True)
    assert issues == []
    return {v.id for v in service.search(parsed).entries}


def test_a_posted_parameter_applies_to_data_written_afterwards(service: ResourceService) -> None:
    service.update(eyed("blue", "before"), "Patient", "before")
    service.create(EYE_PARAM, "SearchParameter")
    service.update(eyed("blue", "after"), "Patient", "after")
    service.update(eyed("green", "other"), "Patient", "other")
    assert found(service, "Patient", "eye-colour=blue") == {"after"}
    assert found(service, "Patient", "eye-colour:missing=true") == {"before"}


def test_an_unusable_active_parameter_is_refused(service: ResourceService) -> None:
    broken = {k: v for k, v in EYE_PARAM.items() if k != "expression"} | {"code": "broken"}
    with pytest.raises(Unprocessable):
        service.create(broken, "SearchParameter")
    draft = {**broken, "status": "draft"}
    service.create(draft, "SearchParameter")  # not in force: stored, not registered
    with pytest.raises(UnsupportedParameter):
        service.parse(["Patient"], [("broken", "x")], strict=True)


def test_reindex_sqlite_applies_a_parameter_to_earlier_data(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    store = SqliteResourceStore(tmp_path / "fhir.db")
    service = ResourceService(store, RegistrySearchEngine.default(100, 20))
    service.update(eyed("blue", "before"), "Patient", "before")
    service.update({**observation(), "id": "obs"}, "Observation", "obs")
    service.create(EYE_PARAM, "SearchParameter")
    assert found(service, "Patient", "eye-colour=blue") == set()
    assert reindex(settings, "Patient") == 1
    assert found(service, "Patient", "eye-colour=blue") == {"before"}
    assert reindex(settings, None) == 3
    assert found(service, "Observation", "code=8867-4") == {"obs"}
    store.close()


def test_reindex_mongo_applies_a_parameter_to_earlier_data() -> None:
    client = cast("MongoClient[dict[str, Any]]", StandinClient(replica_set=True))
    store = MongoResourceStore(client, "fhir")
    store.prepare()
    service = ResourceService(store, RegistrySearchEngine.default(100, 20))
    service.update(eyed("blue", "before"), "Patient", "before")
    service.create(EYE_PARAM, "SearchParameter")
    assert found(service, "Patient", "eye-colour=blue") == set()
    assert reindex_mongo(client.get_database("fhir"), service.engine.extract, ["Patient"]) == 1
    assert found(service, "Patient", "eye-colour=blue") == {"before"}


def test_disabled_parameters_are_neither_indexed_nor_searchable() -> None:
    disabled = ["Observation.status", "Observation.combo-code", "_text"]
    engine = RegistrySearchEngine.default(100, 20, disabled)
    entries = engine.extract({**observation(), "id": "o"})
    assert not [e for e in entries if e.param == "status"]
    assert [e for e in entries if isinstance(e, TokenEntry) and e.param == "code"]
    names = {p["name"] for p in engine.capability_params("Observation")}
    assert not {"status", "combo-code", "_text"} & names
    assert "code" in names
    for code in ("status", "combo-code"):
        with pytest.raises(UnsupportedParameter):
            engine.parse(["Observation"], [(code, "8867-4")], strict=True)
    full = RegistrySearchEngine.default(100, 20)
    assert len(full.extract({**observation(), "id": "o"})) > len(entries)
