"""The declarative device template format, validated when a template is loaded.

A template says, in JSON or YAML, how one vendor's JSON payload becomes FHIR: which
payloads it applies to (``match``), where the device id, patient identifier, message id
and timestamps are (JMESPath expressions, https://jmespath.org), and which Observations
to emit. Fields named ``system``, ``code``, ``display``, ``unit`` and ``category`` are
literal; ``match``, ``message_id``, ``id``, ``model``, ``foreach``, ``timestamp``,
``value``, ``data`` and ``sample_rate_hz`` are expressions. Every expression is compiled
at load, so a typo is reported with the template and field, not at the first message::

    name: acme-scale
    match: "vendor == 'acme' && kind == 'weight'"
    device: {system: "urn:acme:serial", id: "device.serial"}
    patient: {system: "urn:oid:1.2.3", id: "user.mrn"}
    timestamp: "measured_at"
    readings:
      - kind: quantity
        code: [{system: "http://loinc.org", code: "29463-7", display: "Body weight"}]
        value: "weight_kg"
        unit: {code: kg}

Reading kinds: ``quantity`` (valueQuantity), ``panel`` (an Observation with components,
e.g. blood pressure 85354-9 with 8480-6/8462-4) and ``sampled`` (valueSampledData for
waveforms: ECG, pleth). ``foreach`` makes one reading per element of a list; expressions
inside a reading (``timestamp``, ``value``, ``data``, ...) are evaluated on that element.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jmespath
from jmespath.exceptions import JMESPathError
from jmespath.parser import ParsedResult
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)


@lru_cache(maxsize=1024)
def compiled(expression: str) -> ParsedResult:
    """The compiled form of a JMESPath expression."""
    return jmespath.compile(expression)


def _expression(value: str) -> str:
    try:
        compiled(value)
    except JMESPathError as exc:
        raise ValueError(f"invalid JMESPath expression {value!r}: {exc}") from exc
    return value


Expression = Annotated[str, Field(min_length=1), AfterValidator(_expression)]
Category = Literal["vital-signs", "laboratory", "activity", "survey"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Coding(_Strict):
    """A literal Coding."""

    system: str = Field(min_length=1)
    code: str = Field(min_length=1)
    display: str | None = None


class Unit(_Strict):
    """A UCUM unit: ``code`` is the UCUM code, ``display`` the human-readable unit."""

    code: str = Field(min_length=1)
    display: str | None = None


class DeviceSpec(_Strict):
    """Where the device identity is: Device.identifier = ``system`` + ``id``."""

    system: str = Field(min_length=1)
    id: Expression
    type: list[Coding] = []
    manufacturer: str | None = None
    model: Expression | None = None


class PatientSpec(_Strict):
    """Where the patient identity is: Patient.identifier = ``system`` + ``id``."""

    system: str = Field(min_length=1)
    id: Expression


class _Reading(_Strict):
    foreach: Expression | None = None
    code: list[Coding] = Field(min_length=1)
    category: Category | None = "vital-signs"
    timestamp: Expression | None = None


class QuantityReading(_Reading):
    """One Observation with a valueQuantity."""

    kind: Literal["quantity"]
    value: Expression
    unit: Unit


class Component(_Strict):
    """One component of a panel."""

    code: list[Coding] = Field(min_length=1)
    value: Expression
    unit: Unit


class PanelReading(_Reading):
    """One Observation with components (blood pressure and other panels)."""

    kind: Literal["panel"]
    components: list[Component] = Field(min_length=1)


class SampledReading(_Reading):
    """One Observation with valueSampledData: ``data`` gives the samples (a list).

    The interval is ``period_ms`` or, from the payload, ``1000 / sample_rate_hz``.
    """

    kind: Literal["sampled"]
    data: Expression
    unit: Unit
    period_ms: float | None = Field(default=None, gt=0)
    sample_rate_hz: Expression | None = None
    origin: float = 0
    factor: float | None = None
    dimensions: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _one_interval(self) -> SampledReading:
        if (self.period_ms is None) == (self.sample_rate_hz is None):
            raise ValueError("a sampled reading needs exactly one of period_ms, sample_rate_hz")
        return self


Reading = Annotated[QuantityReading | PanelReading | SampledReading, Field(discriminator="kind")]


class Template(_Strict):
    """One vendor payload shape and how it maps to FHIR."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    description: str = ""
    match: Expression
    message_id: Expression | None = None
    device: DeviceSpec
    patient: PatientSpec | None = None
    timestamp: Expression | None = None
    timestamp_format: Literal["iso8601", "epoch_s", "epoch_ms"] = "iso8601"
    timezone: str = "UTC"
    readings: list[Reading] = Field(min_length=1)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _every_reading_has_a_time(self) -> Template:
        if self.timestamp is None:
            for index, reading in enumerate(self.readings):
                if reading.timestamp is None:
                    raise ValueError(
                        f"readings[{index}] has no timestamp and the template sets none"
                    )
        return self
