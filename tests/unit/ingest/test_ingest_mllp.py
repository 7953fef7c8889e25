"""MLLP framing, ACK/ERR content and the asyncio server over a real loopback socket."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from ingest_fixtures import count, fixture, pipeline

from fhir_server.ingest.ack import build_ack
from fhir_server.ingest.mllp import FrameReader, FrameTooLarge, MllpServer, frame
from fhir_server.ingest.msh import parse_header

ADT = "hl7v2/adt_a01_v251.hl7"
ORU = "hl7v2/oru_r01_lab_v251.hl7"


def segments(ack: bytes) -> dict[str, list[str]]:
    return {line[:3]: line.split("|") for line in ack.decode().split("\r") if line}


# --- framing ---------------------------------------------------------------------------


def test_several_frames_in_one_read_and_one_frame_over_several_reads() -> None:
    reader = FrameReader(1000)
    assert reader.feed(frame(b"A") + frame(b"B") + b"\x0bC") == [b"A", b"B"]
    assert reader.pending == 1
    assert reader.feed(b"C\x1c") == []
    assert reader.feed(b"\x0d") == [b"CC"]


def test_garbage_between_frames_is_dropped() -> None:
    reader = FrameReader(1000)
    assert reader.feed(b"noise" + frame(b"A") + b"\r\n" + frame(b"B")) == [b"A", b"B"]
    assert reader.dropped == 7


def test_a_truncated_frame_is_superseded_by_the_next_start_block() -> None:
    reader = FrameReader(1000)
    assert reader.feed(b"\x0bHALF A MESSAGE" + frame(b"WHOLE")) == [b"WHOLE"]
    assert reader.dropped == len(b"HALF A MESSAGE")


def test_an_end_block_without_carriage_return_does_not_end_the_frame() -> None:
    reader = FrameReader(1000)
    assert reader.feed(b"\x0bA\x1cB\x1c\x0d") == [b"A\x1cB"]


def test_oversize_frame_raises_with_its_head() -> None:
    reader = FrameReader(10)
    with pytest.raises(FrameTooLarge) as caught:
        reader.feed(b"\x0bMSH|^~\\&|0123456789")
    assert caught.value.head.startswith(b"MSH|")


# --- ACK content -----------------------------------------------------------------------


def test_aa_ack_swaps_sender_and_receiver_and_echoes_the_control_id() -> None:
    header = parse_header(fixture(ADT))
    ack = segments(build_ack(header, None))
    assert ack["MSH"][2:6] == [
        "EHR",
        "RECEIVER",
        "ADT1",
        "GOOD HEALTH HOSPITAL^1.2.840.114350.1.13.99998^ISO",
    ]
    assert ack["MSH"][8] == "ACK^A01^ACK"
    assert ack["MSH"][11] == "2.5.1"
    assert ack["MSA"] == ["MSA", "AA", "MSG00001"]
    assert "ERR" not in ack


def test_mapping_failure_is_ae_with_err_location_code_and_escaped_reason() -> None:
    header = parse_header(fixture(ORU))
    error = {"code": "required-missing", "reason": "PID-3 is empty | really", "location": "PID-3"}
    ack = segments(build_ack(header, error))
    assert ack["MSA"][1:3] == ["AE", "LAB-20240320-0042"]
    err = ack["ERR"]
    assert err[2] == "PID^1^3"
    assert err[3] == "101^Required field missing^HL70357"
    assert err[4] == "E"
    assert err[8] == "PID-3 is empty \\F\\ really"


def test_an_unknown_patient_is_ae_with_unknown_key_identifier() -> None:
    header = parse_header(fixture(ORU))
    error = {"code": "unresolved-reference", "reason": "Patient?identifier=x matched 0"}
    ack = segments(build_ack(header, error))
    assert ack["MSA"][1] == "AE"
    assert ack["ERR"][3] == "204^Unknown key identifier^HL70357"


def test_unsupported_message_type_is_ar() -> None:
    header = parse_header(b"MSH|^~\\&|A|B|C|D|20240101||ZZZ^Z01|9|P|2.5.1\r")
    ack = segments(build_ack(header, {"code": "unsupported-message", "reason": "no mapper"}))
    assert ack["MSA"][1:3] == ["AR", "9"]
    assert ack["ERR"][3].startswith("200^")


def test_v23_ack_uses_err_1_and_msa_3() -> None:
    header = parse_header(fixture("hl7v2/oru_r01_lab_v23.hl7"))
    error = {"code": "invalid-value", "reason": "bad", "location": "OBX[2]-5"}
    ack = segments(build_ack(header, error))
    assert ack["MSA"] == ["MSA", "AE", "LAB-V23-0001", "bad"]
    assert ack["ERR"][1] == "OBX^2^5^102&Data type error&HL70357"


def test_unparseable_message_gets_ar_with_empty_control_id() -> None:
    ack = segments(build_ack(None, {"code": "malformed", "reason": "no MSH"}))
    assert ack["MSA"] == ["MSA", "AR", ""]


# --- the server over a socket ----------------------------------------------------------


async def _exchange(port: int, data: bytes, acks: int) -> list[bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    replies = [
        (await asyncio.wait_for(reader.readuntil(b"\x1c\x0d"), 10))[1:-2] for _ in range(acks)
    ]
    writer.close()
    return replies


def _serve(tmp_path: Path, scenario, **limits: float) -> None:
    async def main() -> None:
        with pipeline(tmp_path) as p:
            server = MllpServer(
                p,
                "127.0.0.1",
                0,
                max_message_bytes=int(limits.get("max_bytes", 100_000)),
                idle_timeout=limits.get("idle", 5.0),
            )
            await server.start()
            try:
                await scenario(server, p)
            finally:
                await server.stop()

    asyncio.run(main())


def test_several_messages_on_one_connection_are_each_acknowledged(tmp_path: Path) -> None:
    async def scenario(server, p) -> None:
        data = frame(fixture(ADT)) + b"junk" + frame(fixture(ORU)) + frame(b"garbage")
        acks = await _exchange(server.port, data, 3)
        assert [segments(a)["MSA"][1] for a in acks] == ["AA", "AA", "AR"]
        assert count(p, "Patient") == 1
        assert count(p, "Observation") >= 1

    _serve(tmp_path, scenario)


def test_oversize_message_is_rejected_and_the_connection_closed(tmp_path: Path) -> None:
    async def scenario(server, p) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"\x0b" + fixture(ORU))
        await writer.drain()
        ack = (await asyncio.wait_for(reader.readuntil(b"\x1c\x0d"), 10))[1:-2]
        assert segments(ack)["MSA"][1:3] == ["AR", "LAB-20240320-0042"]
        assert await asyncio.wait_for(reader.read(), 10) == b""
        writer.close()
        assert p.inbox.counts()["processed"] == 0

    _serve(tmp_path, scenario, max_bytes=200)


def test_idle_connection_is_closed(tmp_path: Path) -> None:
    async def scenario(server, p) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        assert await asyncio.wait_for(reader.read(), 5) == b""
        writer.close()

    _serve(tmp_path, scenario, idle=0.2)


def test_a_frame_cut_off_by_disconnect_is_not_stored(tmp_path: Path) -> None:
    async def scenario(server, p) -> None:
        _reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"\x0b" + fixture(ADT)[:50])
        await writer.drain()
        writer.close()
        await writer.wait_closed()
        acks = await _exchange(server.port, frame(fixture(ADT)), 1)
        assert segments(acks[0])["MSA"][1] == "AA"
        assert p.inbox.counts()["processed"] == 1

    _serve(tmp_path, scenario)
