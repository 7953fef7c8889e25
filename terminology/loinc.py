"""A LOINC fragment: the codes of the FHIR R4 vital signs profiles, with their LOINC names.

This is **not** LOINC: it holds the 14 codes of http://hl7.org/fhir/R4/observation-vitalsigns.html
(the panel, its members, the blood-pressure components, mean blood pressure and the
pulse-oximetry SpO2 code that device feeds use), so that ``$lookup`` and ``$validate-code``
answer for them. The CodeSystem says ``content: fragment``; any other LOINC code is
unknown here, and operations that would need all of LOINC say so instead of guessing.
The displays are the LOINC long common names. LOINC is copyright Regenstrief Institute,
Inc., available at no cost under the license at http://loinc.org/license.
"""

from __future__ import annotations

from typing import Any, Final

LOINC: Final = "http://loinc.org"

VITAL_SIGNS: Final = {
    "85353-1": "Vital signs, weight, height, head circumference, oxygen saturation and BMI panel",
    "9279-1": "Respiratory rate",
    "8867-4": "Heart rate",
    "2708-6": "Oxygen saturation in Arterial blood",
    "59408-5": "Oxygen saturation in Arterial blood by Pulse oximetry",
    "8310-5": "Body temperature",
    "8302-2": "Body height",
    "9843-4": "Head Occipital-frontal circumference",
    "29463-7": "Body weight",
    "39156-5": "Body mass index (BMI) [Ratio]",
    "85354-9": "Blood pressure panel with all children optional",
    "8480-6": "Systolic blood pressure",
    "8462-4": "Diastolic blood pressure",
    "8478-0": "Mean blood pressure",
}
"""LOINC code -> long common name."""


def display(code: str) -> str:
    """The LOINC name of a vital-sign code of this fragment (KeyError for any other)."""
    return VITAL_SIGNS[code]


def code_system() -> dict[str, Any]:
    """The fragment as a CodeSystem resource (``content: fragment``)."""
    return {
        "resourceType": "CodeSystem",
        "id": "loinc-vital-signs-fragment",
        "url": LOINC,
        "name": "LOINC",
        "title": "LOINC (vital signs fragment)",
        "status": "active",
        "publisher": "Regenstrief Institute, Inc.",
        "description": "A fragment of LOINC: only the codes of the FHIR R4 vital signs "
        "profiles. Any other LOINC code is unknown to this server.",
        "copyright": "LOINC is copyright Regenstrief Institute, Inc. and the LOINC "
        "Committee, available at no cost under the license at http://loinc.org/license",
        "caseSensitive": False,
        "content": "fragment",
        "concept": [{"code": code, "display": name} for code, name in VITAL_SIGNS.items()],
    }
