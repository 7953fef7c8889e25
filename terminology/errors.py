"""Terminology failures that the core error tree does not name.

Everything else is raised with the core classes (``fhir_server.errors``): ``InvalidRequest``
(400) for malformed or contradictory parameters, ``UnsupportedParameter`` (400
not-supported) for R4 parameters this server does not implement, ``TooCostly`` (400) for
expansions it will not enumerate, ``NotFound`` (404) for unknown code systems, value sets,
concept maps and (in ``$lookup``) codes.
"""

from __future__ import annotations

from fhir_server.errors import Unprocessable


class CannotEvaluate(Unprocessable):
    """A well-formed request the server cannot answer correctly with the content it holds (422).

    For example a value set including a code system the server does not hold, or holds
    only in part (LOINC and MDC fragments), a filter it does not implement, or a code
    whose membership cannot be decided. R4 requires an error rather than a wrong answer
    (https://hl7.org/fhir/R4/valueset-operation-expand.html).
    """

    issue_type = "not-supported"
