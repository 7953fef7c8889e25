"""Terminology: R4 CodeSystem, ValueSet and ConceptMap content and operations, UCUM units.

https://hl7.org/fhir/R4/terminology-service.html. The operations (``lookup``,
``validate``, ``expansion``, ``translate``) take validated parameters (``params``) and a
``registry.Registry`` that finds resources: the server's stored ones first, through a
``ResourceSource`` the API binds to the caller's access policy, then the content this
package ships (``content``): the R4 core and HL7 v2 CodeSystems and ValueSets, the R4
ConceptMaps, a LOINC vital-signs fragment, an MDC vital-signs fragment with its map to
LOINC (``mdc``), and UCUM validation (``ucum``). This package does not import
``fhir_server.api`` or ``fhir_server.storage``.
"""
