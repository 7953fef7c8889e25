"""Public HL7 v2 sample messages (tests/fixtures/hl7v2/public, sources in its README).

Every sample either maps to a schema-valid transaction Bundle or is refused with a clean
MappingError; the tests below then check what each mapped sample says.
"""

from __future__ import annotations

import base64
from collections import Counter
from typing import Any

import pytest
from mapper_fixtures import FIXTURES, assert_valid, entry_of, make_ctx, of_type

from fhir_server.ingest.registry import MapperRegistry
from fhir_server.ingest.spec import MappedMessage, MappingError, content_key
from mappers.hl7v2.adt import AdtMapper
from mappers.hl7v2.attachments import VALUE_EXTENSION
from mappers.hl7v2.observation import is_blank
from mappers.hl7v2.oru import OruMapper
from mappers.hl7v2.pcd01 import SYSTEM_ID
from mappers.hl7v2.segments import parse

PUBLIC = FIXTURES / "hl7v2" / "public"
REGISTRY = MapperRegistry({"hl7v2-adt": AdtMapper(), "hl7v2-oru": OruMapper()})
UCUM = "http://unitsofmeasure.org"
LOINC = "http://loinc.org"
MDC = "urn:iso:std:iso:11073:10101"
AUTHORITY = "urn:fhir-server:assigning-authority:"
EUI = "01-23-45-67-89-AB-CD-EF"

# Samples the mappers refuse, with the error code and location they give.
REFUSED = {
    "adt_a01_v26_lfh_unix_broken.hl7": ("malformed", "MSH-2"),
    "erp_z99_v231_hapi_zsegment.hl7": ("unsupported-message", "MSH-9"),
    "oru_r01_v24_pythonhl7_sn_fn.hl7": ("invalid-value", "PID-7"),
}
SAMPLES = sorted(p.name for p in PUBLIC.glob("*.hl7"))
MAPPED = [name for name in SAMPLES if name not in REFUSED]


def payload(name: str) -> bytes:
    return (PUBLIC / name).read_bytes()


def map_sample(raw: bytes) -> MappedMessage:
    """Map a message as the server does: the mapper registered for its MSH-9."""
    mapper = REGISTRY.for_message_type(parse(raw).message_type)
    assert mapper is not None
    return mapper.map(raw, make_ctx("placeholder"))


def mapped(name: str) -> MappedMessage:
    return map_sample(payload(name))


def one(resources: list[dict[str, Any]]) -> dict[str, Any]:
    (resource,) = resources
    return resource


def codes(resource: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(c.get("system"), c["code"]) for c in resource["code"].get("coding", ())]


def by_code(mapping: MappedMessage, code: str) -> list[dict[str, Any]]:
    return [o for o in of_type(mapping, "Observation") if code in {c for _, c in codes(o)}]


def identifiers(resource: dict[str, Any]) -> list[tuple[str, str]]:
    return [(i.get("system", ""), i["value"]) for i in resource["identifier"]]


def test_every_sample_is_declared() -> None:
    assert len(SAMPLES) == 30
    assert set(REFUSED) <= set(SAMPLES)


@pytest.mark.parametrize("name", MAPPED)
def test_sample_maps_to_a_valid_bundle(name: str) -> None:
    mapping = assert_valid(mapped(name))
    merged_away = 1 if name.startswith("adt_a40") else 0  # created as a placeholder
    assert len(of_type(mapping, "Patient")) == 1 + merged_away


LAB = [name for name in MAPPED if name.startswith("oru_r01_v")]


@pytest.mark.parametrize("name", LAB)
def test_lab_sample_keeps_every_result_and_report(name: str) -> None:
    message = parse(payload(name))
    results = [obx for obx in message.all("OBX") if not is_blank(obx)]
    mapping = mapped(name)
    assert len(of_type(mapping, "Observation")) == len(results)
    assert len(of_type(mapping, "DiagnosticReport")) == len(list(message.all("OBR")))


