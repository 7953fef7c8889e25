"""SMART on FHIR authorization: an OAuth 2 authorization server and the access policy.

https://hl7.org/fhir/smart-app-launch/

Framework-free: nothing here imports an HTTP framework or a database driver. The HTTP
layer calls ``flows.SmartAuthServer`` and applies ``policy`` to every FHIR interaction.

Modules, from the inside out::

    ports          AuthStore (durable), ExpiringStore (short-lived), JwksFetcher, Clock
    memory_store   in-memory adapters (tests)
    file_store     JSON-file AuthStore (clients, users, signing keys, refresh tokens)
    sqlite_store   SQLite ExpiringStore shared by every process (the one database import)
    config         AuthConfig: URLs, lifetimes, allowed JWKS hosts
    scopes         SMART v1/v2 scope parsing and downgrade
    jose           the only module using the JOSE library (joserfc)
    keys           our signing keys: generation, persistence, rotation, JWKS
    passwords      scrypt password hashes
    clients        client registration (public, confidential-symmetric/-asymmetric)
    users          users, their fhirUser and the patients they may pick
    remote_jwks    allowlisted fetching and caching of client JWKS URLs
    assertions     private_key_jwt client assertions (RS384, ES384, jti replay)
    client_auth    client authentication at the token/introspect/revoke endpoints
    context        LaunchContext and Authorization (what tokens descend from)
    launches       EHR launch values
    token_state    refresh tokens (hashed, rotated) and revocations
    tokens         access token and id_token issuing and validation
    responses      the token response
    authorization  the authorize endpoint: validation, login, patient pick, consent, code
    token_endpoint authorization_code + PKCE, refresh_token, client_credentials
    introspection  RFC 7662 introspection and RFC 7009 revocation
    discovery      .well-known/smart-configuration and the CapabilityStatement extension
    compartment    the Patient compartment's parameters and reference paths
    policy         Caller and the one access policy
    flows          SmartAuthServer: the facade the HTTP layer calls

Persistence: durable data (clients, users, keys, refresh tokens) goes to an ``AuthStore``
(``FileAuthStore``: small, rarely written, atomic whole-file writes). High-churn state
(pending authorizations, codes, launches, assertion ``jti`` values, revocations) lives in an
``ExpiringStore`` (``SqliteExpiringStore``: expiring rows, durable, shared by every server
process and the CLI, so ``--workers N`` and a restart keep flows and revocations).
"""
