"""``fhir-server serve`` ingestion flags and ``fhir-server dead-letters list|show|replay``.

The dead-letter commands open the inbox and the FHIR store of the configured data directory
directly, so they work whether or not the server is running (SQLite allows both at once).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from fhir_server.core.resources import ResourceService
from fhir_server.ingest.pipeline import Refused, Transient
from fhir_server.ingest.runtime import Ingestion
from fhir_server.search.engine import RegistrySearchEngine
from fhir_server.settings import Settings
from fhir_server.storage.factory import open_store


def add_serve_options(serve: argparse.ArgumentParser) -> None:
    """The ``serve`` flags that start the MLLP and MQTT transports."""
    serve.add_argument("--mllp-port", type=int, default=None, help="HL7 v2 MLLP port")
    serve.add_argument("--mqtt-url", default=None, help="MQTT broker, mqtt://host:1883")
    serve.add_argument(
        "--mqtt-topic",
        action="append",
        default=None,
        metavar="FILTER[=MAPPER]",
        help="MQTT topic filter to subscribe (repeatable; default devices/#=device-templates)",
    )


def apply_serve_options(args: argparse.Namespace) -> None:
    """Pass the flags on through the environment, so that every worker process sees them."""
    if args.mllp_port is not None:
        os.environ["FHIR_SERVER_MLLP_PORT"] = str(args.mllp_port)
    if args.mqtt_url:
        os.environ["FHIR_SERVER_MQTT_URL"] = args.mqtt_url
    if args.mqtt_topic:
        os.environ["FHIR_SERVER_MQTT_TOPICS"] = json.dumps(args.mqtt_topic)


def _print(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def _run(args: argparse.Namespace) -> int:
    settings = Settings()
    store = open_store(settings.resolved_database_url(), sqlite_synchronous="FULL")
    engine = RegistrySearchEngine.default(settings.max_count, settings.default_count)
    ingestion = Ingestion.open(settings, ResourceService(store, engine))
    pipeline = ingestion.pipeline
    try:
        if args.action == "list":
            _print([m.summary() for m in pipeline.inbox.list("dead", limit=args.limit)])
            return 0
        if args.action == "show":
            message = pipeline.inbox.get(args.id)
            if message is None:
                sys.stderr.write(f"no message {args.id}\n")
                return 1
            payload = message.payload.decode("utf-8", errors="replace")
            _print({**message.summary(), "payload": payload})
            return 0
        ids = [m.id for m in pipeline.inbox.list("dead", limit=100_000)] if args.all else [args.id]
        failed = 0
        for id in ids:
            try:
                replayed = pipeline.replay(id)
            except (Refused, Transient) as exc:
                sys.stderr.write(f"{id}: {exc}\n")
                failed += 1
                continue
            state = "not a dead letter" if replayed is None else replayed.state
            failed += state != "processed"
            _print({"id": id, "state": state, "error": replayed and replayed.error})
        return 1 if failed else 0
    finally:
        pipeline.inbox.close()
        store.close()


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``dead-letters`` with its actions."""
    parser = commands.add_parser("dead-letters", help="list, show and replay dead letters")
    actions = parser.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="dead letters as JSON, oldest first")
    listing.add_argument("--limit", type=int, default=100)
    show = actions.add_parser("show", help="one message with its payload")
    show.add_argument("id")
    replay = actions.add_parser("replay", help="process dead letters again")
    which = replay.add_mutually_exclusive_group(required=True)
    which.add_argument("id", nargs="?")
    which.add_argument("--all", action="store_true", help="every dead letter")
    parser.set_defaults(func=_run)
