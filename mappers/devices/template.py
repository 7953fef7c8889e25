"""The declarative device template format, validated when a template is loaded.

A template says, in JSON or YAML, how one vendor's JSON payload becomes FHIR: which
payloads it applies to (``match``), where the device id, patient identifier, message id
and timestamps are (JMESPath expressions, https://jmespath.org), and which Observations
to emit. Fields named ``system``, ``code``, ``display``, ``unit`` and ``category`` are
literal; ``match``, ``message_id``, ``records``, ``reading_id``, ``timezone_from``,
``id``, ``model``, ``foreach``, ``timestamp``, the parts of ``effective``, ``key``,
``value``, ``exponent``, ``data`` and ``sample_rate_hz`` are expressions. Every
expression is compiled at load, so a typo is reported with the template and field, not
at the first message::

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

Where the payload decides, a reading takes ``code_by`` instead of ``code`` and
``unit_by`` instead of ``unit``: a lookup table keyed by the value of an expression
(``{key: "body.glucose.unit", map: {"mg/dL": ..., "mmol/L": ...}}``); a key missing from
the table is a mapping error. ``effective`` instead of ``timestamp`` reads an instant or a
period (start, end, or either with a duration). ``required: true`` makes a missing value
an error instead of a skipped reading; ``patient.required: false`` lets a payload without
patient identifier make the Device the subject; ``reading_id`` adds the vendor's record id
to every reading's deterministic identifier; ``message_digest: true`` adds a digest of the
payload to the message key, so a different payload reusing a message id is still mapped
(and checked) while an exact resend remains a duplicate.

``exponent`` scales a quantity (or component) value by a power of ten the payload gives:
the value is multiplied by ``10 ** exponent`` (an integer from -20 to 20), computed in
decimal so ``7240`` with exponent ``-2`` is exactly ``72.4`` (Withings writes every
measure so). ``timezone_from`` reads the IANA time zone from the payload instead of the
literal ``timezone``: offset-less ISO timestamps are read in it and every instant is
written in it (a payload without one is a mapping error; ``|| 'UTC'`` gives a default).

``records`` splits a payload into records mapped like payloads of their own, into one
transaction: each has its own Device, Patient and readings (the measure groups of a
Withings response, taken by different devices; the points of a Fitbit series, whose
date is outside them). Every expression but ``match``, ``message_id`` and ``records``
is then evaluated on ``{"record": <element>, "payload": <the whole payload>}``; a
payload without records is a mapping error.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Generic, Literal, TypeVar
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


T = TypeVar("T")
Codes = Annotated[list[Coding], Field(min_length=1)]


class Lookup(_Strict, Generic[T]):
    """A table chosen by the payload: ``map[value of key]``; a missing key is an error."""

    key: Expression
    map: dict[str, T] = Field(min_length=1)


class Effective(_Strict):
    """When a reading was taken: FHIR ``effectiveDateTime`` or ``effectivePeriod``.

    ``date_time`` gives an instant; when it gives nothing, ``start`` and ``end`` give a
    period, one of them computed from the other and ``duration`` (an object ``{value,
    unit}``, unit ``ms``, ``s``/``sec``, ``min``, ``h``, ``d``, ``wk``, ``mo``/``Mo`` or
    ``a``/``yr``; months and years are the UCUM mean Julian ones) when it is missing.
    """

    date_time: Expression | None = None
    start: Expression | None = None
    end: Expression | None = None
    duration: Expression | None = None

    @model_validator(mode="after")
    def _something_to_read(self) -> Effective:
        if self.date_time is None and self.start is None and self.end is None:
            raise ValueError("effective needs date_time, start or end")
        if self.duration is not None and self.start is None and self.end is None:
            raise ValueError("effective.duration needs start or end")
        return self


class DeviceSpec(_Strict):
    """Where the device identity is: Device.identifier = ``system`` + ``id``.

    ``link_patient: false`` leaves ``Device.patient`` unset, for a source many patients
    share (an app, a hub).
    """

    system: str = Field(min_length=1)
    id: Expression
    type: list[Coding] = []
    manufacturer: str | None = None
    model: Expression | None = None
    link_patient: bool = True


class PatientSpec(_Strict):
    """Where the patient identity is: Patient.identifier = ``system`` + ``id``.

    With ``required: false`` a payload without the identifier is mapped with the Device
    as the subject; otherwise it is a mapping error.
    """

    system: str = Field(min_length=1)
    id: Expression
    required: bool = True


def _exactly_one(owner: str, **fields: object) -> None:
    if sum(value is not None for value in fields.values()) != 1:
        raise ValueError(f"{owner} needs exactly one of {', '.join(fields)}")


class _Reading(_Strict):
    foreach: Expression | None = None
    code: Codes | None = None
    code_by: Lookup[Codes] | None = None
    category: Category | None = "vital-signs"
    timestamp: Expression | None = None
    effective: Effective | None = None
    required: bool = False

    @model_validator(mode="after")
    def _one_code_and_time(self) -> _Reading:
        _exactly_one("a reading", code=self.code, code_by=self.code_by)
        if self.timestamp is not None and self.effective is not None:
            raise ValueError("a reading takes timestamp or effective, not both")
        return self

    @property
    def has_time(self) -> bool:
        """Whether the reading says itself when it was taken."""
        return self.timestamp is not None or self.effective is not None


class QuantityReading(_Reading):
    """One Observation with a valueQuantity; ``exponent`` scales it by a power of ten."""

    kind: Literal["quantity"]
    value: Expression
    exponent: Expression | None = None
    unit: Unit | None = None
    unit_by: Lookup[Unit] | None = None

    @model_validator(mode="after")
    def _one_unit(self) -> QuantityReading:
        _exactly_one("a quantity reading", unit=self.unit, unit_by=self.unit_by)
        return self


class Component(_Strict):
    """One component of a panel; ``required: true`` makes a missing value an error."""

    code: Codes
    value: Expression
    exponent: Expression | None = None
    unit: Unit | None = None
    unit_by: Lookup[Unit] | None = None
    required: bool = False

    @model_validator(mode="after")
    def _one_unit(self) -> Component:
        _exactly_one("a component", unit=self.unit, unit_by=self.unit_by)
        return self


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
    message_digest: bool = False
    records: Expression | None = None
    reading_id: Expression | None = None
    device: DeviceSpec
    patient: PatientSpec | None = None
    timestamp: Expression | None = None
    effective: Effective | None = None
    timestamp_format: Literal["iso8601", "epoch_s", "epoch_ms"] = "iso8601"
    timezone: str = "UTC"
    timezone_from: Expression | None = None
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
    def _digest_of_an_id(self) -> Template:
        if self.message_digest and self.message_id is None:
            raise ValueError("message_digest needs message_id")
        return self

    @model_validator(mode="after")
    def _every_reading_has_a_time(self) -> Template:
        if self.timestamp is not None and self.effective is not None:
            raise ValueError("a template takes timestamp or effective, not both")
        if self.timestamp is None and self.effective is None:
            for index, reading in enumerate(self.readings):
                if not reading.has_time:
                    raise ValueError(
                        f"readings[{index}] has no timestamp and the template sets none"
                    )
        return self
