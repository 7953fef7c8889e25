"""Response building: the read path's byte-built headers equal Starlette's own."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fhir_server.api.responses import FhirResponse, version_headers, version_response_of
from fhir_server.core.ports import StoredVersion


@pytest.mark.parametrize("status", [200, 201])
def test_version_response_of_matches_headers_given_as_a_dict(status: int) -> None:
    when = datetime(2024, 2, 29, 23, 59, 58, 123000, tzinfo=UTC)
    version = StoredVersion("Observation", "a", 12, when, "PUT", b'{"resourceType":"x"}')
    body = b'{"resourceType":"Observation"}'
    built = version_response_of(body, version, status)
    expected = FhirResponse(body, status_code=status, headers=version_headers(version))
    assert (built.status_code, built.raw_headers, built.body) == (
        expected.status_code,
        expected.raw_headers,
        expected.body,
    )
    assert built.headers["etag"] == 'W/"12"'
    assert built.headers["last-modified"] == "Thu, 29 Feb 2024 23:59:58 GMT"
