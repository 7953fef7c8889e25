"""Building the search engine a server (or the reindex command) runs with."""

from __future__ import annotations

import logging

from fhir_server.core.ports import ResourceStore
from fhir_server.search.engine import ACTIVE_SEARCH_PARAMETERS, RegistrySearchEngine
from fhir_server.settings import Settings

log = logging.getLogger(__name__)


def disabled_params(settings: Settings) -> list[str]:
    """``FHIR_SERVER_SEARCH_DISABLED_PARAMS`` as a list of codes or Type.code."""
    return [c.strip() for c in settings.search_disabled_params.split(",") if c.strip()]


def search_engine(settings: Settings, store: ResourceStore) -> RegistrySearchEngine:
    """The R4 parameters less the disabled ones, plus the custom ones stored in ``store``."""
    engine = RegistrySearchEngine.default(
        settings.max_count, settings.default_count, disabled_params(settings)
    )
    stored = [v.resource() for v in store.search(ACTIVE_SEARCH_PARAMETERS).entries]
    engine.register_stored(stored)
    return engine
