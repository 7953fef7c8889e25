"""OBX-5 ED (encapsulated data) and RP (reference pointer) values as an Attachment.

R4 Observation has no ``valueAttachment``, so the v2-to-FHIR OBX[Observation] map puts
ED (Base64) and RP values in the R5 cross-version extension for ``Observation.value[x]``
(http://hl7.org/fhir/5.0/StructureDefinition/extension-Observation.value) with a
``valueAttachment``. ED data in any table 0299 encoding (A, Hex, Base64) becomes base64;
ED-2/ED-3 and RP-3/RP-4 give the content type when they name a MIME type.
"""

from __future__ import annotations

import base64
import binascii
import re

from fhir_server.ingest.spec import JSON, MappingError, SegmentLocation
from mappers.hl7v2.segments import Composite

VALUE_EXTENSION = "http://hl7.org/fhir/5.0/StructureDefinition/extension-Observation.value"
_TOP_LEVEL = {
    "AP": "application",
    "APPLICATION": "application",
    "AU": "audio",
    "AUDIO": "audio",
    "IM": "image",
    "IMAGE": "image",
    "MULTIPART": "multipart",
    "TEXT": "text",
    "TX": "text",
    "VIDEO": "video",
}
_TOKEN = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*$")


def _content_type(kind: str, subtype: str) -> str | None:
    """The MIME type of a table 0191 type of data and its subtype, when they name one."""
    subtype = subtype.strip().lower()
    top, _, sub = subtype.partition("/")
    if sub and _TOKEN.match(top) and _TOKEN.match(sub):
        return subtype
    main = _TOP_LEVEL.get(kind.strip().upper())
    return f"{main}/{subtype}" if main and _TOKEN.match(subtype) else None


def _base64(data: str, encoding: str, where: SegmentLocation) -> str:
    try:
        if encoding == "BASE64":
            compact = "".join(data.split())
            base64.b64decode(compact, validate=True)
            return compact
        if encoding == "HEX":
            return base64.b64encode(bytes.fromhex(data)).decode("ascii")
    except (binascii.Error, ValueError) as exc:
        raise MappingError(
            f"ED data is not valid {encoding.title()}", code="invalid-value", location=where
        ) from exc
    if encoding in ("A", ""):
        return base64.b64encode(data.encode("utf-8")).decode("ascii")
    raise MappingError(
        f"ED encoding {encoding!r} is not one of A, Hex, Base64",
        code="invalid-value",
        location=where,
    )


def _extension(attachment: JSON) -> JSON:
    return {"extension": [{"url": VALUE_EXTENSION, "valueAttachment": attachment}]}


def encapsulated(ed: Composite, where: SegmentLocation) -> JSON:
    """An ED value as the Attachment extension; empty when ED-5 holds no data."""
    data = ed.get(5)
    if not data.strip():
        return {}
    attachment: JSON = {}
    content_type = _content_type(ed.get(2), ed.get(3))
    if content_type:
        attachment["contentType"] = content_type
    attachment["data"] = _base64(data, ed.get(4).strip().upper(), where)
    return _extension(attachment)


def pointer(rp: Composite) -> JSON:
    """An RP value as the Attachment extension (its pointer as ``url``); empty without one."""
    target = rp.get(1).strip()
    if not target:
        return {}
    attachment: JSON = {}
    content_type = _content_type(rp.get(3), rp.get(4))
    if content_type:
        attachment["contentType"] = content_type
    attachment["url" if not any(c.isspace() for c in target) else "title"] = target
    return _extension(attachment)
