"""Build the set of trusted issuers and the `Verifier` from the settings; refuse unsafe combinations.

Production refuses to start without an https CDS_PUBLIC_BASE_URL (unset, it is http://127.0.0.1:8080), without
a trusted issuer, with the public sandbox (its private key is public), or with an http jku. Each refusal is a SettingsError naming the variable. No Flask.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import partial
from urllib.parse import urlsplit

from cds_service.auth.jwks import JwksError, KeyStore, TrustedIssuer, fetch_jwks, load_jwks_file
from cds_service.auth.jwt import AuthPolicy, Verifier
from cds_service.auth.replay import ReplayCache
from cds_service.config import IssuerConfig, Settings, SettingsError

SANDBOX_ISSUER = "https://sandbox.cds-hooks.org"
SANDBOX_JKU = "https://sandbox.cds-hooks.org/.well-known/jwks.json"


def _loopback(host: str | None) -> bool:
    if host in {"localhost"}:
        return True
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_jku(url: str, settings: Settings) -> None:
    parts = urlsplit(url)
    if parts.scheme == "https":
        return
    if settings.jwks_allow_http_loopback and settings.development and _loopback(parts.hostname):
        return
    raise SettingsError(
        f"CDS_JWT_ISSUERS: jku {url!r} must be https (http only on 127.0.0.1/localhost, in development, "
        "with CDS_JWKS_ALLOW_HTTP_LOOPBACK=true)"
    )


def _trusted(config: IssuerConfig, settings: Settings) -> TrustedIssuer:
    for url in config.jku:
        _check_jku(url, settings)
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


def _check_public_base_url(settings: Settings) -> None:
    # Every JWT's aud must name this URL: left at its default, every call would fail with a 401 the operator
    # cannot explain; over http, tokens and patient data would cross the network in clear.
    if urlsplit(settings.public_base_url).scheme != "https":
        raise SettingsError(
            f"CDS_PUBLIC_BASE_URL={settings.public_base_url!r}: production mode needs the https URL the EHRs "
            "call (set CDS_PUBLIC_BASE_URL; JWT aud is checked against it)"
        )


def trusted_issuers(settings: Settings, extra: Iterable[TrustedIssuer] = ()) -> dict[str, TrustedIssuer]:
    """Return issuer -> TrustedIssuer from CDS_JWT_ISSUERS, the sandbox (when enabled) and `extra`."""
    if not settings.development:
        if settings.trust_sandbox:
            raise SettingsError("CDS_TRUST_SANDBOX: the sandbox's private key is public; refused in production")
        if any(config.issuer.rstrip("/") == SANDBOX_ISSUER for config in settings.jwt_issuers):
            raise SettingsError("CDS_JWT_ISSUERS: the public sandbox cannot be trusted in production")
        if settings.jwks_allow_http_loopback:
            raise SettingsError("CDS_JWKS_ALLOW_HTTP_LOOPBACK: development and tests only; production needs https")
    issuers = {config.issuer: _trusted(config, settings) for config in settings.jwt_issuers}
    if settings.trust_sandbox and SANDBOX_ISSUER not in issuers:
        issuers[SANDBOX_ISSUER] = _sandbox(settings)
    for issuer in extra:
        issuers.setdefault(issuer.issuer, issuer)
    if not settings.development and not issuers:
        raise SettingsError(
            "CDS_JWT_ISSUERS: production mode needs at least one trusted issuer (see docs/security.md, "
            "'Registering an EHR'); CDS_MODE=development accepts calls without a JWT"
        )
    if not settings.development:
        _check_public_base_url(settings)
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
