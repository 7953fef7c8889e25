"""FHIR REST routes, one module per interaction group."""
