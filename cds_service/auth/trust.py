"""Build the set of trusted issuers and the `Verifier` from the settings.

The production-mode refusals (the public sandbox, http jku URLs, no trusted issuer) are settings checks in
config/auth.py; here only what needs the files: a JWK Set that cannot be read or holds a private key. No Flask.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from cds_service.auth.jwks import JwksError, KeyStore, TrustedIssuer, fetch_jwks, load_jwks_file
from cds_service.auth.jwt import AuthPolicy, Verifier
from cds_service.auth.replay import ReplayCache
from cds_service.config import IssuerConfig, Settings, SettingsError
from cds_service.config.auth import SANDBOX_ISSUER

SANDBOX_JKU = "https://sandbox.cds-hooks.org/.well-known/jwks.json"


def _trusted(config: IssuerConfig) -> TrustedIssuer:
    try:
        keys = load_jwks_file(config.jwks_file) if config.jwks_file else {}
    except JwksError as error:
        raise SettingsError(f"CDS_JWT_ISSUERS: issuer {config.issuer!r}: {error}") from None
    return TrustedIssuer(
        issuer=config.issuer,
        keys=keys,
        jku=config.jku,
        tenants=None if config.tenants is None else frozenset(config.tenants),
        fetch_jku=config.fetch_jku,
    )


def _sandbox(settings: Settings) -> TrustedIssuer:
    try:
        keys = load_jwks_file(settings.sandbox_jwks_file)
    except JwksError as error:
        raise SettingsError(f"CDS_SANDBOX_JWKS_FILE: {error}") from None
    # The sandbox names its jku in every token; its keys come from the shipped file, never fetched.
    return TrustedIssuer(issuer=SANDBOX_ISSUER, keys=keys, jku=(SANDBOX_JKU,), fetch_jku=False)


def trusted_issuers(settings: Settings, extra: Iterable[TrustedIssuer] = ()) -> dict[str, TrustedIssuer]:
    """Return issuer -> TrustedIssuer from CDS_JWT_ISSUERS, the sandbox (when enabled) and `extra`."""
    settings.check_startup()
    issuers = {config.issuer: _trusted(config) for config in settings.jwt_issuers}
    if settings.trust_sandbox and SANDBOX_ISSUER not in issuers:
        issuers[SANDBOX_ISSUER] = _sandbox(settings)
    for issuer in extra:
        issuers.setdefault(issuer.issuer, issuer)
    return issuers


def build_verifier(
    settings: Settings, replay: ReplayCache, extra: Iterable[TrustedIssuer] = ()
) -> Verifier:
    """Return the Verifier: issuers and their keys, the JWK Set fetcher, and the shared replay store."""
    return Verifier(
        policy=AuthPolicy(
            algorithms=settings.jwt_algorithms,
            leeway_s=settings.jwt_leeway_s,
            max_lifetime_s=settings.jwt_max_lifetime_s,
            max_header_bytes=settings.auth_header_max_bytes,
        ),
        issuers=trusted_issuers(settings, extra),
        keys=KeyStore(
            partial(fetch_jwks, timeout_s=settings.jwks_timeout_s),
            cache_s=settings.jwks_cache_s,
            min_refetch_s=settings.jwks_min_refetch_s,
        ),
        replay=replay,
    )
