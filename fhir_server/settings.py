"""Configuration from ``FHIR_SERVER_*`` environment variables (pydantic-settings)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting of the server; see the configuration table in the README."""

    model_config = SettingsConfigDict(env_prefix="FHIR_SERVER_", extra="ignore")

    data_dir: Path = Field(default=Path("data"), description="Directory for the SQLite database")
    database_url: str | None = Field(
        default=None,
        description="sqlite:///path/to/fhir.db or mongodb://host/db; default: SQLite in data_dir",
    )
    base_url: str | None = Field(
        default=None,
        description="Public FHIR base URL; default: derived from each request (http://host/fhir)",
    )
    max_body_bytes: int = Field(default=64 * 1024 * 1024, description="Largest request body")
    max_bundle_entries: int = Field(default=10_000, description="Most entries in one Bundle")
    default_count: int = Field(default=20, description="Page size when _count is absent")
    max_count: int = Field(default=1000, description="Largest _count honoured")
    search_disabled_params: str = Field(
        default="",
        description="Search parameters not indexed nor searchable, comma-separated codes or"
        " Type.code (e.g. 'Observation.combo-code,_text'); saves write time and space",
    )
    sqlite_synchronous: str = Field(
        default="FULL", description="SQLite PRAGMA synchronous (FULL: durable before ack)"
    )
    log_level: str = Field(default="info", description="Log level")
    workers: int = Field(
        default=1, ge=1, description="Server processes of `fhir-server serve` (SQLite: WAL, shared)"
    )
    auth: Literal["on", "off"] = Field(
        default="on", description="SMART on FHIR authorization; off only on a loopback bind"
    )
    auth_dir: Path | None = Field(
        default=None, description="Auth state (clients, users, signing keys); default data_dir/auth"
    )
    access_token_ttl: int = Field(default=300, description="Access token lifetime in seconds")
    refresh_token_ttl: int = Field(
        default=90 * 24 * 3600, description="offline_access refresh token lifetime in seconds"
    )
    jwks_hosts: list[str] = Field(
        default_factory=list, description="Hosts a backend client's jwks_uri may point to"
    )

    ingest_mappers: list[str] | None = Field(
        default=None, description="Mapper plugins to load (entry-point names); default: all"
    )
    ingest_unknown_patient: Literal["hold", "placeholder"] = Field(
        default="hold",
        description="Ingestion of a Patient known only by identifier: hold as a dead letter"
        " until the Patient exists, or create a placeholder Patient",
    )
    ingest_max_body_bytes: int = Field(
        default=8 * 1024 * 1024, description="Largest body of POST /ingest/{mapper}"
    )
    mllp_port: int | None = Field(default=None, description="HL7 v2 MLLP port; unset: no MLLP")
    mllp_host: str = Field(default="127.0.0.1", description="HL7 v2 MLLP bind address")
    mllp_max_message_bytes: int = Field(
        default=1024 * 1024, description="Largest MLLP message; larger ones get ACK AR"
    )
    mllp_idle_timeout: float = Field(
        default=300.0, description="Seconds an MLLP connection may stay silent"
    )
    mqtt_url: str | None = Field(
        default=None, description="MQTT broker, mqtt://[user:pass@]host:port; unset: no MQTT"
    )
    mqtt_topics: list[str] = Field(
        default_factory=lambda: ["devices/#=device-templates"],
        description="MQTT topic filters (QoS 1), each optionally =mapper",
    )
    mqtt_client_id: str = Field(
        default="fhir-server-ingest", description="MQTT client id of the persistent session"
    )

    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file under ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'fhir.db').as_posix()}"

    def resolved_auth_dir(self) -> Path:
        """The auth state directory, defaulting to ``data_dir/auth``."""
        return self.auth_dir or self.data_dir / "auth"
