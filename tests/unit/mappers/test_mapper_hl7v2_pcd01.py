from __future__ import annotations

from typing import Any

import pytest
from mapper_fixtures import assert_valid, entry_of, fixture_bytes, make_ctx, of_type

from fhir_server.ingest.spec import (
    READING_SYSTEM,
    MappedMessage,
    MappingError,
    UnknownPatientPolicy,
)
from mappers.hl7v2.oru import OruMapper
from mappers.hl7v2.pcd01 import COMPONENT_SYSTEM, SYSTEM_ID

MONITOR = fixture_bytes("hl7v2/oru_r01_pcd01_monitor.hl7")
MDC = "urn:iso:std:iso:11073:10101"
UCUM = "http://unitsofmeasure.org"
EUI = "01-23-45-67-89-AB-CD-EF"


def pcd(payload: bytes, policy: UnknownPatientPolicy = "placeholder") -> MappedMessage:
    return assert_valid(OruMapper().map(payload, make_ctx(policy)))


def by_mdc(mapped: MappedMessage) -> dict[str, dict[str, Any]]:
    return {
        next(c["code"] for c in o["code"]["coding"] if c["system"] == MDC): o
        for o in of_type(mapped, "Observation")
    }


def devices(mapped: MappedMessage) -> dict[str, dict[str, Any]]:
    return {d["identifier"][0]["value"]: d for d in of_type(mapped, "Device")}


def url(mapped: MappedMessage, resource: dict[str, Any]) -> str:
    return str(entry_of(mapped, resource)["fullUrl"])


def test_mds_is_identified_by_its_eui64() -> None:
    mapped = pcd(MONITOR)
    mds = devices(mapped)[EUI]
    assert mds["identifier"][0]["system"] == SYSTEM_ID
    assert mds["identifier"][0]["type"]["coding"][0]["code"] == "SYSID"
    assert mds["type"]["coding"] == [
        {"system": MDC, "code": "69965", "display": "MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS"}
    ]
    (patient,) = of_type(mapped, "Patient")
    assert mds["patient"] == {"reference": url(mapped, patient)}
    assert entry_of(mapped, mds)["request"] == {
        "method": "POST",
        "url": "Device",
        "ifNoneExist": f"identifier={SYSTEM_ID}|{EUI}",
    }


def test_vmd_and_channel_devices_hang_under_the_mds() -> None:
    mapped = pcd(MONITOR)
    found = devices(mapped)
    assert set(found) == {EUI, f"{EUI}/1.1", f"{EUI}/1.1.1", f"{EUI}/1.2"}
    assert found[f"{EUI}/1.1"]["identifier"][0]["system"] == COMPONENT_SYSTEM
    assert found[f"{EUI}/1.1"]["parent"] == {"reference": url(mapped, found[EUI])}
    assert found[f"{EUI}/1.1.1"]["parent"] == {"reference": url(mapped, found[f"{EUI}/1.1"])}
    assert (
        found[f"{EUI}/1.1.1"]["type"]["coding"][0]["display"]
        == "MDC_DEV_METER_PRESS_BLD_NONINV_CHAN"
    )


@pytest.mark.parametrize(
    ("mdc", "loinc"),
    [
        ("150021", ["8480-6"]),
        ("150022", ["8462-4"]),
        ("150023", ["8478-0"]),
        ("150456", ["59408-5", "2708-6"]),
        ("149530", ["8867-4"]),
        ("147842", ["8867-4"]),
        ("150364", ["8310-5"]),
        ("151562", ["9279-1"]),
    ],
)
def test_vital_signs_gain_loinc_and_keep_mdc(mdc: str, loinc: list[str]) -> None:
    observation = by_mdc(pcd(MONITOR))[mdc]
    codings = observation["code"]["coding"]
    assert [c["code"] for c in codings if c["system"] == "http://loinc.org"] == loinc
    assert codings[-1]["system"] == MDC
    assert observation["category"][0]["coding"][0]["code"] == "vital-signs"


def test_metrics_without_a_loinc_equivalent_keep_only_mdc() -> None:
    perfusion = by_mdc(pcd(MONITOR))["150488"]
    assert perfusion["code"]["coding"] == [
        {"system": MDC, "code": "150488", "display": "MDC_BLD_PERF_INDEX"}
    ]
    assert "category" not in perfusion


