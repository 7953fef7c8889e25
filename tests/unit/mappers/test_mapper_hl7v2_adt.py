from __future__ import annotations

import pytest
from mapper_fixtures import assert_valid, entry_of, fixture_bytes, make_ctx, of_type

from fhir_server.ingest.spec import IdentifierKey, MappedMessage, MappingError, full_url
from mappers.hl7v2.adt import AdtMapper
from mappers.hl7v2.options import Hl7v2Options

GHH_MRN = "urn:oid:1.2.840.114350.1.13.99998.8734"
A01 = fixture_bytes("hl7v2/adt_a01_v251.hl7")


def adt(payload: bytes, options: Hl7v2Options | None = None) -> MappedMessage:
    return assert_valid(AdtMapper(options).map(payload, make_ctx()))


def with_event(payload: bytes, event: str) -> bytes:
    return payload.replace(b"ADT^A01^ADT_A01", f"ADT^{event}^ADT_A01".encode())


def test_a01_patient_identifiers() -> None:
    (patient,) = of_type(adt(A01), "Patient")
    assert patient["identifier"] == [
        {
            "type": {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}
                ]
            },
            "system": GHH_MRN,
            "value": "PATID1234",
        },
        {
            "type": {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "SS"}
                ]
            },
            "system": "urn:oid:2.16.840.1.113883.4.1",
            "value": "123-45-6789",
        },
    ]


def test_a01_patient_names_telecom_and_address() -> None:
    (patient,) = of_type(adt(A01), "Patient")
    assert patient["name"] == [
        {
            "use": "official",
            "family": "EVERYMAN",
            "given": ["ADAM", "A"],
            "prefix": ["DR"],
            "suffix": ["III"],
        },
        {"use": "nickname", "family": "EVERYMAN", "given": ["AL"]},
    ]
    assert patient["telecom"] == [
        {"system": "phone", "value": "+1 734 5552004", "use": "home"},
        {"system": "email", "value": "adam.everyman@example.org", "use": "home"},
        {"system": "phone", "value": "+1 734 5553001 ext. 22", "use": "work"},
    ]
    assert (patient["gender"], patient["birthDate"], patient["active"]) == (
        "male",
        "1961-06-15",
        True,
    )
    assert patient["address"] == [
        {
            "use": "home",
            "line": ["2222 HOME STREET", "APT 4B"],
            "city": "ANN ARBOR",
            "state": "MI",
            "postalCode": "48104",
            "country": "USA",
        }
    ]


def test_a01_patient_is_upserted_by_its_mrn() -> None:
    mapped = adt(A01)
    (patient,) = of_type(mapped, "Patient")
    assert entry_of(mapped, patient)["request"] == {
        "method": "PUT",
        "url": f"Patient?identifier={GHH_MRN}|PATID1234",
    }
    assert (
        mapped.message_key
        == "hl7v2|ADT1|GOOD HEALTH HOSPITAL^1.2.840.114350.1.13.99998^ISO|MSG00001"
    )


def test_a01_encounter() -> None:
    mapped = adt(A01)
    (patient,) = of_type(mapped, "Patient")
    (encounter,) = of_type(mapped, "Encounter")
    assert encounter["status"] == "in-progress"
    assert encounter["class"] == {
        "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
        "code": "IMP",
        "display": "inpatient encounter",
    }
    assert encounter["identifier"] == [
        {"system": "urn:oid:1.2.840.114350.1.13.99998.4", "value": "V1001"}
    ]
    assert encounter["period"] == {"start": "2024-03-15T10:00:00+01:00"}
    assert encounter["location"] == [{"location": {"display": "2000 2012 01 (GHH)"}}]
    assert encounter["subject"] == {"reference": entry_of(mapped, patient)["fullUrl"]}
    assert entry_of(mapped, encounter)["request"]["method"] == "PUT"


@pytest.mark.parametrize(
    ("event", "status"),
    [
        ("A01", "in-progress"),
        ("A02", "in-progress"),
        ("A03", "finished"),
        ("A04", "arrived"),
        ("A05", "planned"),
        ("A11", "cancelled"),
        ("A13", "in-progress"),
    ],
)
def test_encounter_status_follows_the_event(event: str, status: str) -> None:
    (encounter,) = of_type(adt(with_event(A01, event)), "Encounter")
    assert encounter["status"] == status


