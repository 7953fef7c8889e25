"""The embedded SQLite storage adapter (the default backend)."""
