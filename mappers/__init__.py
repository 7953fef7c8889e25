"""Built-in mapper plugins, registered through entry points exactly like third-party ones.

``hl7v2`` maps HL7 v2.3-2.8 ADT and ORU (lab results and IHE PCD-01 device data);
``devices`` maps vendor JSON through declarative templates. Mappers import only
``fhir_server.ingest.spec`` (and ``fhir_server.model``) from the server.
"""