@pytest.mark.parametrize("event", ["A28", "A31"])
def test_person_events_update_the_patient_only(event: str) -> None:
    mapped = adt(with_event(A01, event))
    assert [r["resourceType"] for r in mapped.resources] == ["Patient"]


def test_a08_updates_the_same_patient_and_finishes_the_encounter() -> None:
    first, update = adt(A01), adt(fixture_bytes("hl7v2/adt_a08_v251.hl7"))
    assert first.bundle_entries[0]["fullUrl"] == update.bundle_entries[0]["fullUrl"]
    (patient,) = of_type(update, "Patient")
    assert patient["address"][0]["line"] == ["3333 NEW STREET"]
    assert patient["telecom"] == [{"system": "phone", "value": "+1 734 5559999", "use": "mobile"}]
    (encounter,) = of_type(update, "Encounter")
    assert encounter["status"] == "finished"
    assert encounter["period"] == {
        "start": "2024-03-15T10:00:00+01:00",
        "end": "2024-03-16T08:30:00+01:00",
    }


def test_v23_register_without_pv1_yields_the_patient_alone() -> None:
    mapped = adt(fixture_bytes("hl7v2/adt_a04_v23_no_pv1.hl7"))
    (patient,) = mapped.resources
    assert patient["identifier"][0]["system"] == "urn:fhir-server:assigning-authority:MCM"
    assert patient["telecom"] == [{"system": "phone", "value": "(818)555-1212", "use": "home"}]
    assert patient["name"] == [{"family": "DUCK", "given": ["DONALD", "D"]}]


def test_v28_admission_with_five_encoding_characters() -> None:
    mapped = adt(fixture_bytes("hl7v2/adt_a01_v28.hl7"))
    (patient,) = of_type(mapped, "Patient")
    (encounter,) = of_type(mapped, "Encounter")
    assert patient["birthDate"] == "1992-02-29"
    assert patient["name"][0]["family"] == "O'BRIEN"
    assert encounter["class"]["code"] == "EMER"
    assert encounter["period"]["start"] == "2024-04-01T07:45:00-05:00"


def test_custom_encoding_characters_find_the_same_patient() -> None:
    custom = adt(fixture_bytes("hl7v2/adt_a01_custom_encoding.hl7"))
    assert custom.bundle_entries[0]["fullUrl"] == adt(A01).bundle_entries[0]["fullUrl"]
    assert custom.resources[0]["name"][0]["given"] == ["ADAM * JR", "A"]


def test_escape_sequences_and_latin1_in_demographics() -> None:
    (patient,) = of_type(adt(fixture_bytes("hl7v2/adt_a01_escapes.hl7")), "Patient")
    assert patient["name"] == [
        {"use": "official", "family": "SMITH&JONES", "given": ["MARY | ANN"]},
        {"use": "maiden", "family": "MÜLLER", "given": ["GRETE"]},
    ]
    address = patient["address"][0]
    assert (address["line"], address["city"]) == (["12 MARKET ~ LANE"], "ST. JOHN^S")


@pytest.mark.parametrize("separator", [b"\r", b"\r\n"])
def test_segment_separators_do_not_change_the_result(separator: bytes) -> None:
    assert adt(A01.replace(b"\n", separator)) == adt(A01)


def test_mapping_is_deterministic() -> None:
    assert adt(A01) == adt(A01)


def test_configured_assigning_authority() -> None:
    options = Hl7v2Options(authority_systems={"GHH": "https://ghh.example.org/mrn"})
    (patient,) = of_type(adt(A01, options), "Patient")
    assert patient["identifier"][0]["system"] == "https://ghh.example.org/mrn"


@pytest.mark.parametrize(
    ("sex", "gender"),
    [
        ("M", "male"),
        ("F", "female"),
        ("O", "other"),
        ("U", "unknown"),
        ("A", "other"),
        ("N", "other"),
        ("X", "unknown"),
    ],
)
def test_administrative_sex(sex: str, gender: str) -> None:
    payload = A01.replace(b"|19610615|M|", f"|19610615|{sex}|".encode())
    (patient,) = of_type(adt(payload), "Patient")
    assert patient["gender"] == gender


