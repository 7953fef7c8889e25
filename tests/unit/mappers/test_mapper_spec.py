from __future__ import annotations

import ast
from pathlib import Path
from typing import Any, ClassVar

import pytest
from mapper_fixtures import make_ctx

from fhir_server.ingest.spec import (
    PLACEHOLDER_TAG,
    READING_SYSTEM,
    IdentifierKey,
    MapContext,
    MappedMessage,
    Mapper,
    MappingError,
    SegmentLocation,
    compact,
    conditional_reference,
    content_key,
    create_once,
    full_url,
    patient_subject,
    reading_key,
    reference,
    upsert,
)

KEY = IdentifierKey("urn:oid:1.2.3", "MRN-1")
ROOT = Path(__file__).resolve().parents[3]


def test_identifier_search_escapes_search_specials_and_url_encodes() -> None:
    key = IdentifierKey("urn:x", "a|b,c$d\\e f&g")
    assert key.search() == "identifier=urn:x|a%5C|b%5C%2Cc%5C%24d%5C%5Ce%20f%26g"


def test_plain_identifier_search_stays_readable() -> None:
    assert KEY.search() == "identifier=urn:oid:1.2.3|MRN-1"


def test_create_once_is_a_conditional_create_on_the_identifier() -> None:
    entry = create_once({"resourceType": "Device", "status": "active"}, KEY)
    assert entry["request"] == {
        "method": "POST",
        "url": "Device",
        "ifNoneExist": "identifier=urn:oid:1.2.3|MRN-1",
    }
    assert entry["resource"]["identifier"] == [{"system": "urn:oid:1.2.3", "value": "MRN-1"}]
    assert entry["fullUrl"] == full_url("Device", KEY)


def test_create_once_does_not_repeat_an_identifier_already_present() -> None:
    resource = {"resourceType": "Patient", "identifier": [KEY.to_fhir(), {"value": "x"}]}
    entry = create_once(resource, KEY)
    assert entry["resource"]["identifier"] == [KEY.to_fhir(), {"value": "x"}]


def test_upsert_is_a_conditional_update() -> None:
    entry = upsert({"resourceType": "Patient", "active": True}, KEY)
    assert entry["request"] == {"method": "PUT", "url": "Patient?identifier=urn:oid:1.2.3|MRN-1"}
    assert list(entry["resource"])[:2] == ["resourceType", "identifier"]


def test_full_url_is_a_deterministic_uuid_per_type_and_key() -> None:
    assert full_url("Patient", KEY) == full_url("Patient", IdentifierKey("urn:oid:1.2.3", "MRN-1"))
    assert full_url("Patient", KEY) != full_url("Device", KEY)
    assert full_url("Patient", KEY) != full_url("Patient", IdentifierKey("urn:oid:1.2.3", "MRN-2"))
    assert full_url("Patient", KEY).startswith("urn:uuid:")


def test_references() -> None:
    entry = create_once({"resourceType": "Device"}, KEY)
    assert reference(entry) == {"reference": entry["fullUrl"]}
    assert conditional_reference("Patient", KEY) == {
        "reference": "Patient?identifier=urn:oid:1.2.3|MRN-1"
    }


def test_hold_policy_refers_to_the_patient_conditionally_and_adds_nothing() -> None:
    subject, entries = patient_subject(KEY, make_ctx("hold"))
    assert subject == conditional_reference("Patient", KEY)
    assert entries == ()


def test_placeholder_policy_finds_or_creates_a_tagged_patient() -> None:
    known = {
        "resourceType": "Patient",
        "name": [{"family": "Doe"}],
        "meta": {"tag": [{"code": "x"}]},
    }
    subject, entries = patient_subject(KEY, make_ctx("placeholder"), known)
    (entry,) = entries
    assert subject == reference(entry)
    assert entry["request"]["method"] == "POST"
    assert entry["resource"]["name"] == [{"family": "Doe"}]
    assert entry["resource"]["meta"]["tag"] == [{"code": "x"}, PLACEHOLDER_TAG]


