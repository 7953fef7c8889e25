"""The ``fhir-server`` command line."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from fhir_server.auth.bind import derived_base_url, is_loopback
from fhir_server.auth.cli import add_commands as add_auth_commands
from fhir_server.ingest.cli import add_commands as add_ingest_commands
from fhir_server.ingest.cli import add_serve_options, apply_serve_options
from fhir_server.reindex import add_commands as add_reindex_commands
from fhir_server.settings import Settings


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from fhir_server.app import create_app

    if args.database_url:  # through the environment, so that every worker process sees it
        os.environ["FHIR_SERVER_DATABASE_URL"] = args.database_url
    apply_serve_options(args)
    settings = Settings()
    workers = args.workers or settings.workers
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s %(message)s"
    )
    if settings.auth == "off" and not is_loopback(args.host):
        sys.stderr.write("error: FHIR_SERVER_AUTH=off is allowed only on a loopback host\n")
        return 2
    if settings.auth == "on" and not settings.base_url:  # the aud of tokens; workers see it
        os.environ["FHIR_SERVER_BASE_URL"] = derived_base_url(args.host, args.port)
        settings = Settings()
    # Several workers need an import string: each process builds its own app and store.
    app = "fhir_server.app:create_app" if workers > 1 else create_app(settings)
    uvicorn.run(
        app,
        factory=workers > 1,
        workers=workers,
        host=args.host,
        port=args.port,
        loop=args.loop,
        http=args.http,
        log_level=settings.log_level,
        access_log=args.access_log,
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command."""
    parser = argparse.ArgumentParser(prog="fhir-server", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the FHIR server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--database-url", default=None, help="overrides FHIR_SERVER_DATABASE_URL")
    serve.add_argument("--access-log", action="store_true", help="log every request")
    serve.add_argument(
        "--workers", type=int, default=None, help="server processes (FHIR_SERVER_WORKERS)"
    )
    serve.add_argument(
        "--loop", choices=("auto", "uvloop", "asyncio"), default="auto", help="event loop"
    )
    serve.add_argument(
        "--http", choices=("auto", "httptools", "h11"), default="auto", help="HTTP parser"
    )
    add_serve_options(serve)
    serve.set_defaults(func=_serve)
    add_auth_commands(commands)
    add_ingest_commands(commands)
    add_reindex_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``fhir-server`` console script."""
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