@pytest.mark.parametrize("name", MAPPED)
@pytest.mark.parametrize("separator", [b"\n", b"\r\n"])
def test_segment_separator_does_not_matter(name: str, separator: bytes) -> None:
    raw = payload(name)
    other = raw.replace(b"\r\n", b"\r").replace(b"\n", b"\r").replace(b"\r", separator)
    assert map_sample(other).bundle_entries == mapped(name).bundle_entries


@pytest.mark.parametrize(("name", "expected"), sorted(REFUSED.items()))
def test_refused_samples_give_a_clean_mapping_error(name: str, expected: tuple[str, str]) -> None:
    mapper = AdtMapper() if name.startswith(("adt", "erp")) else OruMapper()
    with pytest.raises(MappingError) as caught:
        mapper.map(payload(name), make_ctx("placeholder"))
    assert (caught.value.code, str(caught.value.location)) == expected


def test_no_mapper_is_registered_for_a_query_response() -> None:
    assert (
        REGISTRY.for_message_type(parse(payload("erp_z99_v231_hapi_zsegment.hl7")).message_type)
        is None
    )


# ADT


def test_adt_a01_v28_patient_and_encounter() -> None:
    mapping = mapped("adt_a01_v28_fhirconverter.hl7")
    patient = one(of_type(mapping, "Patient"))
    assert identifiers(patient) == [
        (AUTHORITY + "test1", "PATID1234"),
        (AUTHORITY + "USSSA", "123456789"),
    ]
    assert patient["identifier"][0]["type"]["coding"][0]["code"] == "MR"
    assert patient["name"][0] == {
        "use": "usual",
        "family": "EVERYMAN",
        "given": ["ADAM", "A"],
        "prefix": ["Dr."],
        "suffix": ["III", "MD"],
    }
    assert (patient["gender"], patient["birthDate"]) == ("male", "1988-08-18")
    encounter = one(of_type(mapping, "Encounter"))
    assert identifiers(encounter) == [(AUTHORITY + "AccMng", "40007716")]
    assert (encounter["status"], encounter["class"]["code"]) == ("in-progress", "PRENC")
    assert encounter["period"] == {"start": "2015-02-08T11:34:19+01:10"}
    assert encounter["subject"] == {"reference": entry_of(mapping, patient)["fullUrl"]}


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("adt_a03_v28_fhirconverter.hl7", "finished"),
        ("adt_a08_v28_fhirconverter.hl7", "in-progress"),
        ("adt_a28_v28_fhirconverter.hl7", None),
    ],
)
def test_adt_events_of_one_patient(name: str, status: str | None) -> None:
    mapping = mapped(name)
    assert identifiers(one(of_type(mapping, "Patient")))[0] == (AUTHORITY + "test1", "PATID1234")
    encounters = of_type(mapping, "Encounter")
    assert [e["status"] for e in encounters] == ([status] if status else [])


def test_adt_with_nulls_and_a_coded_sex() -> None:
    mapping = mapped("adt_a01_v28_accmgr.hl7")
    patient = one(of_type(mapping, "Patient"))
    assert (patient["gender"], patient["birthDate"]) == ("female", "1988-08-18")
    assert one(of_type(mapping, "Encounter"))["class"]["code"] == "PRENC"


def test_good_health_hospital_v251() -> None:
    mapping = mapped("adt_a01_v251_ghh.hl7")
    patient = one(of_type(mapping, "Patient"))
    assert identifiers(patient) == [
        (AUTHORITY + "ADT1", "PATID1234"),
        (AUTHORITY + "USSSA", "123456789"),
    ]
    assert entry_of(mapping, patient)["request"]["url"] == (
        f"Patient?identifier={AUTHORITY}ADT1|PATID1234"
    )
    assert patient["address"] == [
        {
            "line": ["2222 HOME STREET"],
            "city": "GREENSBORO",
            "state": "NC",
            "postalCode": "27401-1020",
        }
    ]
    assert one(of_type(mapping, "Encounter"))["class"]["code"] == "IMP"


