"""Ingestion over HTTP and the dead-letter admin endpoints.

``POST /ingest/{mapper}`` takes one vendor payload or HL7 v2 message (``hl7v2`` routes an
HL7 message by MSH-9). It is stored in the inbox, mapped and written through the caller's
resource service, so the access policy applies to every written type. Answers: 200 with a
small JSON summary (also for a redelivered message, marked ``duplicate``); 422
OperationOutcome when the message became a dead letter; 404 for an unknown mapper; 413 over
the body limit; 415 for a content type the mapper does not take.

``GET /ingest/dead-letters``, ``GET /ingest/dead-letters/{id}``,
``POST /ingest/dead-letters/{id}/$replay`` and ``POST /ingest/dead-letters/$replay`` list,
show and replay dead letters (after a mapper or template was fixed).

Authorisation (with auth on): ingesting needs a ``system/`` scope (SMART Backend Services)
besides the write scopes the access policy checks on every mapped write; the dead-letter
routes need ``admin/ingest`` (a replay writes as the caller, so it needs the write scopes
too). Otherwise 403 with ``error="insufficient_scope"``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import JSONResponse, Response

from fhir_server.api.context import app_context, require_caller, service_for
from fhir_server.api.negotiation import media_type, read_body
from fhir_server.auth.policy import authorize_admin, authorize_backend
from fhir_server.auth.scopes import ADMIN_INGEST
from fhir_server.errors import (
    NotFound,
    StorageUnavailable,
    Unprocessable,
    UnsupportedMediaType,
)
from fhir_server.ingest.inbox import InboxMessage
from fhir_server.ingest.pipeline import HL7_ROUTE, Pipeline, Refused, Transient
from fhir_server.ingest.runtime import Ingestion

router = APIRouter(prefix="/ingest")

_ANY_TYPE = frozenset({"", "application/octet-stream", "text/plain"})


def _pipeline(request: Request) -> Pipeline:
    ingestion: Ingestion = request.app.state.ingestion
    return ingestion.pipeline


async def _payload(request: Request) -> bytes:
    limit = app_context(request).settings.ingest_max_body_bytes
    return await read_body(request, limit)


def _dead_letter(message: InboxMessage) -> Unprocessable:
    error = message.error or {}
    where = f" (at {error['location']})" if error.get("location") else ""
    return Unprocessable(
        f"Message {message.id} is a dead letter: {error.get('reason', '')}{where}",
        code=str(error.get("code") or "dead-letter"),
    )


@router.get("/dead-letters")
def list_dead_letters(request: Request, limit: int = 100) -> Response:
    """Dead letters, oldest first (no payloads)."""
    authorize_admin(require_caller(request), ADMIN_INGEST)
    messages = _pipeline(request).inbox.list("dead", limit=max(1, min(limit, 1000)))
    return JSONResponse({"total": len(messages), "messages": [m.summary() for m in messages]})


def _dead(pipeline: Pipeline, id: str) -> InboxMessage:
    message = pipeline.inbox.get(id)
    if message is None or message.state != "dead":
        raise NotFound(f"No dead letter {id!r}", code="unknown-dead-letter")
    return message


@router.get("/dead-letters/{id}")
def show_dead_letter(id: str, request: Request) -> Response:
    """One dead letter with its payload (as text)."""
    authorize_admin(require_caller(request), ADMIN_INGEST)
    message = _dead(_pipeline(request), id)
    body = {**message.summary(), "payload": message.payload.decode("utf-8", errors="replace")}
    return JSONResponse(body)


@router.post("/dead-letters/$replay")
def replay_all(request: Request) -> Response:
    """Replay every dead letter; says how many were processed and how many stay dead."""
    authorize_admin(require_caller(request), ADMIN_INGEST)
    service = service_for(request)
    pipeline = _pipeline(request)
    states = [pipeline.replay(m.id, service) for m in pipeline.inbox.list("dead", limit=100_000)]
    processed = sum(1 for m in states if m is not None and m.state == "processed")
    return JSONResponse(
        {"replayed": len(states), "processed": processed, "dead": len(states) - processed}
    )


@router.post("/dead-letters/{id}/$replay")
def replay_one(id: str, request: Request) -> Response:
    """Replay one dead letter; 200 when it is processed now, 422 when it is dead again."""
    authorize_admin(require_caller(request), ADMIN_INGEST)
    service = service_for(request)
    pipeline = _pipeline(request)
    _dead(pipeline, id)
    try:
        message = pipeline.replay(id, service)
    except Refused as exc:
        raise exc.error from exc
    if message is None:  # replayed concurrently by someone else
        raise NotFound(f"No dead letter {id!r}", code="unknown-dead-letter")
    if message.state == "dead":
        raise _dead_letter(message)
    return JSONResponse(message.summary())


@router.post("/{mapper}")
def ingest(mapper: str, request: Request, payload: Annotated[bytes, Depends(_payload)]) -> Response:
    """Ingest one payload with ``mapper``."""
    authorize_backend(require_caller(request))
    service = service_for(request)
    pipeline = _pipeline(request)
    kind = media_type(request)
    if mapper != HL7_ROUTE:
        found = pipeline.registry.get(mapper)
        if found is None:
            raise NotFound(f"No mapper named {mapper!r}", code="unknown-mapper")
        if kind not in _ANY_TYPE and found.media_types and kind not in found.media_types:
            accepted = ", ".join(sorted(found.media_types))
            raise UnsupportedMediaType(f"Mapper {mapper} takes {accepted}, not {kind!r}")
    peer = request.client.host if request.client else "unknown"
    try:
        result = pipeline.ingest(
            mapper,
            payload,
            transport="http",
            source=f"http:{peer}",
            content_type=kind,
            service=service,
        )
    except Refused as exc:
        raise exc.error from exc
    except Transient as exc:
        raise StorageUnavailable(f"Try again later: {exc}") from exc
    if result.message.state == "dead":
        raise _dead_letter(result.message)
    return JSONResponse(result.to_json())
