"""OBX-6 units as UCUM (http://unitsofmeasure.org).

A unit coded in UCUM (CWE-3 ``UCUM``) is trusted as is; a unit in MDC (IEEE 11073-10101,
as IHE PCD-01 sends them) is translated through :data:`MDC_UNITS`; a bare unit string is
looked up in :data:`COMMON_UNITS`, which holds the spellings lab systems use for valid
UCUM codes. Anything else is kept as ``Quantity.unit`` text without a code, so no unit is
invented.
"""

from __future__ import annotations

from typing import Final

from fhir_server.ingest.spec import JSON
from mappers.hl7v2.segments import Composite

UCUM: Final = "http://unitsofmeasure.org"

# MDC unit reference id -> (UCUM code, human-readable unit).
MDC_UNITS: Final = {
    "MDC_DIM_PERCENT": ("%", "%"),
    "MDC_DIM_BEAT_PER_MIN": ("/min", "beats/minute"),
    "MDC_DIM_RESP_PER_MIN": ("/min", "breaths/minute"),
    "MDC_DIM_MMHG": ("mm[Hg]", "mmHg"),
    "MDC_DIM_KILO_PA": ("kPa", "kPa"),
    "MDC_DIM_DEGC": ("Cel", "°C"),
    "MDC_DIM_FAHR": ("[degF]", "°F"),
    "MDC_DIM_KILO_G": ("kg", "kg"),
    "MDC_DIM_CENTI_M": ("cm", "cm"),
    "MDC_DIM_MILLI_G_PER_DL": ("mg/dL", "mg/dL"),
    "MDC_DIM_MILLI_MOLE_PER_L": ("mmol/L", "mmol/L"),
    "MDC_DIM_MILLI_VOLT": ("mV", "mV"),
    "MDC_DIM_MICRO_VOLT": ("uV", "µV"),
    "MDC_DIM_PER_SEC": ("/s", "/s"),
    "MDC_DIM_DIMLESS": ("1", "1"),
    "MDC_DIM_SEC": ("s", "s"),
    "MDC_DIM_G": ("g", "g"),
    "MDC_DIM_MILLI_G": ("mg", "mg"),
    "MDC_DIM_KG_PER_M_SQ": ("kg/m2", "kg/m2"),
}
# The same units by MDC numeric code, for senders that leave out the reference id.
MDC_UNIT_CODES: Final = {
    "262688": "MDC_DIM_PERCENT",
    "264864": "MDC_DIM_BEAT_PER_MIN",
    "264928": "MDC_DIM_RESP_PER_MIN",
    "266016": "MDC_DIM_MMHG",
    "268192": "MDC_DIM_DEGC",
    "263875": "MDC_DIM_KILO_G",
    "263441": "MDC_DIM_CENTI_M",
    "266418": "MDC_DIM_MILLI_VOLT",
    "264608": "MDC_DIM_PER_SEC",
    "262656": "MDC_DIM_DIMLESS",
}

# Unit spellings seen in lab and device feeds -> UCUM code.
COMMON_UNITS: Final = {
    unit.lower(): code
    for code, spellings in {
        "%": ["%", "percent"],
        "/min": ["/min", "bpm", "beats/min", "breaths/min", "1/min"],
        "mm[Hg]": ["mm[Hg]", "mmHg", "mm Hg"],
        "Cel": ["Cel", "degC", "°C", "C"],
        "[degF]": ["[degF]", "degF", "°F"],
        "kg": ["kg"],
        "g": ["g"],
        "[lb_av]": ["[lb_av]", "lb", "lbs"],
        "cm": ["cm"],
        "m": ["m"],
        "mL": ["mL", "ml"],
        "L": ["L", "l"],
        "mg/dL": ["mg/dL", "mg/dl"],
        "g/dL": ["g/dL", "g/dl"],
        "g/L": ["g/L", "g/l"],
        "mmol/L": ["mmol/L", "mmol/l", "mM"],
        "umol/L": ["umol/L", "µmol/L", "umol/l"],
        "meq/L": ["meq/L", "mEq/L", "meq/l"],
        "U/L": ["U/L", "IU/L", "u/l"],
        "ng/mL": ["ng/mL", "ng/ml"],
        "pg/mL": ["pg/mL", "pg/ml"],
        "ug/dL": ["ug/dL", "µg/dL"],
        "10*3/uL": ["10*3/uL", "K/uL", "x10E3/uL", "10^3/uL"],
        "10*6/uL": ["10*6/uL", "M/uL", "x10E6/uL", "10^6/uL"],
        "10*9/L": ["10*9/L", "x10E9/L", "10^9/L"],
        "fL": ["fL", "fl"],
        "pg": ["pg"],
        "s": ["s", "sec"],
        "mL/min/{1.73_m2}": ["mL/min/{1.73_m2}", "mL/min/1.73m2"],
        "kg/m2": ["kg/m2"],
    }.items()
    for unit in spellings
}


def mdc_unit(reference_id: str, code: str) -> JSON | None:
    """The UCUM quantity fields of an MDC unit, if it is one this table knows."""
    name = reference_id if reference_id in MDC_UNITS else MDC_UNIT_CODES.get(code, "")
    if name not in MDC_UNITS:
        return None
    ucum, display = MDC_UNITS[name]
    return {"unit": display, "system": UCUM, "code": ucum}


def quantity_unit(units: Composite) -> JSON:
    """The ``unit``/``system``/``code`` of a Quantity from OBX-6 (empty when OBX-6 is)."""
    code, text, system = units.get(1).strip(), units.get(2).strip(), units.get(3).strip()
    if system.upper() == "MDC":
        known = mdc_unit(text, code)
        if known is not None:
            return known
        return {"unit": text or code}
    if system.upper() == "UCUM" and code:
        return {"unit": text or code, "system": UCUM, "code": code}
    ucum = COMMON_UNITS.get(code.lower()) if code else None
    if ucum is not None:
        return {"unit": text or code, "system": UCUM, "code": ucum}
    label = text or code
    return {"unit": label} if label else {}