def test_v23_crlf_message_with_a_birth_time() -> None:
    assert b"\r\n" in payload("adt_a04_v23_nintendo.hl7")
    mapping = mapped("adt_a04_v23_nintendo.hl7")
    patient = one(of_type(mapping, "Patient"))
    assert identifiers(patient) == [(AUTHORITY + "NINTENDO", "123456789")]  # MSH-4
    assert (patient["name"], patient["birthDate"]) == (
        [{"family": "BROS", "given": ["MARIO"]}],
        "1985-01-01",
    )
    encounter = one(of_type(mapping, "Encounter"))
    assert (encounter["status"], encounter["class"]["code"]) == ("arrived", "AMB")
    assert identifiers(encounter) == [(AUTHORITY + "NINTENDO", "0123456789")]


def test_identifier_falls_back_to_the_assigning_facility_without_a_sender() -> None:
    patient = one(of_type(mapped("adt_a04_v251_no_sender.hl7"), "Patient"))
    assert identifiers(patient) == [(AUTHORITY + "Special%20Hospital", "MRN12345")]


def test_vinah_ascii_message() -> None:
    mapping = mapped("adt_a04_v25_vinah.hl7")
    patient = one(of_type(mapping, "Patient"))
    assert identifiers(patient) == [(AUTHORITY + "100", "0000112234")]
    assert (patient["gender"], patient["birthDate"]) == ("unknown", "1013-11-13")
    assert one(of_type(mapping, "Encounter"))["class"]["code"] == "AMB"


def test_hl7apy_admission() -> None:
    patient = one(of_type(mapped("adt_a01_v25_hl7apy.hl7"), "Patient"))
    assert identifiers(patient) == [(AUTHORITY + "HOSPITAL", "123-456-789")]
    assert [t["value"] for t in patient["telecom"]] == ["555", "444"]


def test_message_without_time_or_control_id() -> None:
    mapping = mapped("adt_a01_v23_lfh_tx.hl7")
    patient = one(of_type(mapping, "Patient"))
    assert [value for _, value in identifiers(patient)] == ["000010016", "000010017", "000010018"]
    assert (patient["gender"], patient["birthDate"]) == ("female", "1970-01-01")
    assert mapping.message_key == content_key(payload("adt_a01_v23_lfh_tx.hl7"))  # no MSH-10
    assert not of_type(mapping, "Encounter")  # PV1-2 empty


def test_merge() -> None:
    mapping = mapped("adt_a40_v26_lfh.hl7")  # under the placeholder policy
    prior, survivor = of_type(mapping, "Patient")
    assert identifiers(survivor) == [(AUTHORITY + "XYZ", "MR1")]
    assert identifiers(prior) == [(AUTHORITY + "XYZ", "MR2")]
    assert entry_of(mapping, prior)["request"]["ifNoneExist"] == f"identifier={AUTHORITY}XYZ|MR2"
    assert survivor["link"] == [
        {"other": {"reference": entry_of(mapping, prior)["fullUrl"]}, "type": "replaces"}
    ]
    patch = one(of_type(mapping, "Parameters"))
    assert entry_of(mapping, patch)["request"] == {
        "method": "PATCH",
        "url": f"Patient?identifier={AUTHORITY}XYZ|MR2",
    }


# ORU, laboratory


def test_ghh_glucose() -> None:
    mapping = mapped("oru_r01_v24_ghh_glucose.hl7")
    glucose = one(of_type(mapping, "Observation"))
    assert codes(glucose) == [(None, "1554-5")]
    assert glucose["valueQuantity"] == {
        "value": 182,
        "unit": "mg/dl",
        "system": UCUM,
        "code": "mg/dL",
    }
    assert glucose["referenceRange"] == [{"text": "70_105"}]
    assert glucose["interpretation"][0]["coding"][0]["code"] == "H"
    assert glucose["effectiveDateTime"] == "2002-02-15T07:30:00+00:00"
    report = one(of_type(mapping, "DiagnosticReport"))
    assert identifiers(report) == [(AUTHORITY + "GHH%20LAB", "1045813")]
    assert report["result"] == [{"reference": entry_of(mapping, glucose)["fullUrl"]}]


