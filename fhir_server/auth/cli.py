"""``fhir-server auth ...``: register clients and users, create EHR launches, rotate keys.

The commands act on the auth state directory the server uses (``FHIR_SERVER_AUTH_DIR``,
default ``<data_dir>/auth``), also while it runs: the server sees the changes at once.
Whoever can run them (write that directory) is the administrator.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path
from typing import Any

from fhir_server.auth.clients import CLIENT_TYPES
from fhir_server.auth.flows import SmartAuthServer
from fhir_server.auth.state import open_auth_server
from fhir_server.errors import FhirError
from fhir_server.settings import Settings


def add_commands(commands: Any) -> None:
    """Add the ``auth`` command group to the top-level sub-parsers."""
    group = commands.add_parser("auth", help="manage SMART clients, users, launches and keys")
    sub = group.add_subparsers(dest="auth_command", required=True)

    client = sub.add_parser("register-client", help="register an app or backend client")
    client.add_argument("--type", required=True, choices=CLIENT_TYPES, dest="client_type")
    client.add_argument("--scope", required=True, help="space-separated scopes it may get")
    client.add_argument("--redirect-uri", action="append", default=[], dest="redirect_uris")
    client.add_argument("--name", default="", help="shown on the consent page")
    client.add_argument("--client-id", default=None, help="default: a random id")
    keys = client.add_mutually_exclusive_group()
    keys.add_argument("--jwks-url", default=None, help="asymmetric: where its JWKS is")
    keys.add_argument("--jwks-file", type=Path, default=None, help="asymmetric: its JWKS")
    client.set_defaults(func=_register_client)

    user = sub.add_parser("register-user", help="add or replace a user (password on stdin)")
    user.add_argument("username")
    user.add_argument("--fhir-user", required=True, help="e.g. Patient/123 or Practitioner/9")
    user.add_argument(
        "--patient", action="append", default=[], dest="patients", help="a patient id to pick"
    )
    user.add_argument("--password-stdin", action="store_true", help="read one line from stdin")
    user.set_defaults(func=_register_user)

    launch = sub.add_parser("create-launch", help="an EHR launch value for a patient")
    launch.add_argument("--patient", required=True)
    launch.add_argument("--encounter", default=None)
    launch.add_argument("--client-id", default=None, help="only this client may use it")
    launch.set_defaults(func=_create_launch)

    rotate = sub.add_parser("rotate-keys", help="sign with a new key; old tokens stay valid")
    rotate.set_defaults(func=_rotate_keys)


def _server() -> SmartAuthServer:
    return open_auth_server(Settings())


def _print(document: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(document, indent=2) + "\n")


def _run(action: Any) -> int:
    try:
        _print(action())
    except (FhirError, OSError, ValueError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    return 0


def _register_client(args: argparse.Namespace) -> int:
    def action() -> dict[str, Any]:
        jwks = json.loads(args.jwks_file.read_text()) if args.jwks_file else None
        registration = _server().clients.register(
            args.client_type,
            scopes=args.scope,
            redirect_uris=tuple(args.redirect_uris),
            name=args.name,
            client_id=args.client_id,
            jwks=jwks,
            jwks_uri=args.jwks_url,
        )
        out: dict[str, Any] = {"client_id": registration.client.client_id}
        if registration.secret is not None:
            out["client_secret"] = registration.secret  # shown once, stored only hashed
        return out

    return _run(action)


def _register_user(args: argparse.Namespace) -> int:
    def action() -> dict[str, Any]:
        if args.password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = getpass.getpass("Password: ")
        user = _server().users.register(
            args.username, password, args.fhir_user, tuple(args.patients)
        )
        return {"username": user.username, "fhirUser": user.fhir_user}

    return _run(action)


def _create_launch(args: argparse.Namespace) -> int:
    def action() -> dict[str, Any]:
        launch = _server().create_launch(args.patient, args.encounter, client_id=args.client_id)
        return {"launch": launch}

    return _run(action)


def _rotate_keys(_args: argparse.Namespace) -> int:
    def action() -> dict[str, Any]:
        key = _server().keys.rotate()
        return {"kid": key.kid}

    return _run(action)
