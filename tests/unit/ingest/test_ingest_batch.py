"""Batching across deliveries: isolation of bad messages, ACK association, identity races."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

from ingest_fixtures import count, fixture, pipeline, registry

from fhir_server.ingest.inbox import InboxMessage
from fhir_server.ingest.mllp import MllpServer, frame
from fhir_server.ingest.pipeline import Delivery, Result, Transient
from fhir_server.ingest.spec import MapContext

ADT = "hl7v2/adt_a01_v251.hl7"
ORU = "hl7v2/oru_r01_lab_v251.hl7"
PCD = "hl7v2/oru_r01_pcd01_monitor.hl7"
CUFF = "devices/omnicuff_session.json"


def oru(control_id: str, mrn: str = "P1") -> bytes:
    return (
        f"MSH|^~\\&|LAB|WARD|FHIR|HOSP|20240101000000||ORU^R01|{control_id}|P|2.5.1\r"
        f"PID|||{mrn}^^^HOSP^MR||Doe^John\r"
        f"OBR|1||R-{control_id}|85354-9^Vitals^LN|||20240101000000\r"
        "OBX|1|NM|8867-4^^LN|1|60|/min^^UCUM|||||F|||20240101000000\r"
        "OBX|2|NM|8480-6^^LN|2|120|mm[Hg]^^UCUM|||||F|||20240101000000\r"
    ).encode()


def segments(ack: bytes) -> dict[str, list[str]]:
    return {line[:3]: line.split("|") for line in ack.decode().split("\r") if line}


def results(outcomes: list[Result | BaseException]) -> list[Result]:
    assert all(isinstance(o, Result) for o in outcomes), outcomes
    return [o for o in outcomes if isinstance(o, Result)]


def test_a_message_failing_its_transaction_is_a_dead_letter_alone(tmp_path: Path) -> None:
    with pipeline(tmp_path, "hold") as p:
        batch = [
            Delivery("hl7v2", fixture(ADT), "mllp", "a"),
            Delivery("hl7v2", fixture(ORU), "mllp", "a"),
            Delivery("hl7v2", oru("X1", mrn="NOBODY"), "mllp", "b"),  # unknown patient: held
            Delivery("hl7v2", b"MSH|^~\\&|broken", "mllp", "b"),  # cannot be mapped
            Delivery("device-templates", fixture(CUFF), "http", "c"),
        ]
        done = results(p.ingest_many(batch))
        states = [r.message.state for r in done]
        assert states == ["processed", "processed", "dead", "dead", "processed"]
        held = done[2].message.error
        assert held is not None
        assert "Patient?identifier=" in held["reason"]
        assert count(p, "Patient") == 1
        assert count(p, "Observation") >= 1
        assert count(p, "Device") == 1
        assert p.inbox.counts() == {"received": 0, "processed": 3, "dead": 2}


def test_the_same_message_twice_in_one_batch_is_processed_once(tmp_path: Path) -> None:
    with pipeline(tmp_path, "placeholder") as p:
        message = oru("DUP")
        first, second = results(p.ingest_many([Delivery("hl7v2", message, "mllp", "a")] * 2))
        assert (first.duplicate, second.duplicate) == (False, True)
        assert first.message.state == second.message.state == "processed"
        assert second.message.result == first.message.result
        assert count(p, "Observation") == 2
        assert p.inbox.counts()["processed"] == 1


def test_on_stored_runs_once_the_row_is_durable_and_its_outcome_recorded(
    tmp_path: Path,
) -> None:
    with pipeline(tmp_path, "placeholder") as p:
        seen: list[tuple[str, str | None, int]] = []

        def stored(message: InboxMessage) -> None:
            row = p.inbox.get(message.id)
            seen.append((message.state, row.state if row else None, count(p, "Observation")))

        (result,) = results(
            p.ingest_many([Delivery("hl7v2", oru("S1"), "mqtt", "t", on_stored=stored)])
        )
        assert seen == [("received", "processed", 2)]
        assert result.message.state == "processed"


def test_concurrent_submissions_share_batches_and_each_gets_its_own_answer(
    tmp_path: Path,
) -> None:
    with pipeline(tmp_path, "placeholder") as p:
        futures = [p.submit(Delivery("hl7v2", oru(f"C{i}"), "mllp", "x")) for i in range(12)]
        answers = [f.result(timeout=30) for f in futures]
        assert [a.message.key.rsplit("|", 1)[1] for a in answers] == [f"C{i}" for i in range(12)]
        assert all(a.message.state == "processed" for a in answers)
        assert count(p, "Observation") == 24


async def _send(port: int, messages: list[bytes]) -> list[bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"".join(frame(m) for m in messages))
    await writer.drain()
    acks = [(await asyncio.wait_for(reader.readuntil(b"\x1c\x0d"), 30))[1:-2] for _ in messages]
    writer.close()
    return acks


def _serve(tmp_path: Path, scenario) -> None:
    async def main() -> None:
        with pipeline(tmp_path, "placeholder") as p:
            server = MllpServer(p, "127.0.0.1", 0, max_message_bytes=100_000, idle_timeout=5.0)
            await server.start()
            try:
                await scenario(server, p)
            finally:
                await server.stop()

    asyncio.run(main())


def test_acks_answer_their_own_messages_in_order_on_each_connection(tmp_path: Path) -> None:
    async def scenario(server, p) -> None:
        sent = {c: [oru(f"{c}{i}") for i in range(6)] for c in ("A", "B", "C")}
        sent["B"][3] = b"MSH|^~\\&|LAB|WARD|FHIR|HOSP|20240101||ORU^R01|B3|P|2.5.1\r"
        replies = await asyncio.gather(*(_send(server.port, m) for m in sent.values()))
        for connection, acks in zip(sent, replies, strict=True):
            msa = [segments(a)["MSA"] for a in acks]
            assert [m[2] for m in msa] == [f"{connection}{i}" for i in range(6)]
            expected = ["AA"] * 6
            if connection == "B":
                expected[3] = "AE"  # no OBX: a dead letter, alone
            assert [m[1] for m in msa] == expected
        assert count(p, "Observation") == 2 * 17

    _serve(tmp_path, scenario)


def test_two_connections_reporting_one_device_create_it_once(tmp_path: Path) -> None:
    payload = fixture(PCD)
    ctx = MapContext(
        received_at=datetime.now(UTC),
        transport="mllp",
        source="x",
        message_key="k",
        unknown_patient_policy="placeholder",
    )
    mapped = registry().for_message_type("ORU^R01").map(payload, ctx)  # type: ignore[union-attr]
    devices = sum(1 for r in mapped.resources if r["resourceType"] == "Device")
    assert devices >= 1

    async def scenario(server, p) -> None:
        messages = [payload.replace(b"PCD-000917", f"PCD-{i}".encode()) for i in range(8)]
        replies = await asyncio.gather(
            _send(server.port, messages[:4]), _send(server.port, messages[4:])
        )
        assert all(segments(a)["MSA"][1] == "AA" for acks in replies for a in acks)
        assert count(p, "Device") == devices
        assert count(p, "Patient") == 1

    _serve(tmp_path, scenario)


def test_closing_the_pipeline_finishes_what_was_queued(tmp_path: Path) -> None:
    with pipeline(tmp_path, "placeholder") as p:
        futures = []
        start = threading.Barrier(3)

        def client(prefix: str) -> None:
            start.wait()
            futures.extend(
                p.submit(Delivery("hl7v2", oru(f"{prefix}{i}"), "mqtt", prefix)) for i in range(5)
            )

        threads = [threading.Thread(target=client, args=(c,)) for c in "XY"]
        for t in threads:
            t.start()
        start.wait()
        for t in threads:
            t.join()
        p.close()
        assert all(f.result(timeout=0).message.state == "processed" for f in futures)


def test_a_failed_inbox_commit_acknowledges_nothing_and_a_redelivery_is_harmless(
    tmp_path: Path,
) -> None:
    with pipeline(tmp_path, "placeholder") as p:
        real_commit = p.inbox._commit_and_release

        def failing_commit() -> None:
            p.inbox._db.execute("ROLLBACK")  # what a failed COMMIT leaves: nothing stored
            p.inbox._lock.release()
            raise sqlite3.OperationalError("disk I/O error")

        p.inbox._commit_and_release = failing_commit  # type: ignore[method-assign]
        (outcome,) = p.ingest_many([Delivery("hl7v2", oru("F1"), "mllp", "x")])
        assert isinstance(outcome, Transient)
        assert "could not store" in str(outcome)
        assert p.inbox.counts() == {"received": 0, "processed": 0, "dead": 0}
        written = count(p, "Observation")
        p.inbox._commit_and_release = real_commit  # type: ignore[method-assign]
        (again,) = results(p.ingest_many([Delivery("hl7v2", oru("F1"), "mllp", "x")]))
        assert again.message.state == "processed"
        assert count(p, "Observation") == written
