"""A fast path for read and vread, answered before FastAPI routing.

https://hl7.org/fhir/R4/http.html#read

``GET`` (and ``HEAD``) of ``{prefix}/{type}/{id}`` and ``{prefix}/{type}/{id}/_history/{vid}``
is the most frequent request. FastAPI's routing, dependency resolution and thread-pool hop
cost several times the read itself (docs/adr/0005-rest-hot-path.md), so this pure ASGI
middleware answers these two shapes with the functions ``routes/instance.py`` uses:
``service_for`` (the access policy's ``GuardedService`` when auth is on: 401, 403 and
hidden-is-404 alike), ``read_response`` (conditional read included) and the ``FhirError``
handler. The answers, headers included, are the routes' own byte for byte; any other
exception goes up to the application's error handler as it does from a route.

Only paths whose type is letters, whose id is a valid FHIR id and whose version is digits
are taken: ``_history``, ``$operation`` and ``.well-known`` never are, so the routes that
share these path shapes keep their requests (a test checks this against the router).
"""

from __future__ import annotations

import re

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from fhir_server.api.context import service_for
from fhir_server.api.errors import on_fhir_error
from fhir_server.api.render import read_response
from fhir_server.errors import FhirError

_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
"""https://hl7.org/fhir/R4/datatypes.html#id"""

Target = tuple[str, str, str | None]
"""Resource type, id, and the version for a vread."""


def instance_read(path: str) -> Target | None:
    """The read or vread that ``path`` (below the prefix) asks for; None for anything else."""
    parts = path.split("/")
    if len(parts) == 2:
        resource_type, id = parts
        version = None
    elif len(parts) == 4 and parts[2] == "_history":
        resource_type, id, _, version = parts
        if not (version.isascii() and version.isdigit()):
            return None
    else:
        return None
    if not resource_type.isalpha() or _ID.fullmatch(id) is None:
        return None
    return resource_type, id, version


def answer(request: Request, target: Target) -> Response:
    """The route's response to a read or vread; a FhirError is raised, not rendered."""
    resource_type, id, version = target
    service = service_for(request)
    if version is None:
        stored = service.read(resource_type, id)
    else:
        stored = service.vread(resource_type, id, version)
    return read_response(stored, request)


class FastReadMiddleware:
    """Answer read and vread under ``prefix`` without going through the router.

    ``inline``: run the read on the event loop. Right for a store whose read is local CPU
    work (SQLite); a store that waits on the network (MongoDB) reads in the thread pool, as
    the ``def`` routes do.
    """

    def __init__(self, app: ASGIApp, prefix: str, *, inline: bool) -> None:
        """Wrap ``app``; ``prefix`` is the FHIR base path (``/fhir``)."""
        self.app = app
        self.start = prefix + "/"
        self.inline = inline

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve a read or vread; pass anything else on."""
        target = None
        if (
            scope["type"] == "http"
            and scope["method"] in ("GET", "HEAD")
            and scope["path"].startswith(self.start)
            and not scope.get("root_path")
        ):
            target = instance_read(scope["path"][len(self.start) :])
        if target is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            if self.inline:
                response = answer(request, target)
            else:
                response = await run_in_threadpool(answer, request, target)
        except FhirError as exc:
            response = await on_fhir_error(request, exc)
        await response(scope, receive, send)
