"""HL7 v2 tables mapped to FHIR codes.

Sources: the HL7 Version 2 to FHIR IG concept maps (http://hl7.org/fhir/uv/v2mappings,
CSVs in github.com/HL7/v2-to-fhir ``mappings/codesystems``). Where the IG leaves a code
unmapped, the choice made here is marked ``# not in IG``.
"""

from __future__ import annotations

from typing import Final

from fhir_server.ingest.spec import JSON

V2 = "http://terminology.hl7.org/CodeSystem/v2-"
V3_ACT_CODE: Final = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
V3_INTERPRETATION: Final = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
OBSERVATION_CATEGORY: Final = "http://terminology.hl7.org/CodeSystem/observation-category"

# Table 0001 administrative sex -> AdministrativeGender (table-hl70001-to-administrative-gender).
ADMINISTRATIVE_SEX: Final = {
    "F": "female",
    "M": "male",
    "O": "other",
    "U": "unknown",
    "A": "other",
    "N": "other",
    "FEMALE": "female",  # not in IG: the word, as some feeds send it
    "MALE": "male",
}

# Table 0085 observation result status -> Observation.status (table-hl70085-to-observation-status).
RESULT_STATUS: Final = {
    "A": "amended",
    "B": "amended",  # not in IG: appended to a final report
    "C": "corrected",
    "D": "entered-in-error",
    "F": "final",
    "I": "registered",  # not in IG: specimen in lab, results pending
    "N": "cancelled",  # not in IG: not asked
    "O": "registered",  # not in IG: order detail only, no result
    "P": "preliminary",
    "R": "preliminary",  # not in IG: entered, not verified (the usual PCD-01 status)
    "S": "preliminary",  # not in IG: partial
    "U": "final",  # not in IG: status changed to final without retransmission
    "V": "final",  # not in IG: verified
    "W": "entered-in-error",
    "X": "cancelled",
}

# Table 0123 result status (OBR-25) -> DiagnosticReport.status.
REPORT_STATUS: Final = {
    "O": "registered",
    "I": "registered",
    "S": "registered",
    "A": "partial",
    "P": "preliminary",
    "C": "corrected",
    "R": "partial",
    "F": "final",
    "X": "cancelled",
}

# Table 0078 abnormal flags whose v3-ObservationInterpretation code is the same code.
INTERPRETATION: Final = frozenset(
    {
        "<", ">", "A", "AA", "B", "CAR", "D", "DET", "E", "EX", "EXP", "H", "HH", "HU", "I",
        "IE", "IND", "L", "LL", "LU", "MS", "N", "NCL", "ND", "NEG", "NR", "NS", "POS", "R",
        "RR", "S", "SDD", "SYN-R", "SYN-S", "U", "UNE", "VS", "W", "WR",
    }
)  # fmt: skip
# Table 0078 codes with no v3 equivalent: kept in the v2-0078 code system.
INTERPRETATION_V2_ONLY: Final = frozenset({"AC", "HM", "OBX", "QCF", "TOX"})

# Table 0004 patient class -> Encounter.class (table-hl70004-to-encounter-class).
PATIENT_CLASS: Final = {
    "E": (V3_ACT_CODE, "EMER", "emergency"),
    "I": (V3_ACT_CODE, "IMP", "inpatient encounter"),
    "O": (V3_ACT_CODE, "AMB", "ambulatory"),
    "P": (V3_ACT_CODE, "PRENC", "pre-admission"),
    "R": (V2 + "0004", "R", "Recurring patient"),
    "B": (V2 + "0004", "B", "Obstetrics"),
    "C": (V2 + "0004", "C", "Commercial Account"),
    "N": (V2 + "0004", "N", "Not Applicable"),
    "U": (V2 + "0004", "U", "Unknown"),
}

# Trigger event -> Encounter.status (table-hl70003-to-encounter-status). A04 registers an
# outpatient who "has arrived or checked in" (v2 chapter 3), so it maps to arrived rather
# than the IG's planned; A08 reads PV1-44/PV1-45 instead of the IG's unknown.
ENCOUNTER_STATUS: Final = {
    "A01": "in-progress",
    "A02": "in-progress",
    "A03": "finished",
    "A04": "arrived",
    "A05": "planned",
    "A11": "cancelled",
    "A13": "in-progress",
}

# Table 0200 name type -> HumanName.use.
NAME_USE: Final = {
    "BAD": "old",
    "D": "usual",
    "L": "official",
    "M": "maiden",
    "MSK": "anonymous",
    "N": "nickname",
    "NAV": "temp",
    "R": "official",
    "TEMP": "temp",
}

# Table 0190 address type -> Address.use (or Address.type for M).
ADDRESS_USE: Final = {
    "B": "work",
    "BA": "old",
    "C": "temp",
    "H": "home",
    "O": "work",
    "P": "home",
    "V": "temp",
}

# Table 0201 telecommunication use code -> ContactPoint.use.
TELECOM_USE: Final = {"PRN": "home", "ORN": "home", "VHN": "home", "WPN": "work"}

# Table 0202 telecommunication equipment type -> ContactPoint.system.
TELECOM_SYSTEM: Final = {
    "PH": "phone",
    "CP": "phone",
    "FX": "fax",
    "BP": "pager",
    "INTERNET": "email",
    "X.400": "email",
    "MD": "other",
    "TDD": "other",
    "TTY": "other",
}

# Table 0396 coding system names -> CodeSystem URIs.
CODING_SYSTEMS: Final = {
    "LN": "http://loinc.org",
    "LOINC": "http://loinc.org",
    "MDC": "urn:iso:std:iso:11073:10101",
    "SCT": "http://snomed.info/sct",
    "SNM": "http://snomed.info/sct",
    "SNOMED-CT": "http://snomed.info/sct",
    "UCUM": "http://unitsofmeasure.org",
    "I10": "http://hl7.org/fhir/sid/icd-10",
    "I10C": "http://hl7.org/fhir/sid/icd-10-cm",
    "ICD10CM": "http://hl7.org/fhir/sid/icd-10-cm",
    "I9C": "http://hl7.org/fhir/sid/icd-9-cm",
    "C4": "http://www.ama-assn.org/go/cpt",
    "CPT": "http://www.ama-assn.org/go/cpt",
    "RXNORM": "http://www.nlm.nih.gov/research/umls/rxnorm",
    "NDC": "http://hl7.org/fhir/sid/ndc",
    "CVX": "http://hl7.org/fhir/sid/cvx",
}

# LOINC codes of the FHIR vital signs profiles (https://hl7.org/fhir/R4/observation-vitalsigns.html).
VITAL_SIGNS_LOINC: Final = frozenset(
    {
        "85353-1", "9279-1", "8867-4", "2708-6", "59408-5", "8310-5", "8302-2", "9843-4",
        "29463-7", "39156-5", "85354-9", "8480-6", "8462-4", "8478-0",
    }
)  # fmt: skip


def category(code: str) -> JSON:
    """An Observation.category of the observation-category code system."""
    return {"coding": [{"system": OBSERVATION_CATEGORY, "code": code}]}
