"""History at instance, type and system level, on every backend."""

from __future__ import annotations

import time

from fhir_server.core.ports import HistoryQuery
from fhir_server.core.resources import ResourceService
from fhir_server.model.instant import now
from tests.factories import observation, patient


def test_instance_history_is_newest_first_with_deletes(service: ResourceService) -> None:
    created = service.create(patient(), "Patient").version
    service.update({**patient(family="B"), "id": created.id}, "Patient", created.id)
    service.delete("Patient", created.id)
    page = service.history(HistoryQuery("Patient", created.id))
    assert [(v.version_id, v.method, v.deleted) for v in page.entries] == [
        (3, "DELETE", True),
        (2, "PUT", False),
        (1, "POST", False),
    ]
    assert page.total == 3


def test_type_and_system_history_with_since_and_paging(service: ResourceService) -> None:
    service.create(patient(), "Patient")
    time.sleep(0.01)
    mark = now()
    time.sleep(0.01)
    service.create(observation(), "Observation")
    service.create(observation(value=90), "Observation")
    assert service.history(HistoryQuery("Observation")).total == 2
    assert service.history(HistoryQuery("Patient", since=mark)).total == 0
    system = service.history(HistoryQuery(count=2))
    assert system.total == 3
    assert len(system.entries) == 2
    rest = service.history(HistoryQuery(count=2, offset=2))
    assert [v.resource_type for v in rest.entries] == ["Patient"]


def test_history_at_gives_the_version_current_then(service: ResourceService) -> None:
    created = service.create(patient(family="Old"), "Patient").version
    time.sleep(0.01)
    between = now()
    time.sleep(0.01)
    service.update({**patient(family="New"), "id": created.id}, "Patient", created.id)
    page = service.history(HistoryQuery("Patient", created.id, at=between))
    assert [v.version_id for v in page.entries] == [1]