def test_two_orders_each_with_its_report() -> None:
    mapping = mapped("oru_r01_v25_cbc_two_obr.hl7")
    observations = of_type(mapping, "Observation")
    assert len(observations) == 10
    reports = of_type(mapping, "DiagnosticReport")
    assert [(r["code"]["coding"][0]["code"], len(r["result"])) for r in reports] == [
        ("24317-0", 5),
        ("26464-8", 5),
    ]
    leukocytes = one(by_code(mapping, "11156-7"))
    assert leukocytes["status"] == "registered"
    assert not any(key.startswith("value") for key in leukocytes)
    assert one(by_code(mapping, "11273-0"))["valueQuantity"] == {"value": 4.06, "unit": "tera.l-1"}


def test_nist_lri_cbc() -> None:
    mapping = mapped("oru_r01_v251_nist_lri_cbc.hl7")
    patient = one(of_type(mapping, "Patient"))
    assert identifiers(patient) == [(AUTHORITY + "NIST%20MPI", "PATID1234")]
    assert len(of_type(mapping, "Observation")) == 28
    hemoglobin = one(by_code(mapping, "718-7"))
    assert hemoglobin["valueQuantity"] == {
        "value": 12.5,
        "unit": "grams per milliliter",
        "system": UCUM,
        "code": "g/mL",
    }
    assert hemoglobin["effectiveDateTime"] == "2011-01-03T14:34:28-08:00"
    assert one(by_code(mapping, "26464-8"))["interpretation"][0]["coding"][0]["code"] == "HH"
    aniso = one(by_code(mapping, "38892-6"))["valueCodeableConcept"]
    assert aniso["coding"][0] == {
        "system": "http://snomed.info/sct",
        "code": "260348001",
        "display": "Present ++ out of ++++",
    }
    assert aniso["text"] == "Moderate Anisocytosis"
    assert one(by_code(mapping, "6742-1"))["valueString"] == "Many spherocytes present."
    assert len(one(of_type(mapping, "DiagnosticReport"))["result"]) == 28


def test_nist_lead() -> None:
    mapping = mapped("oru_r01_v251_nist_lead.hl7")
    assert identifiers(one(of_type(mapping, "Patient"))) == [
        ("urn:oid:2.16.840.1.113883.19.3.2.1", "9817566735")
    ]
    lead = one(by_code(mapping, "10368-9"))
    assert lead["valueQuantity"] == {
        "value": 50,
        "unit": "micro-gram per deci-liter",
        "system": UCUM,
        "code": "ug/dL",
    }
    assert lead["effectiveDateTime"] == "2008-08-15T10:30:00-07:00"
    assert identifiers(one(of_type(mapping, "DiagnosticReport"))) == [
        ("urn:oid:2.16.840.1.113883.19.3.1.6", "9700123")
    ]


def test_coded_value_with_text_only() -> None:
    mapping = mapped("oru_r01_v251_cerner_ce.hl7")
    culture = one(of_type(mapping, "Observation"))
    assert codes(culture) == [(LOINC, "548-8"), (None, "114")]
    assert culture["valueCodeableConcept"] == {"text": "Bordetella pertussis"}
    assert identifiers(one(of_type(mapping, "Patient"))) == [
        (AUTHORITY + "Baseline%20West%20MC", "9339683996")
    ]
    report = one(of_type(mapping, "DiagnosticReport"))
    assert report["category"][0]["coding"][0]["code"] == "MB"


