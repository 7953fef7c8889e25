"""``create_app(settings)``: the only composition root; it wires adapters to the core."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI

from conformance.capability import capability_statement
from fhir_server import __version__
from fhir_server.api import errors
from fhir_server.api.context import AppContext, require_caller
from fhir_server.api.fastread import FastReadMiddleware
from fhir_server.api.negotiation import NegotiationMiddleware
from fhir_server.api.routes import (
    auth,
    auth_pages,
    capabilities,
    compartment,
    health,
    ingest,
    instance,
    system,
    terminology,
    type,
)
from fhir_server.auth.discovery import security_extension, security_off
from fhir_server.auth.flows import SmartAuthServer
from fhir_server.auth.state import auth_config, open_auth_server
from fhir_server.core.ports import ResourceStore
from fhir_server.core.resources import ResourceService
from fhir_server.ingest.runtime import Ingestion
from fhir_server.search.setup import search_engine
from fhir_server.settings import Settings
from fhir_server.storage.factory import open_store

log = logging.getLogger("fhir_server")
FHIR_BASE = "/fhir"


def create_app(
    settings: Settings | None = None,
    store: ResourceStore | None = None,
    auth_server: SmartAuthServer | None = None,
) -> FastAPI:
    """Build the application; ``store`` and ``auth_server`` override the configured ones (tests)."""
    settings = settings or Settings()
    if settings.auth == "on":
        auth_server = auth_server or open_auth_server(settings)
        auth_server.keys.signing_key()  # generated and persisted on first start
    else:
        log.warning("FHIR_SERVER_AUTH=off: every request is served without authorization")
        auth_server = None
    store = store or open_store(
        settings.resolved_database_url(), sqlite_synchronous=settings.sqlite_synchronous
    )
    engine = search_engine(settings, store)

    def statement() -> dict[str, Any]:
        return capability_statement(
            software_version=__version__,
            base_url=settings.base_url,
            search_params=engine.capability_params,
            includes=engine.include_params,
            revincludes=engine.revinclude_params,
            security=security_extension(auth_config(settings)) if auth_server else security_off(),
        )

    context = AppContext(settings, ResourceService(store, engine), statement(), auth_server)
    engine.on_change(lambda: setattr(context, "capability", statement()))  # custom parameters

    ingestion = Ingestion.open(settings, context.service)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await ingestion.start()
        yield
        await ingestion.stop()
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
    app.state.ingestion = ingestion
    errors.install(app)

    # Inside negotiation (406 first). A SQLite read is local CPU work, done on the event loop;
    # a MongoDB read waits on the network, in the thread pool (docs/adr/0005-rest-hot-path.md).
    inline = store.backend == "sqlite"
    app.add_middleware(FastReadMiddleware, prefix=FHIR_BASE, inline=inline)
    app.add_middleware(NegotiationMiddleware, prefix=FHIR_BASE)
    app.include_router(health.router)
    app.include_router(auth.router)  # before the FHIR routes: /fhir/.well-known/...
    app.include_router(auth_pages.router)
    app.include_router(capabilities.router, prefix=FHIR_BASE)  # public, like discovery
    # terminology before instance: /ValueSet/$expand must not read as the id "$expand";
    # compartment after instance: /{type}/{id}/_history must not become a compartment search
    for module in (system, type, terminology, instance, compartment):
        app.include_router(module.router, prefix=FHIR_BASE, dependencies=[Depends(require_caller)])
    app.include_router(ingest.router, dependencies=[Depends(require_caller)])
    return app
