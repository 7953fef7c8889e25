"""Valid R4 resources of every type, generated from the vendored JSON schema (deterministic).

``minimal(type)`` holds only what R4 requires: the schema's ``required`` lists plus every
element whose StructureDefinition ``min`` is 1 (``tests/fixtures/r4-required-elements.json.gz``:
the sorted paths with ``min >= 1`` of the base resource and data type StructureDefinitions of
``profiles-resources.json`` and ``profiles-types.json``, kept where fhirpathpy's R4 model knows
the path; that copy reshapes EvidenceVariable.characteristic, so its R4 ``definition[x]``
(1..1) was added by hand).

``rich(type, variant)`` populates every element of the type, with complex data types nested
at most ``MAX_DEPTH`` levels (backbone elements do not count; a recursive backbone such as
``Questionnaire.item.item`` is entered once), one value per choice element (``variant``
takes the variant-th type of each choice), ``ARRAY_ITEMS`` items per array on the
resource and its backbone elements and one inside data types, a contained resource that a
``#id`` reference points to, references (variant 0: relative, typed by element name;
others: relative, versioned, absolute, contained, identifier only, in turn), UCUM
quantities, extensions, and primitive extensions (``_birthDate``) on the resource's own
primitives, one of them without a value.

Elements the vendored schema adds to R4 (its publisher's ``Meta.project`` and the like) are
left out: only paths of fhirpathpy's R4 model are generated.

Primitive values cycle through valid forms of their type (partial dates, dateTimes with
offsets, fractional seconds, canonicals with ``|version``, text needing search escapes), so
the output depends only on the arguments.
"""

from __future__ import annotations

import gzip
import json
from functools import cache
from itertools import count
from pathlib import Path
from typing import Any

from fhirpathpy.models import models

from conformance.definitions import json_schema, resource_types

MAX_DEPTH = 3
ARRAY_ITEMS = 2
UCUM = "http://unitsofmeasure.org"
_REQUIRED_FILE = Path(__file__).parents[1] / "fixtures" / "r4-required-elements.json.gz"
_MODEL: dict[str, Any] = models["r4"]
_XHTML = (
    '<div xmlns="http://www.w3.org/1999/xhtml"><p>Generated <b>narrative</b> &amp; text</p></div>'
)

