from __future__ import annotations

from typing import Any

import pytest
from mapper_fixtures import assert_valid, entry_of, fixture_bytes, make_ctx, of_type

from fhir_server.ingest.spec import MappedMessage, MappingError, UnknownPatientPolicy
from mappers.hl7v2.options import Hl7v2Options
from mappers.hl7v2.oru import RESULT_SYSTEM, OruMapper

LAB = fixture_bytes("hl7v2/oru_r01_lab_v251.hl7")
GHH_MRN = "urn:oid:1.2.840.114350.1.13.99998.8734"
UCUM = "http://unitsofmeasure.org"
V3 = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"


def oru(
    payload: bytes, policy: UnknownPatientPolicy = "hold", options: Hl7v2Options | None = None
) -> MappedMessage:
    return assert_valid(OruMapper(options).map(payload, make_ctx(policy)))


def by_code(mapped: MappedMessage) -> dict[str, dict[str, Any]]:
    return {o["code"]["coding"][0]["code"]: o for o in of_type(mapped, "Observation")}


def test_lab_result_has_one_observation_per_obx_and_one_report() -> None:
    mapped = oru(LAB)
    assert [r["resourceType"] for r in mapped.resources] == ["Observation"] * 7 + [
        "DiagnosticReport"
    ]


def test_numeric_results() -> None:
    obs = by_code(oru(LAB))
    glucose = obs["2345-7"]
    assert glucose["valueQuantity"] == {
        "value": 182,
        "unit": "mg/dL",
        "system": UCUM,
        "code": "mg/dL",
    }
    assert glucose["interpretation"] == [{"coding": [{"system": V3, "code": "H"}]}]
    assert glucose["referenceRange"] == [
        {
            "text": "70-99",
            "low": {"value": 70, "unit": "mg/dL", "system": UCUM, "code": "mg/dL"},
            "high": {"value": 99, "unit": "mg/dL", "system": UCUM, "code": "mg/dL"},
        }
    ]
    assert glucose["note"] == [{"text": "Patient was not fasting."}]
    assert glucose["effectiveDateTime"] == "2024-03-20T08:00:00+01:00"
    assert obs["2951-2"]["valueQuantity"]["code"] == "mmol/L"


def test_structured_numeric_results() -> None:
    obs = by_code(oru(LAB))
    assert obs["2160-0"]["valueQuantity"]["comparator"] == "<"
    assert obs["2160-0"]["interpretation"] == [{"coding": [{"system": V3, "code": "L"}]}]
    assert obs["33914-3"]["valueQuantity"] == {
        "value": 60,
        "unit": "mL/min/{1.73_m2}",
        "system": UCUM,
        "code": "mL/min/{1.73_m2}",
        "comparator": ">=",
    }
    assert obs["5130-0"]["valueRatio"] == {"numerator": {"value": 1}, "denominator": {"value": 128}}


def test_coded_and_text_results() -> None:
    obs = by_code(oru(LAB))
    assert obs["5778-6"]["valueCodeableConcept"] == {
        "coding": [{"code": "YEL", "display": "Yellow"}]
    }
    assert obs["8251-1"]["valueString"] == "Specimen slightly hemolyzed; results may be affected."


def test_status_category_subject_and_effective_fallback() -> None:
    obs = by_code(oru(LAB))
    assert obs["5130-0"]["status"] == "preliminary"
    assert {o["status"] for c, o in obs.items() if c != "5130-0"} == {"final"}
    for observation in obs.values():
        assert observation["category"][0]["coding"][0]["code"] == "laboratory"
        assert observation["subject"] == {"reference": f"Patient?identifier={GHH_MRN}|PATID1234"}
        assert observation["effectiveDateTime"] == "2024-03-20T08:00:00+01:00"


def test_results_are_upserted_by_a_deterministic_identifier() -> None:
    mapped = oru(LAB)
    for observation in of_type(mapped, "Observation"):
        (identifier,) = observation["identifier"]
        assert identifier["system"] == RESULT_SYSTEM
        assert entry_of(mapped, observation)["request"]["url"] == (
            f"Observation?identifier={RESULT_SYSTEM}|{identifier['value']}"
        )
    assert len({o["identifier"][0]["value"] for o in of_type(mapped, "Observation")}) == 7


