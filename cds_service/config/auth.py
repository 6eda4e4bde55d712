"""Settings of caller authentication: trusted CDS Clients (JWT issuers), the JWT policy and JWK Set fetching.

`check_auth` holds the production-mode refusals: settings that would let anyone forge a trusted JWT.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

from cds_service.config.declare import (
    PROJECT_ROOT,
    SettingsError,
    boolean,
    directory,
    non_negative_int,
    positive_float,
    positive_int,
    setting,
    words,
)

# Asymmetric JWS algorithms a CDS Client may use. `none` and every HS* (HMAC) are never accepted (spec 8.2).
ASYMMETRIC_ALGORITHMS = ("ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
SANDBOX_ISSUER = "https://sandbox.cds-hooks.org"


@dataclass(frozen=True)
class IssuerConfig:
    """One trusted CDS Client (JWT `iss`): where its public keys are and which tenants it may name.

    `jku` lists the JWK Set URLs this issuer may name in a token header (and that we may fetch);
    `tenants` None accepts any tenant or none; `fetch_jku` False uses the file only.
    """

    issuer: str
    jwks_file: Path | None = None
    jku: tuple[str, ...] = ()
    tenants: tuple[str, ...] | None = None
    fetch_jku: bool = True


_ABSOLUTE_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\s]+")
_JKU_URL = re.compile(r"https?://[^\s/?#]+(/[^\s#]*)?")
_ISSUER_KEYS = {"jwks_file", "jku", "tenants", "fetch_jku"}


def _string_list(value: Any, what: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) and item.strip() for item in items):
        raise ValueError(f"{what} must be a string or a list of non-empty strings")
    return tuple(items)


def _issuer(issuer: str, spec: Any) -> IssuerConfig:
    if not _ABSOLUTE_URI.fullmatch(issuer) or len(issuer) > 512:
        raise ValueError(f"issuer {issuer!r} is not an absolute URI")
    if not isinstance(spec, dict):
        raise ValueError(f"issuer {issuer!r}: expected an object with jwks_file and/or jku")
    unknown = set(spec) - _ISSUER_KEYS
    if unknown:
        raise ValueError(f"issuer {issuer!r}: unknown keys {sorted(unknown)} (allowed: {sorted(_ISSUER_KEYS)})")
    jwks_file = spec.get("jwks_file")
    if jwks_file is not None and (not isinstance(jwks_file, str) or not jwks_file.strip()):
        raise ValueError(f"issuer {issuer!r}: jwks_file must be a path")
    jku = _string_list(spec.get("jku", []), f"issuer {issuer!r}: jku")
    for url in jku:
        if not _JKU_URL.fullmatch(url):
            raise ValueError(f"issuer {issuer!r}: jku {url!r} is not an absolute http(s) URL")
    if jwks_file is None and not jku:
        raise ValueError(f"issuer {issuer!r}: give jwks_file, jku or both")
    tenants = spec.get("tenants")
    fetch_jku = spec.get("fetch_jku", True)
    if not isinstance(fetch_jku, bool):
        raise ValueError(f"issuer {issuer!r}: fetch_jku must be true or false")
    return IssuerConfig(
        issuer=issuer,
        jwks_file=Path(jwks_file).expanduser() if jwks_file else None,
        jku=jku,
        tenants=None if tenants is None else _string_list(tenants, f"issuer {issuer!r}: tenants"),
        fetch_jku=fetch_jku,
    )


def _issuers(raw: str) -> tuple[IssuerConfig, ...]:
    """Parse `{"<iss>": {"jwks_file": ..., "jku": [...], "tenants": [...]}, ...}`."""
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValueError(f"not JSON ({error.msg})") from None
    if not isinstance(parsed, dict):
        raise ValueError('expected a JSON object {"<issuer>": {"jwks_file": "...", "jku": ["..."]}}')
    return tuple(_issuer(issuer, spec) for issuer, spec in parsed.items())


def _algorithms(raw: str) -> tuple[str, ...]:
    names = words(raw)
    refused = [name for name in names if name not in ASYMMETRIC_ALGORITHMS]
    if refused or not names:
        what = f"{', '.join(refused)} refused" if refused else "no algorithm given"
        raise ValueError(f"{what}; accepted: the asymmetric {', '.join(ASYMMETRIC_ALGORITHMS)}")
    return names


@dataclass(frozen=True)
class AuthSettings:
    TITLE: ClassVar[str] = "Authentication (JWT)"

    jwt_issuers: tuple[IssuerConfig, ...] = setting(
        "CDS_JWT_ISSUERS", _issuers, (),
        'Trusted CDS Clients as JSON: {"<iss>": {"jwks_file": "<path>", "jku": ["https://..."], '
        '"tenants": ["..."], "fetch_jku": true}}. jwks_file and/or jku required; tenants optional. '
        "Production refuses to start without one.",
    )
    jwt_algorithms: tuple[str, ...] = setting(
        "CDS_JWT_ALGORITHMS", _algorithms, ("ES384", "RS384"),
        "Comma-separated JWS algorithms accepted (ES256/384/512, RS256/384/512, PS256/384/512); "
        "none and HS* are always refused.",
    )
    jwt_leeway_s: int = setting(
        "CDS_JWT_LEEWAY_S", non_negative_int, 30, "Clock skew allowed on JWT exp, iat and nbf, in seconds.",
    )
    jwt_max_lifetime_s: int = setting(
        "CDS_JWT_MAX_LIFETIME_S", positive_int, 3600,
        "Longest JWT lifetime (exp - iat) accepted, in seconds; the jti is remembered that long.",
    )
    auth_header_max_bytes: int = setting(
        "CDS_AUTH_HEADER_MAX_BYTES", positive_int, 4096, "Longest Authorization header accepted (401 above it).",
    )
    trust_sandbox: bool = setting(
        "CDS_TRUST_SANDBOX", boolean, False,
        "Trust the public CDS Hooks sandbox (https://sandbox.cds-hooks.org, ES384). Its private key is "
        "public, so this is refused in production.",
    )
    sandbox_jwks_file: Path = setting(
        "CDS_SANDBOX_JWKS_FILE", directory, PROJECT_ROOT / "cds_service" / "auth" / "keys" / "sandbox-jwks.json",
        "The sandbox's public JWK Set (shipped; from the cds-hooks/sandbox repository, .well-known/jwks.json).",
    )
    jwks_timeout_s: float = setting(
        "CDS_JWKS_TIMEOUT_S", positive_float, 3.0, "Time budget for fetching one JWK Set from a jku URL.",
    )
    jwks_cache_s: int = setting(
        "CDS_JWKS_CACHE_S", positive_int, 3600, "How long a fetched JWK Set is used before it is fetched again.",
    )
    jwks_min_refetch_s: int = setting(
        "CDS_JWKS_MIN_REFETCH_S", non_negative_int, 60,
        "Least time between two fetches of the same jku URL (an unknown kid cannot force more).",
    )
    jwks_allow_http_loopback: bool = setting(
        "CDS_JWKS_ALLOW_HTTP_LOOPBACK", boolean, False,
        "Development and tests only: allow http:// jku URLs on 127.0.0.1/localhost (production needs https).",
    )


def _loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_auth(auth: AuthSettings, development: bool) -> None:
    """Refuse what would let anyone forge a trusted JWT: the public sandbox or http key URLs in production.

    Raises:
        SettingsError: naming the variable.
    """
    if not development:
        if auth.trust_sandbox:
            raise SettingsError("CDS_TRUST_SANDBOX: the sandbox's private key is public; refused in production")
        if any(config.issuer.rstrip("/") == SANDBOX_ISSUER for config in auth.jwt_issuers):
            raise SettingsError("CDS_JWT_ISSUERS: the public sandbox cannot be trusted in production")
        if auth.jwks_allow_http_loopback:
            raise SettingsError("CDS_JWKS_ALLOW_HTTP_LOOPBACK: development and tests only; production needs https")
    for config in auth.jwt_issuers:
        for url in config.jku:
            parts = urlsplit(url)
            if parts.scheme == "https" or (auth.jwks_allow_http_loopback and _loopback(parts.hostname)):
                continue
            raise SettingsError(
                f"CDS_JWT_ISSUERS: jku {url!r} must be https (http only on 127.0.0.1/localhost, in development, "
                "with CDS_JWKS_ALLOW_HTTP_LOOPBACK=true)"
            )


def check_has_issuer(auth: AuthSettings, development: bool) -> None:
    """Production serves JWT-authenticated calls only, so it needs someone to trust.

    Raises:
        SettingsError: production mode without CDS_JWT_ISSUERS.
    """
    if not development and not auth.jwt_issuers:
        raise SettingsError(
            "CDS_JWT_ISSUERS: production mode needs at least one trusted issuer (see docs/security.md, "
            "'Registering an EHR'); CDS_MODE=development accepts calls without a JWT"
        )