def test_reference_pointers_and_an_empty_encapsulated_row() -> None:
    mapping = mapped("oru_r01_v251_fhirconverter_rp_ed.hl7")
    observations = of_type(mapping, "Observation")
    assert [codes(o)[0][1] for o in observations] == ["8867-4", "625-4", "1063-7", "8867-4"]
    pointer = observations[2]
    assert pointer["extension"] == [
        {
            "url": VALUE_EXTENSION,
            "valueAttachment": {"contentType": "image/pict", "url": "https://testurl.com"},
        }
    ]
    salmonella = observations[1]["valueCodeableConcept"]
    assert salmonella["coding"] == [
        {"system": "http://snomed.info/sct", "code": "27268008", "display": "Salmonella"}
    ]
    repeated = observations[3]
    assert repeated["valueQuantity"] == {"value": 27}
    assert repeated["note"] == [{"text": "Further value: 25"}]


def test_truncation_character_in_a_v251_message_and_repeated_results() -> None:
    raw = payload("oru_r01_v251_cdc_co_truncation.hl7")
    assert raw.startswith(b"MSH|^~\\&#|")
    assert parse(raw).version == "2.5.1"
    assert parse(raw).delimiters.truncation == "#"
    mapping = mapped("oru_r01_v251_cdc_co_truncation.hl7")
    patient = one(of_type(mapping, "Patient"))
    assert identifiers(patient)[0] == ("urn:oid:2.16.840.1.114222.4.3.2.2.1.321.111", "100001")
    assert len(patient["identifier"]) == 4
    assert len(of_type(mapping, "DiagnosticReport")) == 5
    comments = by_code(mapping, "77202-0")
    assert len(comments) == 10  # nine ST lines share OBX-3 and sub-id 1.1: none is lost
    assert (
        comments[1]["valueString"] == "This is a rapid molecular assay that simultaneously detects"
    )
    daptomycin = one(by_code(mapping, "35788-9"))["valueQuantity"]
    assert daptomycin == {
        "value": 0.5,
        "unit": "MicroGrams Per MilliLiter [Mass Concentration Units]",
        "system": UCUM,
        "code": "ug/mL",
    }
    assert one(by_code(mapping, "19000-9"))["valueQuantity"]["comparator"] == ">="


def test_newborn_screening_utf8_and_many_orders_with_one_number() -> None:
    mapping = mapped("oru_r01_v251_cdc_newborn_utf8.hl7")
    assert len(of_type(mapping, "Observation")) == 149
    reports = of_type(mapping, "DiagnosticReport")
    assert len(reports) == 20
    assert Counter(len(r.get("result", ())) for r in reports)[0] == 2  # OBR 1 and 4 carry no OBX
    glycine = one(by_code(mapping, "47633-3"))["valueQuantity"]
    assert glycine == {"value": 0.5, "unit": "µmol/L", "system": UCUM, "code": "umol/L"}
    accession = one(by_code(mapping, "99717-5"))  # only the alternate coding is given
    assert accession["code"]["coding"] == [{"code": "99717-5", "display": "Accession Number"}]
    assert accession["valueString"] == "045-89-477/21-2024-21"
    hemoglobin = by_code(mapping, "57703-1")[0]["valueString"]
    assert hemoglobin.startswith("Usual hemoglobin pattern.†These results")
    narrative = one(by_code(mapping, "57724-7"))["valueString"]
    assert narrative.startswith(
        "ACTION REQUIRED\n\nNBS Testing Lab - COMMUNITY REG MEDICAL CENTER LAB ~M"
    )


# ORU, IHE PCD-01 and Continua


def mds(mapping: MappedMessage) -> dict[str, Any]:
    (device,) = [d for d in of_type(mapping, "Device") if d["identifier"][0]["value"] == EUI]
    assert device["identifier"][0]["system"] == SYSTEM_ID
    return device


