"""``create_app(settings)``: the only composition root; it wires adapters to the core."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from starlette.responses import Response

from conformance.capability import capability_statement
from fhir_server import __version__
from fhir_server.api import errors
from fhir_server.api.context import AppContext
from fhir_server.api.negotiation import check_accept
from fhir_server.api.routes import capabilities, health, instance, system, type
from fhir_server.core.ports import ResourceStore
from fhir_server.core.resources import ResourceService
from fhir_server.search.engine import RegistrySearchEngine
from fhir_server.settings import Settings
from fhir_server.storage.factory import open_store

log = logging.getLogger("fhir_server")
FHIR_BASE = "/fhir"


def create_app(settings: Settings | None = None, store: ResourceStore | None = None) -> FastAPI:
    """Build the application; ``store`` overrides the one ``settings`` names (tests)."""
    settings = settings or Settings()
    store = store or open_store(
        settings.resolved_database_url(), sqlite_synchronous=settings.sqlite_synchronous
    )
    engine = RegistrySearchEngine.default(settings.max_count, settings.default_count)
    capability = capability_statement(
        software_version=__version__,
        base_url=settings.base_url,
        search_params=engine.capability_params,
    )
    context = AppContext(settings, ResourceService(store, engine), capability)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        store.close()

    app = FastAPI(
        title="fhir-server",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.context = context
    errors.install(app)

    @app.middleware("http")
    async def negotiate(request: Request, call_next: object) -> Response:
        if request.url.path.startswith(FHIR_BASE):
            try:
                check_accept(request)
            except Exception as exc:
                return await errors.on_fhir_error(request, exc)
        response: Response = await call_next(request)  # type: ignore[operator]
        return response

    app.include_router(health.router)
    for module in (capabilities, system, type, instance):
        app.include_router(module.router, prefix=FHIR_BASE)
    return app
