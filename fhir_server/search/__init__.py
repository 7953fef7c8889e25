"""Backend-neutral FHIR search: registry, parser, IR, index extraction, in-memory matcher."""
