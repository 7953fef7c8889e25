"""HL7 v2 over MLLP: an asyncio TCP server. https://www.hl7.org/documentcenter/public/wg/inm/mllp_transport_specification.PDF

A frame is ``0x0B`` message ``0x1C 0x0D``; a connection carries any number of them, one
after another. Each message is written to the inbox and processed before its ACK is sent,
so an ACK AA means the resources are stored. Messages go to the pipeline's batch worker
(:meth:`Pipeline.submit`), so the connections share its commits; the event loop only frames
and acknowledges. The frames of one read are submitted together and acknowledged in order.
Bytes before a start block are dropped; a new
start block inside a frame drops the unfinished one (the sender did not complete it, so it
was never acknowledged); a frame over the size limit is answered AR and the connection is
closed, as is a connection idle for longer than the idle timeout.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Future

from fhir_server.ingest.ack import build_ack
from fhir_server.ingest.msh import Header, NotHl7, parse_header
from fhir_server.ingest.pipeline import HL7_ROUTE, Delivery, Pipeline, Result, Transient

START, END, CR = b"\x0b", b"\x1c", b"\x0d"
HL7_MEDIA_TYPE = "x-application/hl7-v2+er7"

log = logging.getLogger(__name__)


class FrameTooLarge(Exception):
    """A frame grew over the size limit; ``head`` is its beginning (for the ACK)."""

    def __init__(self, head: bytes, limit: int) -> None:
        super().__init__(f"the message is larger than {limit} bytes")
        self.head = head


def frame(message: bytes) -> bytes:
    """``message`` wrapped in an MLLP block."""
    return START + message + END + CR


class FrameReader:
    """Splits a byte stream into MLLP frames."""

    def __init__(self, max_bytes: int) -> None:
        """Frames longer than ``max_bytes`` raise :class:`FrameTooLarge`."""
        self.max_bytes = max_bytes
        self._buffer = bytearray()
        self._inside = False
        self.dropped = 0

    def feed(self, data: bytes) -> list[bytes]:
        """The frames completed by ``data`` (their payloads, without the block characters)."""
        frames: list[bytes] = []
        self._buffer += data
        while self._buffer:
            if not self._inside:
                start = self._buffer.find(START)
                self.dropped += len(self._buffer) if start < 0 else start
                if start < 0:
                    self._buffer.clear()
                    break
                del self._buffer[: start + 1]
                self._inside = True
            end = self._buffer.find(END + CR)
            restart = self._buffer.find(START)
            if restart >= 0 and (end < 0 or restart < end):
                self.dropped += restart  # an unfinished frame, superseded by a new one
                del self._buffer[: restart + 1]
                continue
            if end < 0:
                if len(self._buffer) > self.max_bytes:
                    raise FrameTooLarge(bytes(self._buffer[:4096]), self.max_bytes)
                break
            if end > self.max_bytes:
                raise FrameTooLarge(bytes(self._buffer[:4096]), self.max_bytes)
            frames.append(bytes(self._buffer[:end]))
            del self._buffer[: end + 2]
            self._inside = False
        return frames

    @property
    def pending(self) -> int:
        """Bytes of an unfinished frame."""
        return len(self._buffer) if self._inside else 0


def _header(payload: bytes) -> Header | None:
    try:
        return parse_header(payload)
    except NotHl7:
        return None


class MllpServer:
    """The MLLP listener feeding :class:`Pipeline`."""

    def __init__(
        self,
        pipeline: Pipeline,
        host: str,
        port: int,
        *,
        max_message_bytes: int,
        idle_timeout: float,
    ) -> None:
        """Configure the server; :meth:`start` binds it."""
        self.pipeline = pipeline
        self.host, self.port = host, port
        self.max_message_bytes = max_message_bytes
        self.idle_timeout = idle_timeout
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Listen; port 0 picks a free port, reported in :attr:`port`."""
        self._server = await asyncio.start_server(
            self._connection, self.host, self.port, reuse_port=True
        )
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("MLLP listening on %s:%s", self.host, self.port)

    async def stop(self) -> None:
        """Stop listening and close open connections."""
        if self._server is not None:
            self._server.close()
            for task in list(self._connections):
                task.cancel()
            await asyncio.gather(*self._connections, return_exceptions=True)
            await self._server.wait_closed()

    def submit(self, payload: bytes, peer: str) -> Future[Result]:
        """Hand one message to the pipeline's batch worker."""
        delivery = Delivery(HL7_ROUTE, payload, "mllp", peer, HL7_MEDIA_TYPE)
        return self.pipeline.submit(delivery)

    async def acknowledge(self, payload: bytes, pending: Future[Result]) -> bytes:
        """The ACK of a submitted message, once it is stored and processed."""
        header = _header(payload)
        try:
            result = await asyncio.wrap_future(pending)
        except Transient as exc:
            error = {"code": "application-error", "reason": f"retry later: {exc}"}
            return build_ack(header, error)
        return build_ack(header, result.message.error)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        peer = "mllp://{}:{}".format(*writer.get_extra_info("peername")[:2])
        frames = FrameReader(self.max_message_bytes)
        try:
            while True:
                try:
                    async with asyncio.timeout(self.idle_timeout):  # no task per read
                        data = await reader.read(65536)
                except TimeoutError:
                    log.info("MLLP %s idle for %s s: closing", peer, self.idle_timeout)
                    break
                if not data:
                    break
                try:
                    messages = frames.feed(data)
                except FrameTooLarge as exc:
                    reason = {"code": "malformed", "reason": str(exc), "location": "MSH"}
                    writer.write(frame(build_ack(_header(exc.head), reason)))
                    await writer.drain()
                    break
                pending = [(m, self.submit(m, peer)) for m in messages]
                for message, future in pending:
                    writer.write(frame(await self.acknowledge(message, future)))
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            log.info("MLLP %s disconnected", peer)
        finally:
            if frames.pending:
                log.warning("MLLP %s closed inside a frame: %d bytes dropped", peer, frames.pending)
            writer.close()
            self._connections.discard(task)
