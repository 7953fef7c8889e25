"""IEEE 11073-10101 (MDC) vital-sign codes and their map to LOINC.

The LOINC codes are those of the FHIR vital signs profiles, as the HL7 Point-of-Care
Device and Personal Health Device IGs pair them (for example MDC_PULS_OXIM_PULS_RATE
149530 with 8867-4 in the PHD IG). The table gives two resources: a CodeSystem *fragment*
of MDC (the numeric code, its reference id as display) and the ConceptMap
:data:`MDC_TO_LOINC` for ``$translate``; ``mappers.hl7v2.mdc`` reads the same table.
MDC is far larger than this: every other MDC code is unknown here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from terminology.loinc import LOINC, display

MDC: Final = "urn:iso:std:iso:11073:10101"
MDC_TO_LOINC: Final = "urn:fhir-server:ConceptMap/mdc-to-loinc-vital-signs"


@dataclass(frozen=True, slots=True)
class MdcTerm:
    """One MDC vital-sign term.

    Attributes:
        code: the MDC numeric code (context-free, as sent in OBX-3).
        reference_id: the MDC reference id, e.g. ``MDC_PULS_OXIM_SAT_O2``.
        meaning: what it measures, in words.
        loinc: (LOINC code, R4 ConceptMap equivalence of the LOINC code to this term),
            in the order codings are emitted.
    """

    code: str
    reference_id: str
    meaning: str
    loinc: tuple[tuple[str, str], ...]


_WIDER_HR = (("8867-4", "wider"),)

VITAL_SIGNS: Final = (
    MdcTerm(
        "150456",
        "MDC_PULS_OXIM_SAT_O2",
        "Oxygen saturation by pulse oximetry (SpO2)",
        (("59408-5", "equivalent"), ("2708-6", "wider")),
    ),
    MdcTerm("147842", "MDC_ECG_HEART_RATE", "Heart rate from the ECG", _WIDER_HR),
    MdcTerm("149530", "MDC_PULS_OXIM_PULS_RATE", "Pulse rate by pulse oximetry", _WIDER_HR),
    MdcTerm("149546", "MDC_PULS_RATE_NON_INV", "Pulse rate, non-invasive", _WIDER_HR),
    MdcTerm(
        "150021",
        "MDC_PRESS_BLD_NONINV_SYS",
        "Systolic blood pressure, non-invasive",
        (("8480-6", "wider"),),
    ),
    MdcTerm(
        "150022",
        "MDC_PRESS_BLD_NONINV_DIA",
        "Diastolic blood pressure, non-invasive",
        (("8462-4", "wider"),),
    ),
    MdcTerm(
        "150023",
        "MDC_PRESS_BLD_NONINV_MEAN",
        "Mean blood pressure, non-invasive",
        (("8478-0", "wider"),),
    ),
    MdcTerm("150364", "MDC_TEMP_BODY", "Body temperature", (("8310-5", "equivalent"),)),
    MdcTerm("150344", "MDC_TEMP", "Temperature, site not stated", (("8310-5", "narrower"),)),
    MdcTerm("151562", "MDC_RESP_RATE", "Respiratory rate", (("9279-1", "equivalent"),)),
)
BY_CODE: Final = {term.code: term for term in VITAL_SIGNS}
BY_REFERENCE_ID: Final = {term.reference_id: term for term in VITAL_SIGNS}

_NARROWER_COMMENT = (
    "MDC_TEMP does not name the site; vital-sign monitors report body temperature with it, "
    "so it is mapped to body temperature."
)


def vital_sign(code: str, reference_id: str) -> MdcTerm | None:
    """The term a device sent: by reference id first (some send wrong numeric codes)."""
    return BY_REFERENCE_ID.get(reference_id) or BY_CODE.get(code)


def code_system() -> dict[str, Any]:
    """The MDC vital-sign codes as a CodeSystem resource (``content: fragment``)."""
    return {
        "resourceType": "CodeSystem",
        "id": "mdc-vital-signs-fragment",
        "url": MDC,
        "name": "MDC",
        "title": "ISO/IEEE 11073-10101 nomenclature (vital signs fragment)",
        "status": "active",
        "description": "A fragment of the IEEE 11073-10101 (MDC) nomenclature: the vital-sign "
        "codes this server maps to LOINC. Any other MDC code is unknown to this server.",
        "caseSensitive": True,
        "content": "fragment",
        "concept": [
            {"code": t.code, "display": t.reference_id, "definition": t.meaning}
            for t in VITAL_SIGNS
        ],
    }


def _target(code: str, equivalence: str) -> dict[str, Any]:
    target = {"code": code, "display": display(code), "equivalence": equivalence}
    if equivalence == "narrower":  # R4: the sense in which it is narrower SHALL be described
        target["comment"] = _NARROWER_COMMENT
    return target


def concept_map() -> dict[str, Any]:
    """The MDC -> LOINC vital-sign ConceptMap."""
    return {
        "resourceType": "ConceptMap",
        "id": "mdc-to-loinc-vital-signs",
        "url": MDC_TO_LOINC,
        "version": "1",
        "name": "MdcToLoincVitalSigns",
        "title": "IEEE 11073-10101 (MDC) vital signs to LOINC",
        "status": "active",
        "description": "The LOINC codes of the FHIR vital signs profiles for MDC vital-sign "
        "codes, as the HL7 Point-of-Care Device and Personal Health Device IGs pair them.",
        "group": [
            {
                "source": MDC,
                "target": LOINC,
                "element": [
                    {
                        "code": t.code,
                        "display": t.reference_id,
                        "target": [_target(code, eq) for code, eq in t.loinc],
                    }
                    for t in VITAL_SIGNS
                ],
            }
        ],
    }