def test_pcd01_blood_pressure() -> None:
    mapping = mapped("oru_r01_pcd01_v26_ipf_bp.hl7")
    device = mds(mapping)
    assert device["type"]["coding"] == [
        {"system": MDC, "code": "528391", "display": "MDC_DEV_SPEC_PROFILE_BP"}
    ]
    expected = {"150021": ("8480-6", 120), "150022": ("8462-4", 80), "150023": ("8478-0", 100)}
    for mdc, (loinc, value) in expected.items():
        reading = one(by_code(mapping, mdc))
        assert codes(reading)[0] == (LOINC, loinc)
        assert reading["valueQuantity"] == {
            "value": value,
            "unit": "mmHg",
            "system": UCUM,
            "code": "mm[Hg]",
        }
        assert reading["category"][0]["coding"][0]["code"] == "vital-signs"
        assert reading["device"] == {"reference": entry_of(mapping, device)["fullUrl"]}
        assert reading["effectiveDateTime"] == "2009-08-13T09:57:15+05:00"
    assert identifiers(one(of_type(mapping, "Patient"))) == [
        (AUTHORITY + "Imaginary%20Hospital", "789567")
    ]


def test_pcd01_gateway_without_equipment_identifiers() -> None:
    mapping = mapped("oru_r01_pcd01_v26_ipf_gateway.hl7")
    assert not of_type(mapping, "Device")
    assert len(of_type(mapping, "Observation")) == 9
    heart_rate = one(by_code(mapping, "147842"))
    assert codes(heart_rate)[0] == (LOINC, "8867-4")
    assert heart_rate["valueQuantity"] == {
        "value": 60,
        "unit": "/min",
        "system": UCUM,
        "code": "/min",
    }
    assert one(by_code(mapping, "150033"))["valueQuantity"]["code"] == "mm[Hg]"


