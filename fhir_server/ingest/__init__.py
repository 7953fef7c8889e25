"""Ingestion: device and HL7 v2 payloads in, FHIR transaction Bundles out.

``spec`` is the public plugin API (the only module a mapper may import); ``registry``
finds mappers through the ``fhir_server.mappers`` entry-point group.
"""
