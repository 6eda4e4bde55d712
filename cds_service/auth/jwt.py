"""Verify a CDS Client's JWT (CDS Hooks 2.0 "Trusting CDS Clients"): pure functions, no Flask.

The signature, `aud`, `iss` and claim presence are checked by PyJWT; the algorithm comes from our
allowlist, never from the token; the times are checked here against the caller's `now` (PyJWT reads
the wall clock, and the service's clock is injectable). Every failure raises `AuthError` whose
reason is for the log only: it never holds the token.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt
import orjson

from cds_service.auth.jwks import KeyStore, TrustedIssuer
from cds_service.auth.replay import ReplayCache
from cds_service.config import ASYMMETRIC_ALGORITHMS

_BEARER = re.compile(r"Bearer +([A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+) *", re.IGNORECASE)
MAX_CLAIM_CHARS = 256
_CURVES = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}


class AuthError(Exception):
    """Authentication failed. `reason`, the claimed issuer/kid/tenant and `details` go to the log; the client
    sees 401 only. `details` holds what explains the failure to an operator (the `aud` received beside the
    one expected, the clock skew and the server time), never the token."""

    def __init__(self, reason: str, *, issuer: str | None = None, kid: str | None = None,
                 tenant: str | None = None, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.issuer = _clip(issuer)
        self.kid = _clip(kid)
        self.tenant = _clip(tenant)
        self.details = dict(details or {})


def _clip(value: Any) -> str | None:
    """Keep an untrusted header or claim value short enough for a log line."""
    return None if value is None else str(value)[:120]


@dataclass(frozen=True)
class AuthPolicy:
    algorithms: tuple[str, ...]
    leeway_s: int
    max_lifetime_s: int
    max_header_bytes: int


@dataclass(frozen=True)
class VerifiedToken:
    issuer: str
    tenant: str | None
    jti: str
    expires_at: datetime


def bearer_token(authorization: str, max_bytes: int) -> str:
    """Return the compact JWS of an `Authorization: Bearer <jwt>` header."""
    if len(authorization.encode("utf-8", "replace")) > max_bytes:
        raise AuthError(f"Authorization header longer than {max_bytes} bytes")
    match = _BEARER.fullmatch(authorization)
    if match is None:
        raise AuthError("Authorization header is not 'Bearer <JWT>'")
    return match.group(1)


def _unverified(token: str, policy: AuthPolicy) -> tuple[dict[str, Any], dict[str, Any]]:
    """The token's header and claims before any check: one parse (PyJWT's base64 check is a Python loop over
    each character, so parsing the header and the payload separately, then again to verify, cost 0.3 ms)."""
    try:
        decoded = jwt.decode_complete(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        # Say what is wrong, the header's faults first (only on this path: it parses again).
        _, kid, _ = _header(_readable_header(token), policy)
        raise AuthError("JWT payload unreadable", kid=kid) from None
    return decoded["header"], decoded["payload"]


def _readable_header(token: str) -> dict[str, Any]:
    try:
        return jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise AuthError("JWT header unreadable") from None


def _header(header: Mapping[str, Any], policy: AuthPolicy) -> tuple[str, str, str | None]:
    alg, kid, typ, jku = header.get("alg"), header.get("kid"), header.get("typ"), header.get("jku")
    # Checked against our own list; `none` and HS* can never be on it (config refuses them too).
    if alg not in policy.algorithms or alg not in ASYMMETRIC_ALGORITHMS:
        raise AuthError(f"JWT alg {_clip(alg)!r} not accepted", kid=kid)
    if typ != "JWT":
        raise AuthError(f"JWT typ {_clip(typ)!r} is not 'JWT'", kid=kid)
    if not isinstance(kid, str) or not kid or len(kid) > MAX_CLAIM_CHARS:
        raise AuthError("JWT kid missing or malformed")
    if jku is not None and not isinstance(jku, str):
        raise AuthError("JWT jku is not a string", kid=kid)
    return alg, kid, jku


def _unverified_issuer(claims: Mapping[str, Any], kid: str) -> str:
    issuer = claims.get("iss")
    if not isinstance(issuer, str) or not issuer:
        raise AuthError("JWT iss missing", kid=kid)
    return issuer


def _key(jwk: Mapping[str, Any], alg: str, issuer: str, kid: str) -> jwt.PyJWK:
    """Bind the JWK to the token's (allowed) algorithm, refusing a key made for another one."""
    if "alg" in jwk and jwk["alg"] != alg:
        raise AuthError(f"JWT alg {alg} does not match the key's alg", issuer=issuer, kid=kid)
    if alg in _CURVES and jwk.get("crv") != _CURVES[alg]:
        raise AuthError(f"JWT alg {alg} does not match the key's curve", issuer=issuer, kid=kid)
    try:
        return _bound_key(alg, orjson.dumps(jwk, option=orjson.OPT_SORT_KEYS))
    except jwt.PyJWTError:
        raise AuthError(f"the key {kid!r} cannot verify {alg}", issuer=issuer, kid=kid) from None