_PRIMITIVES: dict[str, tuple[Any, ...]] = {
    "boolean": (True, False),
    "integer": (5, 0, -2, 1234),
    "positiveInt": (1, 3, 42),
    "unsignedInt": (0, 7, 365),
    "decimal": (72, 12.5, 0.001, -3.25, 1000000),
    "string": (
        "Alpha text",
        "Ünïcödé ñame 名前",
        "with, comma | pipe $ dollar \\ backslash",
        "multi\nline text",
    ),
    "markdown": ("**Bold** text\n\n* item one\n* item two",),
    "code": ("code-a", "code b"),
    "id": ("abc-1.2", "X9"),
    "uri": (
        "http://example.org/fhir/uri/1",
        "urn:oid:1.2.840.113619.6",
        "urn:uuid:6c8e7f1a-1b2c-4d3e-8f90-a1b2c3d4e5f6",
        "https://example.org/path?x=1&y=2",
    ),
    "url": ("https://example.org/endpoint", "http://example.org/fhir/Binary/b1"),
    "canonical": (
        "http://example.org/fhir/StructureDefinition/profile-1",
        "http://example.org/fhir/ValueSet/vs-1|1.0.0",
    ),
    "oid": ("urn:oid:1.2.840.10004.1",),
    "uuid": ("urn:uuid:0f8c2b6e-3d4a-4b5c-9d6e-7f8091a2b3c4",),
    "base64Binary": ("SGVsbG8gV29ybGQ=", "AAECAwQ="),
    "xhtml": (_XHTML,),
    "date": ("2021-03-04", "2019", "2020-07"),
    "dateTime": (
        "2021-03-04T10:20:30Z",
        "2019",
        "2020-07",
        "2021-03-04",
        "2021-03-04T10:20:30.123+02:00",
        "2022-11-30T23:59:59-05:00",
    ),
    "instant": ("2021-03-04T10:20:30.123Z", "2022-01-02T03:04:05+01:00"),
    "time": ("10:20:30", "08:00:00.5"),
}
_BY_NAME: dict[str, tuple[Any, ...]] = {
    "contentType": ("text/plain", "application/pdf"),
    "language": ("en-US", "nl"),
    "currency": ("EUR", "USD"),
    "version": ("1.0.0",),
}
_CODINGS = (
    ("http://loinc.org", "8867-4", "Heart rate"),
    ("http://snomed.info/sct", "38341003", "Hypertensive disorder"),
    ("http://www.nlm.nih.gov/research/umls/rxnorm", "1049502", "Oxycodone 10 MG"),
    ("urn:oid:2.16.840.1.113883.6.90", "E11.9", "Type 2 diabetes"),
)
_UNITS = {
    "Quantity": ("mg", "mm[Hg]", "kg", "/min"),
    "Age": ("a", "mo"),
    "Duration": ("min", "h", "d"),
    "Distance": ("km", "m"),
    "Count": ("1",),
}
_TARGETS = ("Patient", "Practitioner", "Organization", "Group", "Device")
_TARGET_BY_NAME = {
    "subject": ("Patient",),
    "patient": ("Patient",),
    "for": ("Patient",),
    "beneficiary": ("Patient",),
    "deliverTo": ("Patient",),
    "location": ("Location",),
    "actor": ("Patient", "Practitioner", "Location"),
    "who": ("Patient", "Practitioner"),
    "target": ("Patient", "Practitioner", "RelatedPerson"),
    "recorder": ("Practitioner",),
    "requester": ("Practitioner",),
    "collector": ("Practitioner",),
    "careManager": ("Practitioner",),
    "encounter": ("Encounter",),
    "context": ("Encounter",),
    "account": ("Account",),
}
"""Reference targets by element name, as R4 allows them (in turn; else ``_TARGETS``)."""
CONTAINED_ID = "c1"


@cache
def _required() -> frozenset[str]:
    paths: list[str] = json.loads(gzip.decompress(_REQUIRED_FILE.read_bytes()))
    return frozenset(paths)


@cache
def _choices(path: str) -> dict[str, tuple[str, str]]:
    """Schema property name -> (choice element, type) for the choices at model ``path``."""
    out = {}
    for choice_path, types in _MODEL["choiceTypePaths"].items():
        parent, _, base = choice_path.rpartition(".")
        if parent == path:
            for type_name in types:
                out[base + type_name] = (base, type_name)
    return out


@cache
def _r4_paths() -> frozenset[str]:
    """Every element path of R4's resources and data types (fhirpathpy's model)."""
    typed: dict[str, str] = _MODEL["path2Type"]
    elsewhere: dict[str, str] = _MODEL["pathsDefinedElsewhere"]
    return frozenset(typed) | set(elsewhere) | {path.rsplit(".", 1)[0] for path in typed}


def _canonical(path: str) -> str:
    elsewhere: dict[str, str] = _MODEL["pathsDefinedElsewhere"]
    return elsewhere.get(path, path)


def _type_of(type_name: str) -> str:
    """A choice type suffix (``DateTime``) as a schema definition name (``dateTime``)."""
    lowered = type_name[0].lower() + type_name[1:]
    return lowered if lowered in _PRIMITIVES else type_name


