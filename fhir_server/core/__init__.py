"""Application services: resource interactions, bundles, versioning (no HTTP, no database)."""