@functools.lru_cache(maxsize=64)
def _bound_key(alg: str, jwk_json: bytes) -> jwt.PyJWK:
    """The key object of a JWK, built once per key and algorithm: building decodes and checks the EC point
    (0.1 ms a call). Keyed by the JWK's content, so a rotated key is a new entry."""
    return jwt.PyJWK(orjson.loads(jwk_json), algorithm=alg)


def _number(claims: Mapping[str, Any], name: str, kid: str) -> float:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise AuthError(f"JWT {name} is not a number", issuer=claims.get("iss"), kid=kid)
    return float(value)


def _time_error(reason: str, claims: Mapping[str, Any], kid: str, skew_s: float, now: float) -> AuthError:
    """A time check failed: say by how much, and what this server's clock read (the usual cause is skew)."""
    return AuthError(
        f"{reason} by {skew_s:.0f} s beyond the allowed skew", issuer=claims.get("iss"), kid=kid,
        tenant=claims.get("tenant") if isinstance(claims.get("tenant"), str) else None,
        details={"clock_skew_s": round(skew_s, 1), "server_time": datetime.fromtimestamp(now, UTC).isoformat()},
    )


def _check_times(claims: Mapping[str, Any], policy: AuthPolicy, now: float, kid: str) -> float:
    """Check exp, iat, nbf and the lifetime against `now`; return exp."""
    exp, iat = _number(claims, "exp", kid), _number(claims, "iat", kid)
    issuer = claims.get("iss")
    if exp + policy.leeway_s <= now:
        raise _time_error("JWT expired", claims, kid, now - exp - policy.leeway_s, now)
    if iat - policy.leeway_s > now:
        raise _time_error("JWT iat is in the future", claims, kid, iat - policy.leeway_s - now, now)
    if "nbf" in claims and (nbf := _number(claims, "nbf", kid)) - policy.leeway_s > now:
        raise _time_error("JWT not valid yet (nbf)", claims, kid, nbf - policy.leeway_s - now, now)
    if exp <= iat:
        raise AuthError("JWT exp is not after iat", issuer=issuer, kid=kid)
    if exp - iat > policy.max_lifetime_s:
        raise AuthError(f"JWT lifetime {exp - iat:.0f} s exceeds {policy.max_lifetime_s} s", issuer=issuer, kid=kid)
    return exp


def _claimed_audience(token: str) -> str:
    """The `aud` the token names (unverified, shortened), for the log line of an audience mismatch."""
    try:
        aud = jwt.decode(token, options={"verify_signature": False}).get("aud")
    except jwt.PyJWTError:
        return "unreadable"
    return str(_clip(aud if isinstance(aud, str) else json.dumps(aud)))


