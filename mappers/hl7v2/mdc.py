"""IEEE 11073-10101 (MDC) vital-sign codes translated to LOINC.

The table (and the equivalent MDC -> LOINC ConceptMap that ``$translate`` serves) lives in
``terminology.mdc``; this module turns an OBX-3 CodeableConcept into one that carries the
LOINC codings first. Codes are looked up by MDC reference id first, since some devices send
wrong numeric codes with the right name, then by numeric code.
"""

from __future__ import annotations

from fhir_server.ingest.spec import JSON
from terminology.loinc import LOINC, display
from terminology.mdc import MDC, vital_sign

__all__ = ["LOINC", "MDC", "loinc_codings", "with_loinc"]


def loinc_codings(mdc_code: str, reference_id: str) -> list[JSON]:
    """The LOINC codings of an MDC vital-sign code (empty when it has none)."""
    term = vital_sign(mdc_code.strip(), reference_id.strip())
    if term is None:
        return []
    return [{"system": LOINC, "code": code, "display": display(code)} for code, _ in term.loinc]


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
