"""Configuration from ``FHIR_SERVER_*`` environment variables (pydantic-settings)."""

from __future__ import annotations

from pathlib import Path

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
    sqlite_synchronous: str = Field(
        default="FULL", description="SQLite PRAGMA synchronous (FULL: durable before ack)"
    )
    log_level: str = Field(default="info", description="Log level")

    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file under ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'fhir.db').as_posix()}"
