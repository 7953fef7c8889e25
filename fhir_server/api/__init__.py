"""The HTTP adapter (FastAPI): thin routes over the core services."""
