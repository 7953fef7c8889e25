"""The coded value an operation is about, given exactly one way.

``code`` (with ``system``), ``coding`` or ``codeableConcept``, as every R4 terminology
operation asks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fhir_server.errors import InvalidRequest
from terminology.params import Inputs

JSON = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Coded:
    """One system|code to work on (a Coding, however it was given)."""

    system: str | None
    code: str
    version: str | None = None
    display: str | None = None

    def label(self) -> str:
        """``system#code`` for messages."""
        return f"{self.system}#{self.code}" if self.system else self.code

    def coding(self) -> JSON:
        """As a FHIR Coding."""
        out: JSON = {"system": self.system} if self.system else {}
        if self.version:
            out["version"] = self.version
        out["code"] = self.code
        if self.display:
            out["display"] = self.display
        return out


def _from_coding(coding: Any, where: str) -> Coded:
    if not isinstance(coding, dict):
        raise InvalidRequest(f"{where} must be a Coding")
    code = coding.get("code")
    if not isinstance(code, str) or not code:
        raise InvalidRequest(f"{where} has no code")
    values = [coding.get(k) for k in ("system", "version", "display")]
    if not all(v is None or isinstance(v, str) for v in values):
        raise InvalidRequest(f"{where}: system, version and display must be strings")
    system, version, display = values
    return Coded(system, code, version, display)


def coded(
    inputs: Inputs, *, system: str | None = "system", version: str = "version"
) -> list[Coded]:
    """The codings given (several only for a codeableConcept).

    Args:
        inputs: the call's parameters.
        system: the name of the operation's system parameter; None when it has none
            (CodeSystem/$validate-code takes the system from the code system).
        version: the name of its code system version parameter.
    """
    given = [name for name in ("code", "coding", "codeableConcept") if inputs.has(name)]
    where = inputs.signature.name
    if len(given) != 1:
        raise InvalidRequest(f"{where} needs exactly one of code, coding or codeableConcept")
    if inputs.has("display") and given != ["code"]:
        raise InvalidRequest(f"{where}: display goes with code (a Coding carries its own)")
    if given == ["code"]:
        code = inputs.text("code")
        assert code is not None
        system_value = inputs.text(system) if system else None
        if system and system_value is None:
            raise InvalidRequest(f"{where}: a code needs a {system}")
        return [Coded(system_value, code, inputs.text(version), inputs.text("display"))]
    if given == ["coding"]:
        found = [_from_coding(inputs.json("coding"), f"{where}: coding")]
    else:
        codings = (inputs.json("codeableConcept") or {}).get("coding")
        if not isinstance(codings, list) or not codings:
            raise InvalidRequest(f"{where}: codeableConcept has no coding")
        found = [_from_coding(c, f"{where}: codeableConcept.coding") for c in codings]
    if system and any(c.system is None for c in found):
        raise InvalidRequest(f"{where}: every coding needs a system")
    return found
