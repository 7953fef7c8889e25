from __future__ import annotations

import pytest
from mapper_fixtures import fixture_bytes

from fhir_server.ingest.spec import MappingError, SegmentLocation
from mappers.hl7v2._hl7apy import Delimiters
from mappers.hl7v2.escape import unescape
from mappers.hl7v2.segments import parse

STANDARD = Delimiters("|", "^", "~", "\\", "&")
MSH = "MSH|^~\\&|APP|FAC|||20240101120000||ADT^A01^ADT_A01|CTRL1|P|2.5.1"


def _message(*segments: str, separator: str = "\r") -> bytes:
    return separator.join((MSH, *segments)).encode()


def test_parse_reads_header_version_and_type() -> None:
    message = parse(_message("PID|1||123^^^HOSP^MR"))
    assert message.version == "2.5.1"
    assert message.message_type == "ADT^A01"
    assert message.delimiters == STANDARD
    assert [s.name for s in message.segments] == ["MSH", "PID"]


def test_msh_fields_are_numbered_as_in_the_standard() -> None:
    msh = parse(_message()).msh
    assert (msh.raw(1), msh.raw(2), msh.text(3), msh.text(9, 2), msh.text(10)) == (
        "|",
        "^~\\&",
        "APP",
        "A01",
        "CTRL1",
    )


@pytest.mark.parametrize("separator", ["\r", "\r\n", "\n"])
def test_segment_separators_are_all_accepted(separator: str) -> None:
    message = parse(_message("PID|1||123", "PV1|1|I", separator=separator))
    assert [s.name for s in message.segments] == ["MSH", "PID", "PV1"]
    assert message.require("PV1").text(2) == "I"


def test_mllp_framing_and_blank_lines_are_ignored() -> None:
    message = parse(b"\x0b" + _message("", "PID|1||123", "") + b"\x1c\r")
    assert [s.name for s in message.segments] == ["MSH", "PID"]


def test_fields_repetitions_components_and_subcomponents() -> None:
    pid = parse(_message("PID|1||123^^^HOSP&1.2.3&ISO^MR~~456^^^SSA^SS||DOE^JOHN")).require("PID")
    first, second = pid.repetitions(3)
    assert first.subcomponents(4) == ("HOSP", "1.2.3", "ISO")
    assert (first.get(1), first.get(5), second.get(1)) == ("123", "MR", "456")
    assert pid.text(5, 2) == "JOHN"
    assert pid.text(5, 9) == ""
    assert pid.text(40) == ""


def test_explicit_null_reads_as_empty() -> None:
    pid = parse(_message('PID|1||""|""|DOE^""')).require("PID")
    assert pid.repetitions(3) == ()
    assert pid.raw(4) == ""
    assert pid.text(5, 2) == ""


def test_occurrences_are_counted_per_segment_id() -> None:
    message = parse(_message("OBX|1", "NTE|1", "OBX|2"))
    assert [(s.name, s.occurrence) for s in message.segments[1:]] == [
        ("OBX", 1),
        ("NTE", 1),
        ("OBX", 2),
    ]
    assert message.segments[3].location(5) == SegmentLocation("OBX", 2, 5)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r"a \F\ b \S\ c \T\ d \R\ e \E\ f", "a | b ^ c & d ~ e \\ f"),
        (r"\X0D0A\end", "\r\nend"),
        (r"\XC3A9\t\X41\ ", "étA "),
        (r"one\.br\two", "one\ntwo"),
        ("\\H\\bold\\N\\ text\\.sp2\\", "bold text"),
        ("\\C2842\\x\\M244241\\y\\Zlocal\\", "xy"),
        (r"\Q\ unknown", r"\Q\ unknown"),
        (r"\XZZ\ bad hex", r"\XZZ\ bad hex"),
        (r"dangling \F", r"dangling \F"),
        ("plain", "plain"),
    ],
)
def test_escape_sequences(text: str, expected: str) -> None:
    assert unescape(text, STANDARD) == expected


def test_escaped_delimiters_do_not_split_fields() -> None:
    pid = parse(_message(r"PID|1||12\S\3^^^HOSP||A\F\B\R\C")).require("PID")
    assert pid.text(3) == "12^3"
    assert pid.text(5) == "A|B~C"


