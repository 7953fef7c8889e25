"""Libra smart scale -> FHIR, as a fhir-server mapper plugin."""
