"""MQTT subscriber (paho-mqtt 2): QoS 1 topics feeding :class:`Pipeline`.

Each subscribed topic filter names a mapper (``devices/+/readings=device-templates``).
Acknowledgement is manual: the PUBACK goes out only after the message is in the inbox, so
the broker redelivers anything the server did not store. Messages go to the pipeline's
batch worker, which writes the inbox rows of everything waiting in one commit, sends their
PUBACKs, then processes them; a crash between the PUBACK and the end of processing leaves
the message ``received`` in the inbox, and it is processed on the next start. The session is
persistent (``clean_session=False``, a fixed client id): QoS 1 messages published while
the server or the broker was down are delivered after the reconnect, which paho retries
with back-off for as long as the server runs.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from fhir_server.ingest.inbox import InboxMessage
from fhir_server.ingest.pipeline import Delivery, Pipeline, Result

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TopicRoute:
    """A topic filter and the mapper for messages on it."""

    filter: str
    mapper: str

    @classmethod
    def parse(cls, text: str, default_mapper: str) -> TopicRoute:
        """``filter=mapper``, or a bare filter for the default mapper."""
        topic, _, mapper = text.partition("=")
        if not topic.strip():
            raise ValueError(f"empty MQTT topic filter in {text!r}")
        return cls(topic.strip(), mapper.strip() or default_mapper)


class MqttSubscriber:
    """Subscribes to the routes' topics and hands every message to the pipeline."""

    def __init__(
        self, pipeline: Pipeline, url: str, routes: list[TopicRoute], *, client_id: str
    ) -> None:
        """Configure; :meth:`start` connects (in the background, retrying)."""
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "tcp"):
            raise ValueError(f"unsupported MQTT URL {url!r}: use mqtt://host:port")
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 1883
        self.pipeline, self.routes = pipeline, routes
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=False,
            manual_ack=True,
        )
        if parts.username:
            self.client.username_pw_set(parts.username, parts.password)
        self.client.reconnect_delay_set(1, 10)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message

    def start(self) -> None:
        """Connect in the background; paho reconnects whenever the broker goes away."""
        self.client.connect_async(self.host, self.port, keepalive=30)
        self.client.loop_start()

    def stop(self) -> None:
        """Disconnect (the pipeline finishes the messages it queued)."""
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(
        self, client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        if reason.is_failure:
            log.warning("MQTT connect to %s:%s refused: %s", self.host, self.port, reason)
            return
        client.subscribe([(route.filter, 1) for route in self.routes])
        log.info("MQTT subscribed to %s", ", ".join(r.filter for r in self.routes))

    def _mapper(self, topic: str) -> str | None:
        for route in self.routes:
            if mqtt.topic_matches_sub(route.filter, topic):
                return route.mapper
        return None

    def _on_message(self, client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        mapper = self._mapper(message.topic)
        if mapper is None:
            client.ack(message.mid, message.qos)
            return

        def stored(_message: InboxMessage) -> None:
            client.ack(message.mid, message.qos)

        source = f"mqtt:{message.topic}"
        delivery = Delivery(mapper, bytes(message.payload), "mqtt", source, on_stored=stored)
        self.pipeline.submit(delivery).add_done_callback(_report)


def _report(done: Future[Result]) -> None:
    """Log a message that could not be stored (no PUBACK: the broker redelivers it) or run."""
    error = done.exception()
    if error is not None:
        log.warning("MQTT message left for redelivery or restart: %r", error)
