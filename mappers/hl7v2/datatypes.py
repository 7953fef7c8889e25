"""HL7 v2 composite data types as FHIR data types (v2-to-FHIR IG data type maps).

HD/EI -> Identifier.system, CX -> Identifier, CWE/CE/CNE -> CodeableConcept,
XPN -> HumanName, XAD -> Address, XTN -> ContactPoint. Every builder returns a compacted
value, or None when the HL7 value is empty.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import quote

from fhir_server.ingest.spec import JSON, compact
from mappers.hl7v2 import tables
from mappers.hl7v2.options import Hl7v2Options
from mappers.hl7v2.segments import Composite

_OID = re.compile(r"^[0-2](\.(0|[1-9]\d*))+$")
_HL7_TABLE = re.compile(r"^HL7(\d{4})$")
AUTHORITY_PREFIX = "urn:fhir-server:assigning-authority:"


def authority_system(
    namespace: str, universal_id: str, universal_id_type: str, options: Hl7v2Options
) -> str | None:
    """The Identifier.system of an HD (or the authority parts of an EI).

    A configured namespace wins; then an ISO OID, UUID or URI universal id; then a URN
    made from the namespace. None when the HD is empty.
    """
    namespace, universal_id = namespace.strip(), universal_id.strip()
    kind = universal_id_type.strip().upper()
    if namespace in options.authority_systems:
        return options.authority_systems[namespace]
    if universal_id.startswith("urn:"):
        return universal_id
    if kind == "ISO" and _OID.match(universal_id):
        return f"urn:oid:{universal_id}"
    if kind == "UUID" and universal_id:
        return f"urn:uuid:{universal_id.lower()}"
    if kind == "URI" and universal_id:
        return universal_id
    name = namespace or universal_id
    return _authority_urn(name) if name else None


@lru_cache(maxsize=256)
def _authority_urn(name: str) -> str:
    return AUTHORITY_PREFIX + quote(name, safe="")


def _hd_system(composite: Composite, component: int, options: Hl7v2Options) -> str | None:
    namespace, universal_id, kind = (*composite.subcomponents(component), "", "", "")[:3]
    return authority_system(namespace, universal_id, kind, options)


def identifier(cx: Composite, options: Hl7v2Options, default_system: str | None) -> JSON | None:
    """A CX as an Identifier.

    Its system comes from CX-4 (assigning authority), else ``default_system`` (the
    sender), else CX-6 (assigning facility): a feed naming no sender still keys a patient
    by the facility that assigned the identifier.
    """
    value = cx.get(1).strip()
    if not value:
        return None
    system = _hd_system(cx, 4, options) or default_system or _hd_system(cx, 6, options)
    type_code = cx.get(5).strip()
    result: JSON = {}
    if type_code:
        result["type"] = {"coding": [{"system": tables.V2 + "0203", "code": type_code}]}
    if system:
        result["system"] = system
    result["value"] = value
    return result


def coding_system(name: str, options: Hl7v2Options) -> str | None:
    """The CodeSystem URI of a table 0396 coding-system name, if known."""
    name = name.strip()
    if name in options.coding_systems:
        return options.coding_systems[name]
    return _table_0396(name.upper())


@lru_cache(maxsize=256)
def _table_0396(name: str) -> str | None:
    table = _HL7_TABLE.match(name)
    if table:
        return tables.V2 + table[1]
    return tables.CODING_SYSTEMS.get(name)


def _coding(cwe: Composite, first: int, options: Hl7v2Options) -> JSON | None:
    """The coding of one CWE triplet (code, display, coding system) starting at ``first``."""
    code = cwe.get(first).strip()
    if not code:
        return None
    coding: JSON = {}
    system = coding_system(cwe.get(first + 2), options)
    if system:
        coding["system"] = system
    coding["code"] = " ".join(code.split())
    display = cwe.get(first + 1).strip()
    if display:
        coding["display"] = display
    return coding


def codeable_concept(cwe: Composite, options: Hl7v2Options) -> JSON | None:
    """A CWE/CE/CNE as a CodeableConcept: primary and alternate triplets, original text."""
    if not cwe.components:
        return None
    codings = [c for c in (_coding(cwe, 1, options), _coding(cwe, 4, options)) if c]
    text = cwe.get(9).strip() or (cwe.get(2).strip() if not codings else "")
    concept: JSON = {"coding": codings} if codings else {}
    if text:
        concept["text"] = text
    return concept or None


def human_name(xpn: Composite) -> JSON | None:
    """An XPN as a HumanName (family, given, further given, suffix, prefix, degree, use)."""
    given = [g for g in (xpn.get(2).strip(), *xpn.get(3).split()) if g]
    suffix = [s for s in (xpn.get(4).strip(), xpn.get(6).strip()) if s]
    name: JSON = compact(
        {
            "use": tables.NAME_USE.get(xpn.get(7).strip().upper()),
            "family": xpn.get(1).strip(),
            "given": given,
            "prefix": [xpn.get(5).strip()],
            "suffix": suffix,
        }
    )
    return name if name.keys() - {"use"} else None


def address(xad: Composite) -> JSON | None:
    """An XAD as an Address; type M (mailing) becomes ``type: postal``."""
    kind = xad.get(7).strip().upper()
    lines = [xad.get(1).strip(), xad.get(2).strip()]
    result: JSON = compact(
        {
            "use": tables.ADDRESS_USE.get(kind),
            "type": "postal" if kind == "M" else None,
            "line": lines,
            "city": xad.get(3).strip(),
            "district": xad.get(9).strip(),
            "state": xad.get(4).strip(),
            "postalCode": xad.get(5).strip(),
            "country": xad.get(6).strip(),
        }
    )
    return result if result.keys() - {"use", "type"} else None


def _phone_number(xtn: Composite) -> str:
    unformatted = xtn.get(12).strip()
    if unformatted:
        return unformatted
    country, area, local, extension = (xtn.get(i).strip() for i in (5, 6, 7, 8))
    if not local:
        return xtn.get(1).strip()
    number = " ".join(p for p in (f"+{country}" if country else "", area, local) if p)
    return f"{number} ext. {extension}" if extension else number


def contact_point(xtn: Composite, default_use: str) -> JSON | None:
    """An XTN as a ContactPoint; ``default_use`` applies when XTN-2 gives none."""
    use_code, equipment = xtn.get(2).strip().upper(), xtn.get(3).strip().upper()
    email = xtn.get(4).strip()
    system = tables.TELECOM_SYSTEM.get(equipment, "phone")
    if email or use_code == "NET":
        system = "email"
    elif use_code == "BPN":
        system = "pager"
    value = email or _phone_number(xtn)
    use = "mobile" if equipment == "CP" else tables.TELECOM_USE.get(use_code, default_use)
    point: JSON = compact({"system": system, "value": value, "use": use})
    return point if "value" in point else None


def entity_identifier(
    ei: Composite, options: Hl7v2Options, default_system: str | None
) -> JSON | None:
    """An EI (entity id ^ namespace ^ universal id ^ type) as an Identifier."""
    value = ei.get(1).strip()
    if not value:
        return None
    system = authority_system(ei.get(2), ei.get(3), ei.get(4), options) or default_system
    return {"system": system, "value": value} if system else {"value": value}