def test_diagnostic_report() -> None:
    mapped = oru(LAB)
    (report,) = of_type(mapped, "DiagnosticReport")
    assert report["identifier"] == [
        {"system": "urn:oid:2.16.840.1.113883.19.4.6", "value": "LAB778899"}
    ]
    assert report["status"] == "final"
    assert report["category"] == [
        {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "CH"}]}
    ]
    assert report["code"]["coding"][0]["code"] == "24323-8"
    assert report["effectiveDateTime"] == "2024-03-20T08:00:00+01:00"
    assert report["issued"] == "2024-03-20T15:29:00+01:00"
    observation_urls = [entry_of(mapped, o)["fullUrl"] for o in of_type(mapped, "Observation")]
    assert [r["reference"] for r in report["result"]] == observation_urls
    assert entry_of(mapped, report)["request"]["method"] == "PUT"


def test_placeholder_policy_creates_the_patient_from_pid_once() -> None:
    mapped = oru(LAB, "placeholder")
    (patient,) = of_type(mapped, "Patient")
    entry = entry_of(mapped, patient)
    assert entry["request"] == {
        "method": "POST",
        "url": "Patient",
        "ifNoneExist": f"identifier={GHH_MRN}|PATID1234",
    }
    assert patient["name"][0]["family"] == "EVERYMAN"
    assert patient["meta"]["tag"][0]["code"] == "placeholder"
    assert {o["subject"]["reference"] for o in of_type(mapped, "Observation")} == {entry["fullUrl"]}


def test_redelivery_under_a_new_control_id_targets_the_same_results() -> None:
    first, again = oru(LAB), oru(LAB.replace(b"LAB-20240320-0042", b"LAB-20240320-9999"))
    assert first.message_key != again.message_key
    assert first.bundle_entries == again.bundle_entries


def test_a_correction_updates_the_same_result() -> None:
    corrected = LAB.replace(b"||182|mg/dL^^UCUM|70-99|H|||F|", b"||172|mg/dL^^UCUM|70-99|H|||C|")
    before, after = by_code(oru(LAB))["2345-7"], by_code(oru(corrected))["2345-7"]
    assert before["identifier"] == after["identifier"]
    assert (after["status"], after["valueQuantity"]["value"]) == ("corrected", 172)


def test_report_status_is_derived_from_results_when_obr25_is_empty() -> None:
    mapped = oru(fixture_bytes("hl7v2/oru_r01_lab_v23.hl7"))
    (report,) = of_type(mapped, "DiagnosticReport")
    assert report["status"] == "final"
    assert report["category"][0]["coding"][0]["code"] == "LAB"
    assert report["identifier"][0]["system"] == "urn:fhir-server:assigning-authority:GHH%20LAB"
    abo = by_code(mapped)["883-9"]
    assert abo["valueCodeableConcept"]["coding"][0] == {
        "system": "http://snomed.info/sct",
        "code": "F-D1250",
        "display": "GROUP O",
    }
    assert by_code(mapped)["1554-5"]["valueQuantity"]["code"] == "mg/dL"
    assert by_code(mapped)["1554-5"]["effectiveDateTime"] == "1998-07-31T15:30:00+00:00"


def test_default_timezone_applies_when_msh7_has_no_offset() -> None:
    options = Hl7v2Options(default_timezone="America/Chicago")
    mapped = oru(fixture_bytes("hl7v2/oru_r01_lab_v23.hl7"), options=options)
    assert by_code(mapped)["1554-5"]["effectiveDateTime"] == "1998-07-31T15:30:00-05:00"


def test_configured_coding_system() -> None:
    options = Hl7v2Options(coding_systems={"99COLOR": "https://lab.example.org/colors"})
    color = by_code(oru(LAB, options=options))["5778-6"]
    assert color["valueCodeableConcept"]["coding"][0]["system"] == "https://lab.example.org/colors"


