"""IEEE 11073-10101 (MDC) vital-sign codes translated to LOINC.

The LOINC codes are those of the FHIR vital signs profiles, as the HL7 Point-of-Care
Device and Personal Health Device IGs pair them (for example MDC_PULS_OXIM_PULS_RATE
149530 with 8867-4 in the PHD IG). Codes are looked up by MDC reference id first, since
some devices send wrong numeric codes with the right name, then by numeric code.
"""

from __future__ import annotations

from typing import Final

from fhir_server.ingest.spec import JSON

MDC: Final = "urn:iso:std:iso:11073:10101"
LOINC: Final = "http://loinc.org"

_HEART_RATE = (("8867-4", "Heart rate"),)
_BODY_TEMPERATURE = (("8310-5", "Body temperature"),)

# MDC numeric code -> (reference id, LOINC codes and displays).
VITAL_SIGNS: Final = {
    "150456": (
        "MDC_PULS_OXIM_SAT_O2",
        (
            ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"),
            ("2708-6", "Oxygen saturation in Arterial blood"),
        ),
    ),
    "147842": ("MDC_ECG_HEART_RATE", _HEART_RATE),
    "149530": ("MDC_PULS_OXIM_PULS_RATE", _HEART_RATE),
    "149546": ("MDC_PULS_RATE_NON_INV", _HEART_RATE),
    "150021": ("MDC_PRESS_BLD_NONINV_SYS", (("8480-6", "Systolic blood pressure"),)),
    "150022": ("MDC_PRESS_BLD_NONINV_DIA", (("8462-4", "Diastolic blood pressure"),)),
    "150023": ("MDC_PRESS_BLD_NONINV_MEAN", (("8478-0", "Mean blood pressure"),)),
    "150364": ("MDC_TEMP_BODY", _BODY_TEMPERATURE),
    "150344": ("MDC_TEMP", _BODY_TEMPERATURE),
    "151562": ("MDC_RESP_RATE", (("9279-1", "Respiratory rate"),)),
}
_BY_NAME: Final = dict(VITAL_SIGNS.values())


def loinc_codings(mdc_code: str, reference_id: str) -> list[JSON]:
    """The LOINC codings of an MDC vital-sign code (empty when it has none)."""
    known = _BY_NAME.get(reference_id.strip()) or VITAL_SIGNS.get(mdc_code.strip(), ("", ()))[1]
    return [{"system": LOINC, "code": code, "display": display} for code, display in known]


def with_loinc(code: JSON) -> tuple[JSON, bool]:
    """An OBX-3 CodeableConcept with LOINC codings put before its MDC coding.

    Returns:
        The concept, and whether a vital-sign translation was found.
    """
    for coding in code.get("coding", ()):
        if coding.get("system") == MDC:
            loinc = loinc_codings(coding.get("code", ""), coding.get("display", ""))
            if loinc:
                return {**code, "coding": [*loinc, *code["coding"]]}, True
    return code, False
