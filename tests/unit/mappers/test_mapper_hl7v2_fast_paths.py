"""The shortcuts taken on the mapping hot path give what the general path gives."""

from __future__ import annotations

import uuid
from datetime import UTC
from zoneinfo import ZoneInfo

import pytest

from fhir_server.ingest.spec import IdentifierKey, MappingError, SegmentLocation, compact, full_url
from mappers.hl7v2._hl7apy import Delimiters
from mappers.hl7v2.escape import unescape
from mappers.hl7v2.segments import parse
from mappers.hl7v2.timestamps import to_date, to_datetime

MSH = "MSH|^~\\&|APP|FAC|||20240101120000||ADT^A01|CTRL1|P|2.5.1"
STANDARD = Delimiters("|", "^", "~", "\\", "&")


def _general_split(raw: str) -> list[tuple[tuple[str, ...], ...]]:
    """Field splitting written the slow, obvious way, for comparison."""
    reps = []
    for rep in raw.split("~") if raw and raw != '""' else []:
        components = tuple(
            tuple("" if s == '""' else unescape(s, STANDARD) for s in c.split("&"))
            for c in rep.split("^")
        )
        if any(any(c) for c in components):
            reps.append(components)
    return reps


@pytest.mark.parametrize(
    "raw",
    [
        "",
        '""',
        "plain",
        " padded ",
        "a^b^c",
        "a^^c^",
        '""^b',
        '^""^',
        "^^",
        "~",
        "a~~b",
        "~^~",
        '""~x',
        "a&b^c",
        '&""&',
        r"x\S\y",
        r"\H\\N\^b",
        r"\H\~y",
        "123^^^HOSP&1.2.3&ISO^MR~456^^^SSA^SS",
    ],
)
def test_field_splitting_matches_the_general_rule(raw: str) -> None:
    segment = parse(f"{MSH}\rZZZ|{raw}\rNTE|1".encode()).require("ZZZ")
    assert [r.components for r in segment.repetitions(1)] == _general_split(raw)
    expected = _general_split(raw)
    first = expected[0][0][0].strip() if expected else ""
    assert segment.text(1) == first
    assert segment.first(1).components == (expected[0] if expected else ())


def test_text_reads_components_and_subcomponents_past_the_end_as_empty() -> None:
    segment = parse(f"{MSH}\rZZZ|a^b&c".encode()).require("ZZZ")
    assert (segment.text(1, 2), segment.text(1, 2, 2), segment.text(1, 3), segment.text(9)) == (
        "b",
        "c",
        "",
        "",
    )


def test_full_url_is_the_uuid5_of_type_and_key() -> None:
    namespace = uuid.uuid5(uuid.NAMESPACE_URL, "urn:fhir-server:ingest")
    for value in ("MRN-1", "é/ü|x", "0" * 64, ""):
        key = IdentifierKey("urn:oid:1.2.3", value)
        expected = uuid.uuid5(namespace, f"Patient|urn:oid:1.2.3|{value}")
        assert full_url("Patient", key) == f"urn:uuid:{expected}"


def test_compact_recurses_into_subclasses_and_keeps_other_falsy_values() -> None:
    class Tagged(dict[str, object]):
        pass

    value = Tagged(a=Tagged(b="", c=[None, "", {}, []]), d=0.0, e=False, f=[[], ["x", ""]])
    assert compact(value) == {"d": 0.0, "e": False, "f": [["x"]]}
    assert compact(["", None, 0]) == [0]
    assert compact("") == ""


def test_memoised_timestamps_still_report_each_location() -> None:
    first, second = SegmentLocation("OBX", 1, 14), SegmentLocation("OBR", 2, 7)
    for where in (first, second):
        with pytest.raises(MappingError) as caught:
            to_datetime("20240230120000", where, UTC)
        assert caught.value.location == where
        with pytest.raises(MappingError) as caught:
            to_date("2024-02-01", where)
        assert caught.value.location == where


def test_memoised_timestamps_depend_on_the_default_zone() -> None:
    where = SegmentLocation("OBX", 1, 14)
    assert to_datetime("202401011200", where, UTC) == "2024-01-01T12:00:00+00:00"
    paris = to_datetime("202401011200", where, ZoneInfo("Europe/Paris"))
    assert paris == "2024-01-01T12:00:00+01:00"