def verify_token(
    authorization: str,
    *,
    audience: str,
    policy: AuthPolicy,
    issuers: Mapping[str, TrustedIssuer],
    keys: KeyStore,
    replay: ReplayCache,
    now: datetime,
) -> VerifiedToken:
    """Verify the header's JWT for the endpoint `audience` and remember its jti.

    Raises:
        AuthError: for any reason the token is not accepted.
        StoreError: the replay store failed (the call must fail, but it is not the client's fault).
    """
    token = bearer_token(authorization, policy.max_header_bytes)
    header, unverified_claims = _unverified(token, policy)
    alg, kid, jku = _header(header, policy)
    claimed_issuer = _unverified_issuer(unverified_claims, kid)
    issuer = issuers.get(claimed_issuer)
    if issuer is None:
        raise AuthError("JWT iss not trusted", issuer=claimed_issuer, kid=kid)
    if jku is not None and jku not in issuer.jku:
        raise AuthError(f"JWT jku {_clip(jku)!r} not allowed for this iss", issuer=claimed_issuer, kid=kid)
    jwk = keys.find(issuer, kid, jku)
    if jwk is None:
        raise AuthError("JWT kid not found in the issuer's JWK Set", issuer=claimed_issuer, kid=kid)
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key=_key(jwk, alg, claimed_issuer, kid),
            algorithms=[alg],
            audience=audience,
            issuer=issuer.issuer,
            options={
                "require": ["iss", "aud", "exp", "iat", "jti"],
                "verify_exp": False, "verify_iat": False, "verify_nbf": False,  # checked below against `now`
                "enforce_minimum_key_length": True,
            },
        )
    except jwt.InvalidSignatureError:
        raise AuthError("JWT signature invalid", issuer=claimed_issuer, kid=kid) from None
    except jwt.InvalidAudienceError:
        received = _claimed_audience(token)
        raise AuthError(f"JWT aud does not name {audience}", issuer=claimed_issuer, kid=kid,
                        details={"aud_received": received, "aud_expected": audience}) from None
    except jwt.PyJWTError as error:
        raise AuthError(f"JWT refused: {_clip(error)}", issuer=claimed_issuer, kid=kid) from None
    exp = _check_times(claims, policy, now.timestamp(), kid)
    jti, tenant = claims["jti"], claims.get("tenant")
    if not isinstance(jti, str) or not jti or len(jti) > MAX_CLAIM_CHARS:
        raise AuthError("JWT jti malformed", issuer=claimed_issuer, kid=kid)
    if tenant is not None and (not isinstance(tenant, str) or not tenant or len(tenant) > MAX_CLAIM_CHARS):
        raise AuthError("JWT tenant malformed", issuer=claimed_issuer, kid=kid)
    if issuer.tenants is not None and tenant not in issuer.tenants:
        raise AuthError(f"JWT tenant {_clip(tenant)!r} not allowed for this iss", issuer=claimed_issuer, kid=kid,
                        tenant=tenant)
    expires_at = datetime.fromtimestamp(exp + policy.leeway_s, UTC)
    if not replay.remember(jti, issuer.issuer, expires_at):
        raise AuthError("JWT jti replayed", issuer=claimed_issuer, kid=kid, tenant=tenant)
    return VerifiedToken(issuer=issuer.issuer, tenant=tenant, jti=jti, expires_at=expires_at)


@dataclass(frozen=True)
class Verifier:
    """Everything `verify_token` needs besides the header, the audience and the time; built at start-up."""

    policy: AuthPolicy
    issuers: Mapping[str, TrustedIssuer]
    keys: KeyStore
    replay: ReplayCache

    def verify(self, authorization: str, *, audience: str, now: datetime) -> VerifiedToken:
        """Verify one call's Authorization header for `audience` at `now`."""
        return verify_token(
            authorization, audience=audience, policy=self.policy, issuers=self.issuers,
            keys=self.keys, replay=self.replay, now=now,
        )