def test_vital_sign_loinc_codes_get_the_vital_signs_category() -> None:
    payload = LAB.replace(
        b"2951-2^Sodium [Moles/volume] in Serum or Plasma^LN||139|mmol/L|136-145",
        b"8867-4^Heart rate^LN||64|/min|60-100",
    )
    heart_rate = by_code(oru(payload))["8867-4"]
    assert heart_rate["category"][0]["coding"][0]["code"] == "vital-signs"
    assert heart_rate["valueQuantity"]["code"] == "/min"


def test_observation_instance_identifier_is_used_when_sent() -> None:
    payload = LAB.replace(
        b"F|||20240320080000+0100\n",
        b"F|||20240320080000+0100|||||||OBS-1^LABSYS^2.16.840.1.113883.19.4.6^ISO\n",
    )
    glucose = by_code(oru(payload))["2345-7"]
    assert glucose["identifier"] == [
        {"system": "urn:oid:2.16.840.1.113883.19.4.6", "value": "OBS-1"}
    ]


def test_repeated_coded_values_are_kept_as_notes() -> None:
    payload = LAB.replace(b"YEL^Yellow^99COLOR", b"YEL^Yellow^99COLOR~AMB^Amber^99COLOR")
    color = by_code(oru(payload))["5778-6"]
    assert color["valueCodeableConcept"]["coding"][0]["code"] == "YEL"
    assert color["note"] == [{"text": "Further value: AMB^Amber^99COLOR"}]


def test_several_patients_in_one_message() -> None:
    second = (
        b"PID|2||PATID5678^^^GHH&1.2.840.114350.1.13.99998.8734&ISO^MR||ROE^RICHARD\n"
        b"OBR|1||LAB778900^LABSYS^2.16.840.1.113883.19.4.6^ISO|2345-7^Glucose^LN|||20240320090000+0100\n"
        b"OBX|1|NM|2345-7^Glucose^LN||95|mg/dL|70-99|N|||F\n"
    )
    mapped = oru(LAB + second)
    subjects = [o["subject"]["reference"] for o in of_type(mapped, "Observation")]
    assert subjects[-1] == f"Patient?identifier={GHH_MRN}|PATID5678"
    assert len(of_type(mapped, "DiagnosticReport")) == 2


@pytest.mark.parametrize(
    ("payload", "code", "location"),
    [
        (fixture_bytes("hl7v2/oru_r01_truncated.hl7"), "required-missing", "OBX"),
        (LAB.replace(b"\nPID|", b"\nPIX|"), "required-missing", "PID"),
        (LAB.replace(b"OBX|6|ST|", b"OBX|6|ZZ|"), "unknown-code", "OBX[6]-2"),
        (LAB.replace(b"||139|mmol/L", b"||1,39|mmol/L"), "invalid-value", "OBX[2]-5"),
        (
            LAB.replace(
                b"OBX|2|NM|2951-2^Sodium [Moles/volume] in Serum or Plasma^LN|", b"OBX|2|NM||"
            ),
            "required-missing",
            "OBX[2]-3",
        ),
        (
            LAB.replace(
                b"|24323-8^Comprehensive metabolic 2000 panel - Serum or Plasma^LN|", b"||"
            ),
            "required-missing",
            "OBR-4",
        ),
        (LAB.replace(b"ORU^R01^ORU_R01", b"ORU^R30^ORU_R30"), "unsupported-message", "MSH-9"),
        (
            LAB.replace(b"|20240320080000+0100|||||||||||||||", b"|2024032008000|||||||||||||||"),
            "invalid-value",
            "OBR-7",
        ),
    ],
    ids=[
        "no-obx",
        "no-pid",
        "unsupported-type",
        "bad-number",
        "no-code",
        "no-service",
        "not-r01",
        "bad-time",
    ],
)
def test_oru_problems(payload: bytes, code: str, location: str) -> None:
    with pytest.raises(MappingError) as caught:
        OruMapper().map(payload, make_ctx())
    assert (caught.value.code, str(caught.value.location)) == (code, location)
