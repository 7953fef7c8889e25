"""Storage adapters implementing ``fhir_server.core.ports.ResourceStore``."""