def test_declared_encoding_characters_are_honoured() -> None:
    message = parse(fixture_bytes("hl7v2/adt_a01_custom_encoding.hl7"))
    assert message.delimiters == Delimiters("|", "*", "~", "$", "&")
    pid = message.require("PID")
    assert pid.first(3).subcomponents(4) == ("GHH", "1.2.840.114350.1.13.99998.8734", "ISO")
    assert pid.text(5, 2) == "ADAM * JR"


def test_v28_truncation_character_is_read_and_escaped() -> None:
    msh = MSH.replace("^~\\&", "^~\\&#").replace("2.5.1", "2.8")
    message = parse(f"{msh}\rPID|1||1^^^H||A\\P\\B".encode())
    assert message.delimiters.truncation == "#"
    assert message.require("PID").text(5) == "A#B"


@pytest.mark.parametrize(
    ("payload", "code", "location"),
    [
        (b"", "malformed", "MSH"),
        (b"PID|1||123\rMSH|^~\\&|A", "malformed", "MSH"),
        (b"MSH|^^\\&|A|B|||20240101||ADT^A01|1|P|2.5", "malformed", "MSH-2"),
        (b"MSH|^~|A|B|||20240101||ADT^A01|1|P|2.5", "malformed", "MSH-2"),
        (b"MSH|^~\\&&|A|B|||20240101||ADT^A01|1|P|2.5", "malformed", "MSH-2"),
        (b"MSH|^~\\&|A|B|||20240101||ADT^A01|1|P|2.2", "unsupported-version", "MSH-12"),
        (b"MSH|^~\\&|A|B|||20240101||ADT^A01|1|P|2.9", "unsupported-version", "MSH-12"),
        (b"MSH|^~\\&|A|B|||20240101||ADT^A01|1|P", "unsupported-version", "MSH-12"),
        (b"MSH|^~\\&|A|B|||20240101|||1|P|2.5", "required-missing", "MSH-9"),
        (b"MSH|^~\\&|A|B|||20240101||ADT^A01|1|P|2.5\rpid|1", "malformed", "???"),
        (b"MSH|^~\\&|A|B|||20240101||ADT^A01|1|P|2.5\rPIDX|1", "malformed", "PID"),
    ],
    ids=[
        "empty",
        "not-msh-first",
        "duplicate-encoding-chars",
        "missing-encoding-chars",
        "repeated-encoding-char-at-msh-2",
        "version-2.2",
        "version-2.9",
        "no-version",
        "no-message-type",
        "lower-case-segment",
        "segment-id-too-long",
    ],
)
def test_malformed_messages_are_rejected_with_a_location(
    payload: bytes, code: str, location: str
) -> None:
    with pytest.raises(MappingError) as caught:
        parse(payload)
    assert caught.value.code == code
    assert str(caught.value.location) == location


def test_declared_latin1_is_decoded() -> None:
    pid = parse(fixture_bytes("hl7v2/adt_a01_escapes.hl7")).require("PID")
    assert pid.repetitions(5)[1].get(1) == "MÜLLER"


def test_declared_utf8_must_be_utf8() -> None:
    payload = (MSH + "||||||UNICODE UTF-8\rPID|1||1^^^H||M\xfcller").encode("latin-1")
    with pytest.raises(MappingError) as caught:
        parse(payload)
    assert caught.value.code == "malformed"
    assert str(caught.value.location) == "MSH-18"


def test_undeclared_character_set_falls_back_from_utf8_to_latin1() -> None:
    utf8 = parse(_message("PID|1||1^^^H||Müller")).require("PID").text(5)
    latin1 = parse((MSH + "\rPID|1||1^^^H||Müller").encode("latin-1")).require("PID").text(5)
    assert utf8 == latin1 == "Müller"


def test_require_reports_the_missing_segment() -> None:
    with pytest.raises(MappingError) as caught:
        parse(_message()).require("PID")
    assert caught.value.code == "required-missing"
    assert str(caught.value.location) == "PID"
