"""Site configuration of the HL7 v2 mappers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@dataclass(frozen=True, slots=True)
class Hl7v2Options:
    """What a site tells the HL7 v2 mappers about its feeds.

    Attributes:
        authority_systems: assigning-authority namespace (HD-1, e.g. ``HOSP``) to the
            Identifier.system URI to use; wins over the OID an HD may carry.
        coding_systems: coding-system name (CWE-3, e.g. ``99LAB``) to a CodeSystem URI,
            added to the HL7 table 0396 names known by default.
        default_timezone: IANA zone of timestamps that carry no offset when MSH-7 does not
            carry one either (HL7 says they are in the sender's local time).
    """

    authority_systems: Mapping[str, str] = field(default_factory=dict)
    coding_systems: Mapping[str, str] = field(default_factory=dict)
    default_timezone: str = "UTC"

    def __post_init__(self) -> None:
        try:  # fail at configuration time, not on every message
            ZoneInfo(self.default_timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {self.default_timezone!r}") from exc
