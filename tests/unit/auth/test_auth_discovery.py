from __future__ import annotations

from dataclasses import replace

from fhir_server.auth.config import AuthConfig
from fhir_server.auth.discovery import OAUTH_URIS, security_extension, smart_configuration
from fhir_server.auth.flows import SmartAuthServer


def test_smart_configuration_lists_endpoints_and_capabilities(server: SmartAuthServer) -> None:
    document = server.smart_configuration()
    assert document["authorization_endpoint"] == "https://ehr.example/auth/authorize"
    assert document["token_endpoint"] == "https://ehr.example/auth/token"
    assert document["introspection_endpoint"] == "https://ehr.example/auth/introspect"
    assert document["revocation_endpoint"] == "https://ehr.example/auth/revoke"
    assert document["jwks_uri"] == "https://ehr.example/auth/jwks"
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert document["response_types_supported"] == ["code"]
    assert set(document["grant_types_supported"]) == {
        "authorization_code",
        "client_credentials",
        "refresh_token",
    }
    assert set(document["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
    }
    assert document["token_endpoint_auth_signing_alg_values_supported"] == ["RS384", "ES384"]
    required = {
        "launch-ehr", "launch-standalone", "client-public", "client-confidential-symmetric",
        "client-confidential-asymmetric", "context-ehr-patient", "context-standalone-patient",
        "permission-patient", "permission-user", "permission-v1", "permission-v2",
        "permission-offline", "sso-openid-connect",
    }  # fmt: skip
    assert required <= set(document["capabilities"])
    assert "context-passthrough-style" in document["capabilities"]
    assert "launch/patient" in document["scopes_supported"]


def test_style_capability_only_with_a_style_url(config: AuthConfig) -> None:
    document = smart_configuration(replace(config, smart_style_url=None))
    assert "context-passthrough-style" not in document["capabilities"]


def test_capability_statement_security_extension(config: AuthConfig) -> None:
    security = security_extension(config)
    (oauth,) = security["extension"]
    assert oauth["url"] == OAUTH_URIS
    uris = {e["url"]: e["valueUri"] for e in oauth["extension"]}
    assert uris == {
        "authorize": "https://ehr.example/auth/authorize",
        "token": "https://ehr.example/auth/token",
        "introspect": "https://ehr.example/auth/introspect",
        "revoke": "https://ehr.example/auth/revoke",
    }
    assert security["service"][0]["coding"][0]["code"] == "SMART-on-FHIR"


def test_jwks_publishes_public_keys_only(server: SmartAuthServer) -> None:
    (key,) = server.jwks()["keys"]
    assert key["kid"] == server.keys.signing_key().kid
    assert "d" not in key
