"""Operation input and output: URL parameters or a ``Parameters`` body, checked against R4.

https://hl7.org/fhir/R4/operations.html#request. Each operation declares its R4 IN
parameters with their types; a name it does not declare is a 400, a declared one the server
does not implement is a 400 ``not-supported``, and complex values (Coding,
CodeableConcept, resources) can only come in a ``Parameters`` body, as R4 says.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from fhir_server.errors import InvalidRequest, UnsupportedParameter

JSON = dict[str, Any]
Kind = Literal["text", "boolean", "integer", "Coding", "CodeableConcept", "resource"]

_TEXT_KEYS = (
    "valueCode",
    "valueUri",
    "valueString",
    "valueCanonical",
    "valueUrl",
    "valueId",
    "valueOid",
    "valueUuid",
)
_COMPLEX: frozenset[Kind] = frozenset({"Coding", "CodeableConcept", "resource"})


@dataclass(frozen=True, slots=True)
class Signature:
    """The IN parameters of one operation.

    Attributes:
        name: the operation, e.g. ``ValueSet/$expand`` (used in messages).
        params: supported parameter name -> kind.
        repeating: the supported parameters allowed more than once.
        unsupported: R4 parameters of the operation this server does not implement.
    """

    name: str
    params: Mapping[str, Kind]
    repeating: frozenset[str] = frozenset()
    unsupported: frozenset[str] = frozenset()


class Inputs:
    """The validated IN parameters of one call."""

    def __init__(self, signature: Signature, values: dict[str, list[Any]]) -> None:
        """Hold ``values`` (already converted to their kinds)."""
        self.signature = signature
        self._values = values

    @classmethod
    def from_query(cls, signature: Signature, pairs: Iterable[tuple[str, str]]) -> Inputs:
        """Parameters from the URL (``_format`` and other ``_`` parameters are skipped)."""
        values: dict[str, list[Any]] = {}
        for name, raw in pairs:
            if name.startswith("_"):
                continue
            kind = _kind(signature, name)
            if kind in _COMPLEX:
                raise InvalidRequest(
                    f"{signature.name}: {name} is a {kind}; send it in a Parameters body (POST)"
                )
            values.setdefault(name, []).append(_from_text(signature, name, kind, raw))
        return cls._checked(signature, values)

    @classmethod
    def from_body(
        cls, signature: Signature, body: Any, pairs: Iterable[tuple[str, str]] = ()
    ) -> Inputs:
        """Parameters from a ``Parameters`` body, plus any given in the URL."""
        if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
            raise InvalidRequest(f"{signature.name}: the body must be a Parameters resource")
        entries = body.get("parameter", [])
        if not isinstance(entries, list):
            raise InvalidRequest("Parameters.parameter must be an array")
        values = {k: list(v) for k, v in cls.from_query(signature, pairs)._values.items()}
        for entry in entries:
            name = entry.get("name") if isinstance(entry, dict) else None
            if not isinstance(name, str):
                raise InvalidRequest("Each Parameters.parameter needs a name")
            kind = _kind(signature, name)
            values.setdefault(name, []).append(_from_json(signature, name, kind, entry))
        return cls._checked(signature, values)

    @classmethod
    def _checked(cls, signature: Signature, values: dict[str, list[Any]]) -> Inputs:
        for name, found in values.items():
            if len(found) > 1 and name not in signature.repeating:
                raise InvalidRequest(f"{signature.name}: {name} may be given only once")
        return cls(signature, values)

    def has(self, name: str) -> bool:
        """Whether the parameter was given."""
        return name in self._values

    def text(self, name: str) -> str | None:
        """A code, uri, string or canonical parameter."""
        value = self._one(name)
        return None if value is None else str(value)

    def texts(self, name: str) -> list[str]:
        """All values of a repeating text parameter."""
        return [str(v) for v in self._values.get(name, [])]

    def values(self, name: str) -> list[Any]:
        """Every value given for ``name``, of whatever kind."""
        return list(self._values.get(name, []))

    def boolean(self, name: str, default: bool = False) -> bool:
        """A boolean parameter."""
        value = self._one(name)
        return default if value is None else bool(value)

    def integer(self, name: str) -> int | None:
        """A non-negative integer parameter."""
        value = self._one(name)
        return None if value is None else int(value)

    def json(self, name: str) -> JSON | None:
        """A Coding, CodeableConcept or resource parameter."""
        value: JSON | None = self._one(name)
        return value

    def resource(self, name: str, resource_type: str) -> JSON | None:
        """The ``resource_type`` given inline as ``name``; it cannot come with ``url`` too."""
        given = self.json(name)
        if given is not None and (given.get("resourceType") != resource_type or self.has("url")):
            where = self.signature.name
            raise InvalidRequest(f"{where}: give either url or a {resource_type} in {name}")
        return given

    def _one(self, name: str) -> Any:
        found = self._values.get(name)
        return found[0] if found else None


def _kind(signature: Signature, name: str) -> Kind:
    if name in signature.unsupported:
        raise UnsupportedParameter(
            f"{signature.name}: the parameter {name} is not supported by this server",
            code="terminology-unsupported-parameter",
        )
    kind = signature.params.get(name)
    if kind is None:
        known = ", ".join(sorted(signature.params))
        raise InvalidRequest(f"{signature.name} has no parameter {name!r} (known: {known})")
    return kind


def _from_text(signature: Signature, name: str, kind: Kind, raw: str) -> Any:
    if kind == "boolean":
        if raw not in ("true", "false"):
            raise InvalidRequest(f"{signature.name}: {name} must be true or false, not {raw!r}")
        return raw == "true"
    if kind == "integer":
        if not (raw.isascii() and raw.isdigit()):
            raise InvalidRequest(f"{signature.name}: {name} must be a non-negative integer")
        return int(raw)
    if not raw:
        raise InvalidRequest(f"{signature.name}: {name} has no value")
    return raw


def _from_json(signature: Signature, name: str, kind: Kind, entry: JSON) -> Any:
    where = f"{signature.name}: parameter {name}"
    if kind == "resource":
        resource = entry.get("resource")
        if not isinstance(resource, dict):
            raise InvalidRequest(f"{where} needs a resource")
        return resource
    if kind in ("Coding", "CodeableConcept"):
        value = entry.get(f"value{kind}")
        if not isinstance(value, dict):
            raise InvalidRequest(f"{where} needs value{kind}")
        return value
    if kind == "boolean":
        value = entry.get("valueBoolean")
        if not isinstance(value, bool):
            raise InvalidRequest(f"{where} needs valueBoolean")
        return value
    if kind == "integer":
        value = entry.get("valueInteger")
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise InvalidRequest(f"{where} needs a non-negative valueInteger")
        return value
    text = next((entry[k] for k in _TEXT_KEYS if k in entry), None)
    if not isinstance(text, str) or not text:
        raise InvalidRequest(f"{where} needs a value (valueCode, valueUri or valueString)")
    return text


def parameters(parts: Sequence[JSON]) -> JSON:
    """A ``Parameters`` resource holding ``parts``."""
    return {"resourceType": "Parameters", "parameter": list(parts)}


def part(name: str, value_type: str, value: Any) -> JSON:
    """One output parameter, e.g. ``part("result", "Boolean", True)``."""
    return {"name": name, f"value{value_type}": value}
