"""The ingestion runtime: inbox, pipeline, MLLP and MQTT, started and stopped with the app."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from fhir_server.core.resources import ResourceService
from fhir_server.ingest.inbox import Inbox
from fhir_server.ingest.mllp import MllpServer
from fhir_server.ingest.mqtt import MqttSubscriber, TopicRoute
from fhir_server.ingest.pipeline import Pipeline
from fhir_server.ingest.registry import MapperRegistry, discover
from fhir_server.settings import Settings

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Ingestion:
    """Everything that moves messages, for one application."""

    settings: Settings
    pipeline: Pipeline
    mllp: MllpServer | None = None
    mqtt: MqttSubscriber | None = None
    recovered: int = field(default=0)

    @classmethod
    def open(
        cls, settings: Settings, service: ResourceService, registry: MapperRegistry | None = None
    ) -> Ingestion:
        """The runtime for ``settings``; ``registry`` overrides entry-point discovery."""
        inbox = Inbox(settings.data_dir / "inbox.db")
        pipeline = Pipeline(
            inbox,
            registry if registry is not None else lambda: discover(settings.ingest_mappers),
            service,
            unknown_patient_policy=settings.ingest_unknown_patient,
            max_entries=settings.max_bundle_entries,
        )
        return cls(settings, pipeline)

    async def start(self) -> None:
        """Process what a crash left pending, then open the configured transports."""
        s = self.settings
        if self.pipeline.inbox.counts()["received"]:
            self.recovered = await asyncio.to_thread(self.pipeline.recover)
            log.info("ingestion: %d pending message(s) processed after restart", self.recovered)
        if s.mllp_port is not None:
            self.mllp = MllpServer(
                self.pipeline,
                s.mllp_host,
                s.mllp_port,
                max_message_bytes=s.mllp_max_message_bytes,
                idle_timeout=s.mllp_idle_timeout,
            )
            await self.mllp.start()
        if s.mqtt_url:
            routes = [TopicRoute.parse(t, "device-templates") for t in s.mqtt_topics]
            self.mqtt = MqttSubscriber(
                self.pipeline, s.mqtt_url, routes, client_id=s.mqtt_client_id
            )
            self.mqtt.start()

    async def stop(self) -> None:
        """Close the transports, then the pipeline (its queued messages first) and inbox."""
        if self.mllp is not None:
            await self.mllp.stop()
        if self.mqtt is not None:
            await asyncio.to_thread(self.mqtt.stop)
        await asyncio.to_thread(self.pipeline.close)
