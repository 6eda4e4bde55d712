"""SMART Backend Services: a `private_key_jwt` client assertion (ES384 or RS384, PyJWT) for an access token.

The token endpoint comes from the server's `.well-known/smart-configuration`. The token is kept until shortly
before `expires_in` runs out, or until the server answers 401, then a new one is asked for. Neither the
token nor the assertion is ever logged or printed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME_S = 240  # SMART: at most five minutes; a little less for clock skew
RENEW_BEFORE_S = 30  # ask for a new token this long before the old one runs out
TIMEOUT_S = 30


class SmartAuthError(RuntimeError):
    """No access token: the key, the server's configuration or the token endpoint said no; says which."""


@dataclass(frozen=True)
class ClientKey:
    """A private key with the algorithm SMART pairs with it and its key id (the RFC 7638 thumbprint)."""

    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    algorithm: str
    kid: str

    @classmethod
    def load(cls, path: Path) -> ClientKey:
        try:
            key = load_pem_private_key(path.read_bytes(), password=None)
        except OSError as error:
            raise SmartAuthError(f"--key {path}: {error.strerror or error}") from None
        except (ValueError, TypeError) as error:
            raise SmartAuthError(f"--key {path}: not an unencrypted PEM private key ({error})") from None
        if isinstance(key, ec.EllipticCurvePrivateKey):
            if not isinstance(key.curve, ec.SECP384R1):
                raise SmartAuthError(f"--key {path}: an EC key must be on P-384 for ES384, not {key.curve.name}")
            jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
            return cls(key, "ES384", _thumbprint(jwk, ("crv", "kty", "x", "y")))
        if isinstance(key, rsa.RSAPrivateKey):
            if key.key_size < 2048:
                raise SmartAuthError(f"--key {path}: an RSA key must have at least 2048 bits")
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
            return cls(key, "RS384", _thumbprint(jwk, ("e", "kty", "n")))
        raise SmartAuthError(f"--key {path}: SMART Backend Services takes an EC P-384 or RSA key")


def _thumbprint(jwk: dict[str, Any], members: tuple[str, ...]) -> str:
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()


def discover_token_endpoint(base: str, session: requests.Session) -> str:
    url = f"{base.rstrip('/')}/.well-known/smart-configuration"
    try:
        response = session.get(url, headers={"Accept": "application/json"}, timeout=TIMEOUT_S)
    except requests.RequestException as error:
        raise SmartAuthError(f"{url}: cannot be reached ({type(error).__name__})") from None
    try:
        endpoint = response.json()["token_endpoint"] if response.status_code == 200 else None
    except (ValueError, KeyError, TypeError):
        endpoint = None
    if not isinstance(endpoint, str) or not endpoint.startswith(("https://", "http://")):
        raise SmartAuthError(f"{url}: answered {response.status_code} without a token_endpoint")
    return endpoint


@dataclass
class BackendAuth:
    """Access tokens for one client at one token endpoint."""

    token_url: str
    client_id: str
    key: ClientKey
    scope: str
    session: requests.Session
    _token: str | None = field(default=None, repr=False)
    _expires_at: float = 0.0

    def assertion(self) -> str:
        now = int(time.time())
        claims = {"iss": self.client_id, "sub": self.client_id, "aud": self.token_url, "iat": now,
                  "exp": now + ASSERTION_LIFETIME_S, "jti": str(uuid.uuid4())}
        return jwt.encode(claims, self.key.key, algorithm=self.key.algorithm,
                          headers={"kid": self.key.kid, "typ": "JWT"})

    def token(self) -> str:
        if self._token is None or time.monotonic() >= self._expires_at:
            self._token, lifetime = self._fetch()
            self._expires_at = time.monotonic() + max(lifetime - RENEW_BEFORE_S, lifetime / 2)
        return self._token

    def renew(self) -> None:
        """Forget the token (the server said 401): the next `token()` asks for a new one."""
        self._token = None

    def _fetch(self) -> tuple[str, float]:
        form = {"grant_type": "client_credentials", "scope": self.scope,
                "client_assertion_type": ASSERTION_TYPE, "client_assertion": self.assertion()}
        try:
            response = self.session.post(self.token_url, data=form, headers={"Accept": "application/json"},
                                         timeout=TIMEOUT_S)
        except requests.RequestException as error:
            reason = type(error).__name__
            raise SmartAuthError(f"token endpoint {self.token_url} cannot be reached ({reason})") from None
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code != 200 or not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
            reason = ""
            if isinstance(body, dict) and isinstance(body.get("error"), str):
                described = body.get("error_description")
                reason = f": {body['error']}" + (f" ({str(described)[:300]})" if isinstance(described, str) else "")
            raise SmartAuthError(f"the token endpoint refused client {self.client_id!r} "
                                 f"(HTTP {response.status_code}{reason})")
        lifetime = body.get("expires_in")
        return body["access_token"], float(lifetime) if isinstance(lifetime, int | float) and lifetime > 0 else 300.0
