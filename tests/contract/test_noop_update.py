"""An update equal to the current version apart from meta creates no new version."""

from __future__ import annotations

from fhir_server.core.ports import HistoryQuery
from fhir_server.core.resources import ResourceService


def _device(serial: str, **extra: object) -> dict[str, object]:
    return {
        "resourceType": "Device",
        "identifier": [{"system": "urn:serial", "value": serial}],
        **extra,
    }


def _versions(service: ResourceService, id: str) -> int:
    return len(service.history(HistoryQuery(resource_type="Device", id=id)).entries)


def test_identical_update_returns_the_current_version(service: ResourceService) -> None:
    created = service.create(_device("A"), "Device").version
    again = service.update({**_device("A"), "id": created.id}, "Device", created.id)
    assert not again.created
    assert again.version.version_id == 1
    assert again.version.last_updated == created.last_updated
    assert _versions(service, created.id) == 1


def test_client_meta_version_fields_are_ignored_in_the_comparison(service: ResourceService) -> None:
    created = service.create(_device("A"), "Device").version
    body = {**created.resource(), "meta": {"versionId": "7", "lastUpdated": "2001-01-01T00:00:00Z"}}
    assert service.update(body, "Device", created.id).version.version_id == 1


def test_a_real_change_creates_a_version(service: ResourceService) -> None:
    created = service.create(_device("A"), "Device").version
    changed = {**_device("A", manufacturer="Acme"), "id": created.id}
    assert service.update(changed, "Device", created.id).version.version_id == 2
    changed_source = {
        **_device("A", manufacturer="Acme"),
        "id": created.id,
        "meta": {"source": "urn:x"},
    }
    assert service.update(changed_source, "Device", created.id).version.version_id == 3


def test_identical_conditional_update_creates_no_version(service: ResourceService) -> None:
    condition = [("identifier", "urn:serial|B")]
    first = service.update_conditional(_device("B"), "Device", condition)
    assert first.created
    second = service.update_conditional(_device("B"), "Device", condition)
    assert not second.created
    assert second.version.version_id == 1
    assert _versions(service, first.version.id) == 1


def test_updating_a_deleted_resource_with_its_old_content_recreates_it(
    service: ResourceService,
) -> None:
    created = service.create(_device("C"), "Device").version
    service.delete("Device", created.id)
    revived = service.update({**_device("C"), "id": created.id}, "Device", created.id)
    assert revived.created
    assert revived.version.version_id == 3