def test_a40_merge_retires_the_prior_patient() -> None:
    mapped = adt(fixture_bytes("hl7v2/adt_a40_v251.hl7"))
    survivor_entry, patch = mapped.bundle_entries
    survivor = survivor_entry["resource"]
    assert survivor["identifier"][0]["value"] == "PATID1234"
    assert survivor["link"] == [
        {"other": {"reference": f"Patient?identifier={GHH_MRN}|PATID9999"}, "type": "replaces"}
    ]
    assert patch["request"] == {"method": "PATCH", "url": f"Patient?identifier={GHH_MRN}|PATID9999"}
    operations = [{p["name"]: p for p in op["part"]} for op in patch["resource"]["parameter"]]
    assert [o["type"]["valueCode"] for o in operations] == ["delete", "add", "add"]
    assert operations[0]["path"]["valueString"] == "Patient.active"
    assert operations[1]["value"]["valueBoolean"] is False
    link = {p["name"]: p for p in operations[2]["value"]["part"]}
    assert link["type"]["valueCode"] == "replaced-by"
    assert link["other"]["valueReference"] == {"reference": survivor_entry["fullUrl"]}
    assert patch["fullUrl"] != survivor_entry["fullUrl"]


@pytest.mark.parametrize(
    ("change", "code", "location"),
    [
        ((b"MRG|PATID9999", b"MRX|PATID9999"), "required-missing", "MRG"),
        ((b"MRG|PATID9999", b"MRG|PATID1234"), "invalid-value", "MRG-1"),
        (
            (b"MRG|PATID9999^^^GHH&1.2.840.114350.1.13.99998.8734&ISO^MR", b"MRG|"),
            "required-missing",
            "MRG-1",
        ),
    ],
)
def test_a40_problems(change: tuple[bytes, bytes], code: str, location: str) -> None:
    payload = fixture_bytes("hl7v2/adt_a40_v251.hl7").replace(*change)
    with pytest.raises(MappingError) as caught:
        AdtMapper().map(payload, make_ctx())
    assert (caught.value.code, str(caught.value.location)) == (code, location)


@pytest.mark.parametrize(
    ("change", "code", "location"),
    [
        ((b"ADT^A01^ADT_A01", b"ADT^A17^ADT_A17"), "unsupported-message", "MSH-9"),
        ((b"ADT^A01^ADT_A01", b"ORU^R01^ORU_R01"), "unsupported-message", "MSH-9"),
        ((b"\nPID|", b"\nPIX|"), "required-missing", "PID"),
        (
            (
                b"PATID1234^^^GHH&1.2.840.114350.1.13.99998.8734&ISO^MR~123-45-6789^^^SSA&2.16.840.1.113883.4.1&ISO^SS",
                b"",
            ),
            "required-missing",
            "PID-3",
        ),
        ((b"|19610615|", b"|19611315|"), "invalid-value", "PID-7"),
    ],
)
def test_adt_problems(change: tuple[bytes, bytes], code: str, location: str) -> None:
    with pytest.raises(MappingError) as caught:
        AdtMapper().map(A01.replace(*change), make_ctx())
    assert (caught.value.code, str(caught.value.location)) == (code, location)


def test_identifier_without_any_authority_is_refused() -> None:
    payload = b"MSH|^~\\&|||||20240101||ADT^A01|1|P|2.5.1\rPID|1||12345||DOE^JOHN\r"
    with pytest.raises(MappingError) as caught:
        AdtMapper().map(payload, make_ctx())
    assert str(caught.value.location) == "PID-3.4"


def test_identifier_without_authority_takes_the_sending_facility() -> None:
    payload = b"MSH|^~\\&|APP|FAC^1.2.3^ISO|||20240101||ADT^A28|1|P|2.5.1\rPID|1||12345||DOE^JOHN\r"
    (patient,) = AdtMapper().map(payload, make_ctx()).resources
    assert patient["identifier"] == [{"system": "urn:oid:1.2.3", "value": "12345"}]


def test_message_without_control_id_uses_the_transport_key() -> None:
    payload = A01.replace(b"|MSG00001|", b"||")
    assert AdtMapper().map(payload, make_ctx(message_key="mllp-42")).message_key == "mllp-42"
    assert AdtMapper().map(payload, make_ctx()).message_key.startswith("sha256:")


def test_patient_full_url_is_derived_from_the_mrn() -> None:
    assert adt(A01).bundle_entries[0]["fullUrl"] == full_url(
        "Patient", IdentifierKey(GHH_MRN, "PATID1234")
    )
