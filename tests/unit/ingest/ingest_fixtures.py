"""Shared builders for the ingestion tests: a pipeline on a temporary SQLite store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fhir_server.core.ports import HistoryQuery
from fhir_server.core.resources import ResourceService
from fhir_server.ingest.inbox import Inbox
from fhir_server.ingest.pipeline import Pipeline
from fhir_server.ingest.registry import MapperRegistry
from fhir_server.ingest.spec import UnknownPatientPolicy
from fhir_server.search.engine import RegistrySearchEngine
from fhir_server.storage.sqlite.store import SqliteResourceStore
from mappers.devices.mapper import TemplateMapper
from mappers.hl7v2.adt import AdtMapper
from mappers.hl7v2.oru import OruMapper

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def fixture(relative: str) -> bytes:
    return (FIXTURES / relative).read_bytes().replace(b"\r\n", b"\r").replace(b"\n", b"\r")


def registry() -> MapperRegistry:
    return MapperRegistry(
        {"hl7v2-adt": AdtMapper(), "hl7v2-oru": OruMapper(), "device-templates": TemplateMapper()}
    )


@contextmanager
def pipeline(tmp_path: Path, policy: UnknownPatientPolicy = "hold") -> Iterator[Pipeline]:
    store = SqliteResourceStore(tmp_path / "fhir.db")
    service = ResourceService(store, RegistrySearchEngine.default(1000, 20))
    p = Pipeline(Inbox(tmp_path / "inbox.db"), registry(), service, unknown_patient_policy=policy)
    try:
        yield p
    finally:
        p.close()
        store.close()


def count(p: Pipeline, resource_type: str) -> int:
    """Current resources of a type."""
    query, _ = p.service.parse([resource_type], [("_count", "1000")])
    return len(p.service.search(query).entries)


def versions(p: Pipeline) -> int:
    """Every version of every resource."""
    return len(p.service.history(HistoryQuery(count=1000)).entries)
