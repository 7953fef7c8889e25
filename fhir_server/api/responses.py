"""FHIR JSON responses with ETag, Last-Modified and Location headers."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from fhir_server.core.ports import StoredVersion
from fhir_server.model.instant import http_date

FHIR_JSON = "application/fhir+json; charset=utf-8"


class FhirResponse(Response):
    """A response whose body is FHIR JSON bytes."""

    media_type = FHIR_JSON


def dump(resource: dict[str, Any], *, pretty: bool = False) -> bytes:
    """Serialize a resource (indented when ``pretty``)."""
    return orjson.dumps(resource, option=orjson.OPT_INDENT_2 if pretty else 0)


def version_headers(version: StoredVersion) -> dict[str, str]:
    """ETag and Last-Modified of a stored version."""
    return {
        "ETag": f'W/"{version.version_id}"',
        "Last-Modified": http_date(version.last_updated),
    }


def version_response_of(body: bytes, version: StoredVersion, status: int = 200) -> FhirResponse:
    """``body`` with the ETag and Last-Modified of ``version``.

    The same response as ``FhirResponse(body, status, headers=version_headers(version))``,
    header order included, with the header pairs built as bytes directly (the read path).
    """
    response = FhirResponse(body, status_code=status)
    response.raw_headers[:0] = [
        (b"etag", b'W/"%d"' % version.version_id),
        (b"last-modified", http_date(version.last_updated).encode("latin-1")),
    ]
    return response


def json_response(
    resource: dict[str, Any],
    status: int = 200,
    *,
    pretty: bool = False,
    headers: dict[str, str] | None = None,
) -> FhirResponse:
    """A FHIR JSON response for a resource dict."""
    return FhirResponse(dump(resource, pretty=pretty), status_code=status, headers=headers)
