"""``fhir-server reindex [--type T]``: re-extract the search index of stored resources.

Run it after adding a custom SearchParameter (it then applies to resources written before)
or after changing ``FHIR_SERVER_SEARCH_DISABLED_PARAMS`` (disabled parameters lose their
rows). It reads the same settings as the server and may run while the server does.
"""

from __future__ import annotations

import argparse
import json
import sys

from conformance.definitions import resource_types
from fhir_server.search.setup import search_engine
from fhir_server.settings import Settings
from fhir_server.storage.factory import open_store


def reindex(settings: Settings, resource_type: str | None) -> int:
    """Re-extract every current resource (of ``resource_type``); how many were reindexed."""
    url = settings.resolved_database_url()
    store = open_store(url, sqlite_synchronous=settings.sqlite_synchronous)
    try:
        engine = search_engine(settings, store)
    finally:
        store.close()
    if url.startswith("sqlite:///"):
        from fhir_server.storage.sqlite.reindex import reindex_sqlite

        return reindex_sqlite(url.removeprefix("sqlite:///"), engine.extract, resource_type)
    from pymongo import MongoClient, uri_parser

    from fhir_server.storage.mongo.reindex import reindex_mongo

    database = uri_parser.parse_uri(url)["database"] or "fhir"
    client: MongoClient[dict[str, object]] = MongoClient(url, tz_aware=True)
    try:
        types = [resource_type] if resource_type else sorted(resource_types())
        return reindex_mongo(client.get_database(database), engine.extract, types)
    finally:
        client.close()


def _run(args: argparse.Namespace) -> int:
    if args.type is not None and args.type not in resource_types():
        sys.stderr.write(f"error: unknown resource type {args.type!r}\n")
        return 2
    count = reindex(Settings(), args.type)
    sys.stdout.write(json.dumps({"reindexed": count, "type": args.type}) + "\n")
    return 0


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the ``reindex`` sub-command."""
    command = commands.add_parser("reindex", help="re-extract the search index of stored data")
    command.add_argument("--type", default=None, help="only this resource type")
    command.set_defaults(func=_run)
