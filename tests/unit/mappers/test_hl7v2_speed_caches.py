"""What the HL7 v2 mappers memoise across messages never leaks from one message to another."""

from __future__ import annotations

import json

from mapper_fixtures import make_ctx

from mappers.hl7v2.oru import OruMapper
from mappers.hl7v2.segments import parse

MSH = "MSH|^~\\&|APP|FAC|||20240101120000||ORU^R01|{control}|P|2.5.1"


def _oru(control: str, obx: str) -> bytes:
    return "\r".join(
        (
            MSH.format(control=control),
            "PID|||123^^^HOSP^MR||Doe^John",
            "OBR|1||R1|85354-9^Vitals^LN|||20240101120000",
            obx,
        )
    ).encode()


def test_the_same_field_value_splits_by_each_message_own_delimiters() -> None:
    standard = parse(f"{MSH.format(control='1')}\rZZZ|a^b*c".encode()).require("ZZZ")
    custom = parse(b"MSH|*~$&|APP|FAC|||20240101||ADT*A01|2|P|2.5.1\rZZZ|a^b*c").require("ZZZ")
    assert standard.first(1).components == (("a",), ("b*c",))
    assert custom.first(1).components == (("a^b",), ("c",))


def test_escape_sequences_decode_with_each_message_own_escape_character() -> None:
    backslash = parse(f"{MSH.format(control='1')}\rZZZ|x\\S\\y$S$z".encode()).require("ZZZ")
    dollar = parse(b"MSH|^~$&|APP|FAC|||20240101||ADT^A01|2|P|2.5.1\rZZZ|x\\S\\y$S$z")
    assert backslash.text(1) == "x^y$S$z"
    assert dollar.require("ZZZ").text(1) == "x\\S\\y^z"


def test_long_values_split_like_short_ones() -> None:
    long_value = "~".join(f"{n}^part{n}&sub" for n in range(40))
    segment = parse(f"{MSH.format(control='1')}\rZZZ|{long_value}".encode()).require("ZZZ")
    reps = segment.repetitions(1)
    assert len(long_value) > 64
    assert len(reps) == 40
    assert reps[39].get(1) == "39"
    assert reps[39].subcomponents(2) == ("part39", "sub")


def test_fields_past_the_end_and_empty_fields_read_as_empty() -> None:
    segment = parse(f'{MSH.format(control="1")}\rZZZ|a||""'.encode()).require("ZZZ")
    for n in (2, 3, 4, 50):
        assert segment.repetitions(n) == ()
        assert segment.first(n).components == ()
        assert segment.text(n, 2, 3) == ""


def test_mapping_a_message_again_gives_equal_but_unshared_resources() -> None:
    obx = "OBX|1|NM|8867-4^Heart rate^LN||72|/min^^UCUM|60-100|N|||F|||20240101120000"
    mapper = OruMapper()
    first = mapper.map(_oru("C1", obx), make_ctx("placeholder"))
    snapshot = json.dumps(first.bundle_entries)
    first.bundle_entries[1]["resource"]["code"]["coding"][0]["code"] = "changed"
    first.bundle_entries[1]["resource"]["valueQuantity"]["unit"] = "changed"
    first.bundle_entries[1]["resource"]["referenceRange"][0]["low"]["value"] = -1
    again = mapper.map(_oru("C1", obx), make_ctx("placeholder"))
    assert json.dumps(again.bundle_entries) == snapshot


def test_a_shared_timestamp_keeps_each_message_zone() -> None:
    obx = "OBX|1|NM|8867-4^Heart rate^LN||72|/min^^UCUM|||||F|||20240101120000"
    utc = OruMapper().map(_oru("C1", obx), make_ctx()).bundle_entries[0]["resource"]
    assert utc["effectiveDateTime"] == "2024-01-01T12:00:00+00:00"
    with_offset = _oru("C2", obx).replace(b"20240101120000||ORU", b"20240101120000+0200||ORU")
    shifted = OruMapper().map(with_offset, make_ctx()).bundle_entries[0]["resource"]
    assert shifted["effectiveDateTime"] == "2024-01-01T12:00:00+02:00"
