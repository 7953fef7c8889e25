"""Discovery: the SMART configuration document and the CapabilityStatement security extension.

https://hl7.org/fhir/smart-app-launch/conformance.html
"""

from __future__ import annotations

from typing import Any

from fhir_server.auth.assertions import ASSERTION_ALGS
from fhir_server.auth.config import AuthConfig
from fhir_server.auth.scopes import LAUNCH_SCOPES

CAPABILITIES = (
    "launch-ehr",
    "launch-standalone",
    "client-public",
    "client-confidential-symmetric",
    "client-confidential-asymmetric",
    "context-ehr-patient",
    "context-ehr-encounter",
    "context-standalone-patient",
    "context-passthrough-banner",
    "permission-patient",
    "permission-user",
    "permission-v1",
    "permission-v2",
    "permission-offline",
    "permission-online",
    "sso-openid-connect",
    "authorize-post",
)
SCOPES_SUPPORTED = (
    *sorted(LAUNCH_SCOPES),
    *(f"{context}/*.{p}" for context in ("patient", "user", "system") for p in ("cruds", "rs")),
    *(f"{context}/*.{p}" for context in ("patient", "user", "system") for p in ("read", "write")),
)
OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"


def smart_configuration(config: AuthConfig) -> dict[str, Any]:
    """The ``/.well-known/smart-configuration`` document (serve as application/json)."""
    return {
        "issuer": config.issuer,
        "jwks_uri": config.jwks_url,
        "authorization_endpoint": config.authorize_url,
        "token_endpoint": config.token_url,
        "introspection_endpoint": config.introspect_url,
        "revocation_endpoint": config.revoke_url,
        "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
        ],
        "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGS),
        "scopes_supported": list(SCOPES_SUPPORTED),
        "capabilities": [
            *CAPABILITIES,
            *(["context-passthrough-style"] if config.smart_style_url else []),
        ],
    }


def security_extension(config: AuthConfig) -> dict[str, Any]:
    """``CapabilityStatement.rest[0].security`` with the SMART ``oauth-uris`` extension."""
    uris = {
        "authorize": config.authorize_url,
        "token": config.token_url,
        "introspect": config.introspect_url,
        "revoke": config.revoke_url,
    }
    return {
        "extension": [
            {
                "url": OAUTH_URIS,
                "extension": [{"url": k, "valueUri": v} for k, v in uris.items()],
            }
        ],
        "service": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                        "code": "SMART-on-FHIR",
                    }
                ],
                "text": "OAuth2 using SMART-on-FHIR profile (see http://docs.smarthealthit.org)",
            }
        ],
    }


def security_off() -> dict[str, Any]:
    """``rest[0].security`` when the operator turned authorization off (loopback only)."""
    return {
        "description": (
            "Authorization is turned off (FHIR_SERVER_AUTH=off, allowed on a loopback bind"
            " only): every request is served without a token."
        )
    }