def test_pcd01_every_field() -> None:
    mapping = mapped("oru_r01_pcd01_v26_ipf_maximum.hl7")
    mds(mapping)
    readings = of_type(mapping, "Observation")
    assert [r["status"] for r in readings] == [
        "preliminary",
        "corrected",
        "entered-in-error",
        "final",
        "preliminary",
        "final",
        "cancelled",
    ]
    methods = [entry_of(mapping, r)["request"]["method"] for r in readings]
    assert methods == ["POST", "PUT", "PUT", "POST", "POST", "POST", "PUT"]
    systolic = readings[1]
    assert systolic["referenceRange"] == [
        {"text": "<120", "high": {"value": 120, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"}}
    ]


def test_continua_oximeter_with_a_waveform() -> None:
    mapping = mapped("oru_r01_pcd01_v26_continua_oximeter.hl7")
    spo2 = one(by_code(mapping, "150456"))
    assert codes(spo2)[:2] == [(LOINC, "59408-5"), (LOINC, "2708-6")]
    assert spo2["valueQuantity"] == {"value": 80.5, "unit": "%", "system": UCUM, "code": "%"}
    pleth = one(by_code(mapping, "150452"))
    assert pleth["valueString"] == "12 123 24 12 234 55 66 77 88 99"
    assert (
        pleth["device"]
        == spo2["device"]
        == {"reference": entry_of(mapping, mds(mapping))["fullUrl"]}
    )


def test_continua_blood_pressure_with_clock_rows() -> None:
    mapping = mapped("oru_r01_pcd01_v26_continua_bp.hl7")
    clock = one(by_code(mapping, "67975"))
    assert clock["valueDateTime"] == "2009-10-28T12:37:02+00:00"
    sync = one(by_code(mapping, "68220"))["valueCodeableConcept"]
    assert sync["coding"] == [{"system": MDC, "code": "532224", "display": "MDC_TIME_SYNC_NONE"}]
    assert one(by_code(mapping, "150022"))["valueQuantity"]["value"] == 80


def test_continua_scale_units() -> None:
    mapping = mapped("oru_r01_pcd01_v26_continua_scale.hl7")
    mds(mapping)
    units = {
        o["code"]["coding"][0]["code"]: o["valueQuantity"]["code"]
        for o in of_type(mapping, "Observation")
        if "valueQuantity" in o
    }
    assert units == {"188736": "kg", "188740": "cm", "188752": "kg/m2"}
    assert len(by_code(mapping, "188736")) == 2  # one per MDS


def test_continua_glucose_with_a_five_level_sub_id() -> None:
    mapping = mapped("oru_r01_pcd01_v26_continua_glucose.hl7")
    glucose = one(by_code(mapping, "160184"))
    assert glucose["valueQuantity"] == {
        "value": 37.5,
        "unit": "mg/dL",
        "system": UCUM,
        "code": "mg/dL",
    }
    assert one(by_code(mapping, "68185"))["valueQuantity"]["code"] == "s"
    assert one(by_code(mapping, "8417800"))["valueQuantity"]["code"] == "mg"
    assert one(by_code(mapping, "8417768"))["valueQuantity"]["code"] == "g"
    status = one(by_code(mapping, "8417752"))["valueCodeableConcept"]
    assert status == {"coding": [{"code": "1", "display": "sensor-strip-insertion(3)"}]}


# Value types the public samples brought in, on one OBX of the lab sample


LEAD = payload("oru_r01_v251_nist_lead.hl7")
LEAD_OBX = b"OBX|1|NM|10368-9^Lead BldC-mCnc^LN|1|50|"


def lead_value(value: bytes) -> dict[str, Any]:
    raw = LEAD.replace(LEAD_OBX, b"OBX|1|" + value + b"|")
    observation = one(of_type(assert_valid(map_sample(raw)), "Observation"))
    return {k: v for k, v in observation.items() if k.startswith("value") or k == "extension"}


PDF = base64.b64encode(b"%PDF-1.4 lead report").decode()


@pytest.mark.parametrize(
    ("value", "attachment"),
    [
        (
            f"ED|10368-9^Lead^LN|1|LAB^AP^PDF^Base64^{PDF}",
            {"contentType": "application/pdf", "data": PDF},
        ),
        (
            "ED|10368-9^Lead^LN|1|^TEXT^plain^A^50 ug/dL",
            {"contentType": "text/plain", "data": "NTAgdWcvZEw="},
        ),
        ("ED|10368-9^Lead^LN|1|^IM^JPEG^Hex^FFD8", {"contentType": "image/jpeg", "data": "/9g="}),
        (
            "RP|10368-9^Lead^LN|1|http://lab.example/r/1^LAB^AP^PDF",
            {"contentType": "application/pdf", "url": "http://lab.example/r/1"},
        ),
    ],
)
def test_encapsulated_data_and_pointers_become_the_attachment_extension(
    value: str, attachment: dict[str, str]
) -> None:
    assert lead_value(value.encode()) == {
        "extension": [{"url": VALUE_EXTENSION, "valueAttachment": attachment}]
    }


@pytest.mark.parametrize(
    "value",
    [
        b"ED|10368-9^Lead^LN|1|^AP^PDF^Base64^not base64!",
        b"ED|10368-9^Lead^LN|1|^AP^PDF^Hex^XYZ",
        b"ED|10368-9^Lead^LN|1|^AP^PDF^Uuencode^x",
        b"NA|10368-9^Lead^LN|1|1^two^3",
    ],
)
def test_values_that_do_not_fit_their_type_are_refused(value: bytes) -> None:
    raw = LEAD.replace(LEAD_OBX, b"OBX|1|" + value + b"|")
    with pytest.raises(MappingError) as caught:
        map_sample(raw)
    assert (caught.value.code, str(caught.value.location)) == ("invalid-value", "OBX-5")


def test_numeric_array_repetitions_are_lines() -> None:
    assert lead_value(b"NA|10368-9^Lead^LN|1|1^2^^4~5^6") == {"valueString": "1 2  4\n5 6"}