def test_placeholder_without_content_is_a_bare_active_patient() -> None:
    _, (entry,) = patient_subject(KEY, make_ctx("placeholder"))
    assert entry["resource"]["active"] is True
    assert entry["resource"]["identifier"] == [KEY.to_fhir()]


def test_compact_drops_empty_values_but_keeps_false_and_zero() -> None:
    value: dict[str, Any] = {
        "a": None,
        "b": "",
        "c": [],
        "d": {},
        "e": [{"f": None}, "g"],
        "h": False,
        "i": 0,
    }
    assert compact(value) == {"e": ["g"], "h": False, "i": 0}


def test_reading_key_is_stable_and_sensitive_to_every_part() -> None:
    key = reading_key("dev", "8867-4", "2024-01-01T00:00:00+00:00")
    assert key.system == READING_SYSTEM
    assert key == reading_key("dev", "8867-4", "2024-01-01T00:00:00+00:00")
    assert key != reading_key("dev", "8867-4", "2024-01-01T00:00:01+00:00")
    assert reading_key("a", "bc") != reading_key("ab", "c")


def test_content_key_is_a_sha256_of_the_bytes() -> None:
    assert content_key(b"x") == content_key(b"x") != content_key(b"y")
    assert content_key(b"x").startswith("sha256:")


def test_mapped_message_rejects_duplicate_full_urls() -> None:
    entry = create_once({"resourceType": "Device"}, KEY)
    with pytest.raises(ValueError, match="duplicate fullUrl"):
        MappedMessage("k", (entry, entry))


def test_mapped_message_build_keeps_the_first_of_repeated_entries() -> None:
    first = create_once({"resourceType": "Device", "status": "active"}, KEY)
    second = create_once({"resourceType": "Device", "status": "inactive"}, KEY)
    mapped = MappedMessage.build("k", [first, second])
    assert mapped.bundle_entries == (first,)


@pytest.mark.parametrize(
    ("key", "entries", "message"),
    [
        ("", (), "message_key"),
        ("k", ({"fullUrl": "urn:uuid:1", "resource": {}},), "request"),
    ],
)
def test_mapped_message_rejects_incomplete_content(
    key: str, entries: tuple[dict[str, Any], ...], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        MappedMessage(key, entries)


def test_mapped_message_as_transaction_bundle() -> None:
    entry = upsert({"resourceType": "Patient"}, KEY)
    mapped = MappedMessage("k", (entry,))
    assert mapped.to_bundle() == {"resourceType": "Bundle", "type": "transaction", "entry": [entry]}
    assert mapped.resources == (entry["resource"],)


def test_mapping_error_carries_reason_code_and_location() -> None:
    error = MappingError(
        "bad value", code="invalid-value", location=SegmentLocation("OBX", 2, 5, 1)
    )
    assert str(error) == "bad value (at OBX[2]-5.1)"
    assert (error.reason, error.code) == ("bad value", "invalid-value")
    assert str(MappingError("x")) == "x"
    assert MappingError("x").code == "application-error"


def test_segment_location_text() -> None:
    assert str(SegmentLocation("PID")) == "PID"
    assert str(SegmentLocation("PID", field=3)) == "PID-3"


class _Conforming:
    name: ClassVar[str] = "x"
    media_types: ClassVar[frozenset[str]] = frozenset({"application/json"})
    message_types: ClassVar[frozenset[str]] = frozenset()

    def map(self, payload: bytes, ctx: MapContext) -> MappedMessage:
        return MappedMessage("k", ())


def test_mapper_protocol_is_runtime_checkable() -> None:
    assert isinstance(_Conforming(), Mapper)
    assert not isinstance(object(), Mapper)


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("path", sorted((ROOT / "mappers").rglob("*.py")), ids=str)
def test_mappers_import_only_the_public_spec_from_the_server(path: Path) -> None:
    server = {m for m in _imports(path) if m.split(".")[0] in ("fhir_server", "conformance")}
    assert server <= {"fhir_server.ingest.spec", "fhir_server.model"}