class _Builder:
    def __init__(self, rich: bool, variant: int) -> None:
        self.rich = rich
        self.variant = variant
        self.turn = count(variant)
        self.name = ""  # the element a hand-built data type is made for

    def pick(self, values: tuple[Any, ...]) -> Any:
        return values[next(self.turn) % len(values)]

    def resource(self, resource_type: str, id: str | None, *, top: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"resourceType": resource_type}
        if id is not None:
            out["id"] = id
        out.update(self.element(resource_type, resource_type, 0, (), top=top))
        return out

    def element(
        self, definition: str, path: str, depth: int, stack: tuple[str, ...], *, top: bool = False
    ) -> dict[str, Any]:
        schema = json_schema()["definitions"][definition]
        properties: dict[str, Any] = schema["properties"]
        required = set(schema.get("required", ()))
        choices = _choices(path)
        chosen: dict[str, str] = {}
        out: dict[str, Any] = {}
        for name, spec in properties.items():
            if name.startswith("_") or name == "resourceType" or (name == "id" and top):
                continue
            if name in choices:
                base, type_name = choices[name]
                wanted = self.rich or f"{path}.{base}[x]" in _required()
                if not wanted or chosen.setdefault(base, self._choose(path, base)) != type_name:
                    continue
                value = self.value(_type_of(type_name), name, path, depth, stack, array=False)
            else:
                element_path = f"{path}.{name}"
                if element_path not in _r4_paths():
                    continue  # an addition of the vendored schema's publisher, not R4
                if not (
                    name in required
                    or element_path in _required()
                    or self._optional(name, spec, depth, stack, top)
                ):
                    continue
                value = self.property(name, spec, element_path, depth, stack, top=top)
            if value is not None:
                out[name] = value
        if top and self.rich:
            self._primitive_extensions(definition, out, properties)
        return out

    def _choose(self, path: str, base: str) -> str:
        types = _MODEL["choiceTypePaths"][f"{path}.{base}"]
        return str(types[self.variant % len(types)] if self.rich else types[0])

    def _optional(
        self, name: str, spec: dict[str, Any], depth: int, stack: tuple[str, ...], top: bool
    ) -> bool:
        """Whether a rich resource populates an optional element here."""
        if not self.rich:
            return False
        if name == "contained":
            return top
        target = _definition_of(spec.get("items", spec))
        if target is None or target in _PRIMITIVES or target == "ResourceList":
            return True
        if "_" in target:
            return target not in stack
        return depth < MAX_DEPTH

    def property(
        self,
        name: str,
        spec: dict[str, Any],
        path: str,
        depth: int,
        stack: tuple[str, ...],
        *,
        top: bool,
    ) -> Any:
        if "enum" in spec:
            return self.pick(tuple(spec["enum"])) if self.rich else spec["enum"][0]
        if spec.get("type") == "array":
            items = spec["items"]
            if "enum" in items:
                return [items["enum"][0]]
            definition = _definition_of(items)
            assert definition is not None
            if name == "contained":
                return [self.contained()]
            n = ARRAY_ITEMS if self.rich and depth == 0 else 1
            values = [
                self.value(definition, name, path, depth, stack, array=True) for _ in range(n)
            ]
            return [v for v in values if v is not None] or None
        definition = _definition_of(spec)
        assert definition is not None, (path, spec)
        return self.value(definition, name, path, depth, stack, array=False)

    def value(
        self,
        definition: str,
        name: str,
        path: str,
        depth: int,
        stack: tuple[str, ...],
        *,
        array: bool,
    ) -> Any:
        if definition in _PRIMITIVES:
            return self.primitive(definition, name)
        if definition == "ResourceList":
            inner = _Builder(rich=False, variant=self.variant)
            return inner.resource(
                self.pick(("Patient", "Practitioner")), f"in{next(self.turn)}", top=True
            )
        special = _SPECIAL.get(definition)
        if special is not None:
            self.name = name
            return special(self, depth)
        if "_" in definition:  # a backbone element: its model path continues the parent's
            return self.element(definition, _canonical(path), depth, (*stack, definition)) or None
        return self.element(definition, definition, depth + 1, stack) or None

    def primitive(self, type_name: str, name: str) -> Any:
        if name in _BY_NAME and type_name in ("code", "string"):
            return self.pick(_BY_NAME[name])
        if name == "url" and type_name == "uri":
            return f"http://example.org/fhir/{name}/{next(self.turn)}"
        return self.pick(_PRIMITIVES[type_name])

    def contained(self) -> dict[str, Any]:
        inner = _Builder(rich=False, variant=self.variant).resource(
            "Practitioner", CONTAINED_ID, top=True
        )
        inner["name"] = [{"family": "Contained", "given": ["Pat"]}]
        return inner

    def _primitive_extensions(
        self, resource_type: str, out: dict[str, Any], properties: dict[str, Any]
    ) -> None:
        absent_done = False
        for name in list(out):
            if f"_{name}" not in properties or name == "id":
                continue
            extension = {"extension": [self.extension(MAX_DEPTH)]}
            if isinstance(out[name], list):
                out[f"_{name}"] = [None] * (len(out[name]) - 1) + [extension]
            elif not absent_done and name not in _required_names(resource_type):
                del out[name]  # the value is absent, only the extension says why
                out[f"_{name}"] = {"extension": [_DATA_ABSENT]}
                absent_done = True
            else:
                out[f"_{name}"] = extension

    # Data types built by hand: the generic walk would give values no one would send.

    def extension(self, depth: int) -> dict[str, Any]:
        types = _MODEL["choiceTypePaths"]["Extension.value"]
        type_name = str(self.pick(tuple(types)) if self.rich and depth < MAX_DEPTH else "String")
        definition = _type_of(type_name)
        url = f"http://example.org/fhir/StructureDefinition/ext-{definition.lower()}"
        value = self.value(definition, "value", "Extension", depth, (), array=False)
        return {"url": url, f"value{type_name}": value}

    def reference(self, depth: int) -> dict[str, Any]:
        n = next(self.turn)
        targets = _TARGET_BY_NAME.get(self.name, _TARGETS)
        target = targets[n % len(targets)]
        if not self.rich:
            return {"reference": f"{target}/p{n}"}
        style = 0 if self.variant == 0 else n % 5
        if style == 0:
            return {"reference": f"{target}/t{n}", "type": target, "display": "Relative"}
        if style == 1:
            return {"reference": f"{target}/t{n}/_history/2", "display": "Versioned"}
        if style == 2:
            return {"reference": f"https://other.example.org/fhir/{target}/x{n}", "type": target}
        if style == 3:
            return {"reference": f"#{CONTAINED_ID}", "display": "Contained"}
        return {"identifier": self.identifier(depth), "display": "Identifier only"}

    def coding(self, depth: int) -> dict[str, Any]:
        system, code, display = self.pick(_CODINGS)
        if not self.rich:
            return {"system": system, "code": code}
        return {
            "system": system,
            "version": "2024",
            "code": code,
            "display": display,
            "userSelected": True,
        }

    def codeable_concept(self, depth: int) -> dict[str, Any]:
        if not self.rich:
            return {"coding": [self.coding(depth)]}
        return {
            "coding": [self.coding(depth), self.coding(depth)],
            "text": self.pick(_PRIMITIVES["string"]),
        }

    def identifier(self, depth: int) -> dict[str, Any]:
        n = next(self.turn)
        value = ("MRN-{n}", "A|B,C$D-{n}", "{n}")[n % 3].format(n=n)
        out: dict[str, Any] = {
            "system": self.pick(("http://hospital.example.org/mrn", "urn:oid:1.2.36.146.595")),
            "value": value,
        }
        if self.rich:
            out["use"] = "official"
            out["type"] = {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}
                ],
                "text": "Medical record number",
            }
            out["period"] = self.period(depth)
            if depth < MAX_DEPTH:
                out["assigner"] = {"reference": f"Organization/o{n}", "display": "Hospital"}
        return out

    def period(self, depth: int) -> dict[str, Any]:
        start = self.pick(_PRIMITIVES["dateTime"])
        end = self.pick(("2024-01-01T00:00:00Z", "2024-02", "2025"))
        return {"start": start, "end": end} if self.rich else {"start": start}

    def quantity(self, kind: str) -> dict[str, Any]:
        unit = self.pick(_UNITS[kind])
        value = self.pick((72, 12.5, 0.25, 120))
        out: dict[str, Any] = {"value": value, "unit": unit, "system": UCUM, "code": unit}
        if self.rich and kind == "Quantity" and next(self.turn) % 3 == 0:
            out["comparator"] = "<"
        return out

    def range(self, depth: int) -> dict[str, Any]:
        unit = self.pick(_UNITS["Quantity"])
        return {
            "low": {"value": 1, "unit": unit, "system": UCUM, "code": unit},
            "high": {"value": 2.5, "unit": unit, "system": UCUM, "code": unit},
        }

    def ratio(self, depth: int) -> dict[str, Any]:
        return {
            "numerator": {"value": 5, "unit": "mg", "system": UCUM, "code": "mg"},
            "denominator": {"value": 1, "unit": "mL", "system": UCUM, "code": "mL"},
        }

    def money(self, depth: int) -> dict[str, Any]:
        return {"value": self.pick((10.5, 200)), "currency": self.pick(("EUR", "USD"))}

    def sampled_data(self, depth: int) -> dict[str, Any]:
        return {
            "origin": {"value": 0, "unit": "mV", "system": UCUM, "code": "mV"},
            "period": 10,
            "dimensions": 1,
            "data": "1 2 3 E U L",
        }

    def narrative(self, depth: int) -> dict[str, Any]:
        return {"status": "generated", "div": _XHTML}

    def attachment(self, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {"contentType": "text/plain", "data": "SGVsbG8gV29ybGQ="}
        if self.rich:
            out |= {
                "size": 11,
                "hash": "Ck1VqNd45QIvq3AZd8XYQLvEhtA=",
                "title": "Hello",
                "creation": "2021-03-04",
            }
        return out

    def human_name(self, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {
            "family": self.pick(("Chalmers", "Ötzi", "van der Berg")),
            "given": ["Peter", "James"],
        }
        if self.rich:
            out |= {
                "use": "official",
                "text": "Peter James Chalmers",
                "prefix": ["Dr"],
                "suffix": ["PhD"],
            }
            out["period"] = self.period(depth)
        return out

    def address(self, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {
            "line": ["534 Erewhon St"],
            "city": "PleasantVille",
            "postalCode": "3999",
            "country": "AU",
        }
        if self.rich:
            out |= {
                "use": "home",
                "type": "both",
                "text": "534 Erewhon St PleasantVille",
                "district": "Rainbow",
                "state": "Vic",
            }
        return out

    def contact_point(self, depth: int) -> dict[str, Any]:
        system = self.pick(("phone", "email", "url"))
        value = {
            "phone": "+31 20 555 0123",
            "email": "pat@example.org",
            "url": "https://example.org",
        }[system]
        out: dict[str, Any] = {"system": system, "value": value}
        if self.rich:
            out |= {"use": "work", "rank": 1, "period": self.period(depth)}
        return out


def _quantity_kind(kind: str) -> Any:
    return lambda builder, depth: builder.quantity(kind)


_SPECIAL: dict[str, Any] = {
    "Extension": _Builder.extension,
    "Reference": _Builder.reference,
    "Coding": _Builder.coding,
    "CodeableConcept": _Builder.codeable_concept,
    "Identifier": _Builder.identifier,
    "Period": _Builder.period,
    "Range": _Builder.range,
    "Ratio": _Builder.ratio,
    "Money": _Builder.money,
    "SampledData": _Builder.sampled_data,
    "Narrative": _Builder.narrative,
    "Attachment": _Builder.attachment,
    "HumanName": _Builder.human_name,
    "Address": _Builder.address,
    "ContactPoint": _Builder.contact_point,
    **{kind: _quantity_kind(kind) for kind in _UNITS},
}
_DATA_ABSENT = {
    "url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason",
    "valueCode": "unknown",
}


def _definition_of(spec: dict[str, Any]) -> str | None:
    ref = spec.get("$ref")
    return ref.rsplit("/", 1)[-1] if isinstance(ref, str) else None


@cache
def _required_names(resource_type: str) -> frozenset[str]:
    schema = json_schema()["definitions"][resource_type]
    own = {
        p.split(".")[1]
        for p in _required()
        if p.count(".") == 1 and p.startswith(f"{resource_type}.")
    }
    return frozenset(own | set(schema.get("required", ())))


def all_types() -> list[str]:
    """The 146 concrete R4 resource types, sorted."""
    return sorted(resource_types())


def minimal(resource_type: str) -> dict[str, Any]:
    """A resource of ``resource_type`` holding only the elements R4 requires."""
    return _Builder(rich=False, variant=0).resource(resource_type, "minimal", top=True)


def rich(resource_type: str, variant: int = 0) -> dict[str, Any]:
    """A resource of ``resource_type`` populating every element (see the module docstring)."""
    return _Builder(rich=True, variant=variant).resource(resource_type, f"rich-{variant}", top=True)