@pytest.mark.parametrize(
    ("mdc", "quantity"),
    [
        ("150021", {"value": 120, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"}),
        ("150456", {"value": 97, "unit": "%", "system": UCUM, "code": "%"}),
        ("149530", {"value": 72, "unit": "beats/minute", "system": UCUM, "code": "/min"}),
        ("150364", {"value": 37.2, "unit": "°C", "system": UCUM, "code": "Cel"}),
        ("151562", {"value": 16, "unit": "breaths/minute", "system": UCUM, "code": "/min"}),
    ],
)
def test_mdc_units_become_ucum(mdc: str, quantity: dict[str, Any]) -> None:
    assert by_mdc(pcd(MONITOR))[mdc]["valueQuantity"] == quantity


@pytest.mark.parametrize(
    ("mdc", "device"),
    [("150021", f"{EUI}/1.1.1"), ("150456", f"{EUI}/1.2"), ("147842", EUI), ("151562", EUI)],
)
def test_observation_device_is_the_nearest_described_level(mdc: str, device: str) -> None:
    mapped = pcd(MONITOR)
    assert by_mdc(mapped)[mdc]["device"] == {"reference": url(mapped, devices(mapped)[device])}


def test_effective_time_status_and_identity_of_readings() -> None:
    mapped = pcd(MONITOR)
    readings = by_mdc(mapped)
    assert readings["150021"]["effectiveDateTime"] == "2024-03-21T10:14:30+00:00"
    assert readings["150456"]["effectiveDateTime"] == "2024-03-21T10:15:00+00:00"
    assert {r["status"] for r in readings.values()} == {"preliminary"}
    for reading in readings.values():
        assert reading["identifier"][0]["system"] == READING_SYSTEM
        assert entry_of(mapped, reading)["request"]["method"] == "POST"
    assert len(readings) == 9


def test_device_rows_are_not_observations() -> None:
    assert "69965" not in by_mdc(pcd(MONITOR))


def test_redelivery_produces_the_same_entries() -> None:
    again = MONITOR.replace(b"|PCD-000917|", b"|PCD-000918|")
    assert pcd(MONITOR).bundle_entries == pcd(again).bundle_entries


def test_hold_policy_references_the_patient_by_identifier() -> None:
    mapped = pcd(MONITOR, "hold")
    assert of_type(mapped, "Patient") == []
    reference = "Patient?identifier=urn:oid:2.16.840.1.113883.3.72.5.30.1|HO2009001"
    assert {o["subject"]["reference"] for o in of_type(mapped, "Observation")} == {reference}
    assert devices(mapped)[EUI]["patient"] == {"reference": reference}


def test_monitor_not_associated_with_a_patient_reports_on_itself() -> None:
    mapped = pcd(fixture_bytes("hl7v2/oru_r01_pcd01_unassociated.hl7"))
    assert of_type(mapped, "Patient") == []
    (mds,) = of_type(mapped, "Device")
    assert mds["identifier"][0]["value"] == "00-A0-37-00-9B-02-36-49"
    assert "patient" not in mds
    for observation in of_type(mapped, "Observation"):
        assert observation["subject"] == {"reference": url(mapped, mds)}
        assert observation["device"] == {"reference": url(mapped, mds)}


def test_pcd01_is_recognised_by_mdc_codes_without_msh21() -> None:
    mapped = pcd(fixture_bytes("hl7v2/oru_r01_pcd01_v24_no_profile.hl7"))
    assert of_type(mapped, "DiagnosticReport") == []
    readings = by_mdc(mapped)
    systolic = readings["150017"]
    assert systolic["code"]["coding"][0]["code"] == "8480-6"  # found by reference id
    assert systolic["valueQuantity"]["code"] == "mm[Hg]"  # unit found by numeric code
    assert readings["150344"]["code"]["coding"][0]["code"] == "8310-5"
    (mds,) = of_type(mapped, "Device")
    assert mds["identifier"][0]["value"] == "08-00-19-FF-FE-14-43-EC"


def test_a_corrected_reading_is_upserted() -> None:
    mapped = pcd(fixture_bytes("hl7v2/oru_r01_pcd01_v24_no_profile.hl7"))
    corrected = by_mdc(mapped)["150456"]
    assert corrected["status"] == "corrected"
    assert entry_of(mapped, corrected)["request"]["method"] == "PUT"


def test_non_eui64_equipment_identifier_uses_its_namespace() -> None:
    payload = fixture_bytes("hl7v2/oru_r01_pcd01_unassociated.hl7").replace(
        b"00A037009B023649^EUI-64", b"SN-4711^ACME^1.2.3.4^ISO"
    )
    (mds,) = of_type(pcd(payload), "Device")
    assert mds["identifier"] == [{"system": "urn:oid:1.2.3.4", "value": "SN-4711"}]


def test_no_patient_and_no_device_is_refused() -> None:
    payload = fixture_bytes("hl7v2/oru_r01_pcd01_unassociated.hl7").replace(
        b"|00A037009B023649^EUI-64", b"|"
    )
    with pytest.raises(MappingError) as caught:
        OruMapper().map(payload, make_ctx())
    assert caught.value.code == "required-missing"
