"""JWK Sets of trusted issuers: read from files at start-up, or fetched from allowlisted `jku` URLs.

Keys are kept as raw JWK objects and bound to the token's algorithm only when a token is verified
(`jwt.PyJWK`), so one RSA key can serve RS384 and a JWK's own `alg`, when given, must agree. A JWK Set
with a private key in it is refused. Fetched sets are cached, refetched for an unknown `kid` at most
once per `min_refetch_s`, read with a time budget and a size cap, and never follow redirects. No Flask.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

log = logging.getLogger("cds_service.auth")

Jwk = Mapping[str, Any]
MAX_JWKS_BYTES = 64 * 1024
# Members that only a private or symmetric key has: such a key must never be configured as a public key.
_PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


class JwksError(ValueError):
    """A JWK Set (file or response) cannot be used; the message names its source, never a key."""


@dataclass(frozen=True)
class TrustedIssuer:
    """One issuer we trust: its keys on file (kid -> JWK), the jku URLs it may use, its tenants."""

    issuer: str
    keys: Mapping[str, Jwk] = field(default_factory=dict)
    jku: tuple[str, ...] = ()
    tenants: frozenset[str] | None = None
    fetch_jku: bool = True


def parse_jwk_set(document: Any, source: str) -> dict[str, Jwk]:
    """Return the set's public signing keys by kid; keys without a kid or with a duplicated kid are dropped."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise JwksError(f"{source}: not a JWK Set (an object with a 'keys' list)")
    keys: dict[str, Jwk] = {}
    duplicated: set[str] = set()
    for jwk in document["keys"]:
        if not isinstance(jwk, dict):
            continue
        if _PRIVATE_MEMBERS & set(jwk):
            raise JwksError(f"{source}: holds a private or symmetric key; publish public keys only")
        kid = jwk.get("kid")
        if not isinstance(kid, str) or not kid:
            continue
        usable = (
            jwk.get("kty") in {"EC", "RSA"}
            and jwk.get("use", "sig") == "sig"
            and ("key_ops" not in jwk or "verify" in (jwk.get("key_ops") or []))
        )
        if not usable:
            continue
        if kid in keys:
            duplicated.add(kid)
        keys[kid] = jwk
    for kid in duplicated:
        # The spec requires unique kids; with two keys under one kid we could not tell which is meant.
        log.warning("JWK Set has a duplicated kid; it is not used", extra={"jwks_source": source, "jwt_kid": kid})
        del keys[kid]
    if not keys:
        raise JwksError(f"{source}: no usable public signing key (EC or RSA, with a kid)")
    return keys


def load_jwks_file(path: Path) -> dict[str, Jwk]:
    """Read a JWK Set file; JwksError names the file when it is missing or unusable."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise JwksError(f"{path}: cannot read the JWK Set file ({error.strerror})") from None
    except ValueError:
        raise JwksError(f"{path}: the JWK Set file is not JSON") from None
    return parse_jwk_set(document, str(path))


def fetch_jwks(url: str, timeout_s: float) -> dict[str, Jwk]:
    """GET a JWK Set: no redirects, no proxies from the environment, a total time budget, a size cap."""
    deadline = time.monotonic() + timeout_s
    body = bytearray()
    try:
        with requests.Session() as session:
            session.trust_env = False  # no proxy or netrc from the environment for key material
            with session.get(
                url, timeout=timeout_s, allow_redirects=False, stream=True, headers={"Accept": "application/json"}
            ) as response:
                if response.status_code != 200:
                    raise JwksError(f"{url}: HTTP {response.status_code}")
                for chunk in response.iter_content(8192):
                    body += chunk
                    if len(body) > MAX_JWKS_BYTES:
                        raise JwksError(f"{url}: JWK Set larger than {MAX_JWKS_BYTES} bytes")
                    if time.monotonic() > deadline:
                        raise JwksError(f"{url}: JWK Set not received within {timeout_s} s")
    except requests.RequestException as error:
        raise JwksError(f"{url}: fetch failed ({type(error).__name__})") from None
    try:
        document = json.loads(bytes(body))
    except ValueError:
        raise JwksError(f"{url}: the response is not JSON") from None
    return parse_jwk_set(document, url)


@dataclass
class _Fetched:
    keys: Mapping[str, Jwk] = field(default_factory=dict)
    fetched_at: float | None = None
    attempted_at: float | None = None


class KeyStore:
    """Find an issuer's key by kid: on file first, then in its fetched jku sets (refetched when needed)."""

    def __init__(
        self,
        fetch: Callable[[str], Mapping[str, Jwk]],
        *,
        cache_s: float,
        min_refetch_s: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._cache_s = cache_s
        self._min_refetch_s = min_refetch_s
        self._monotonic = monotonic
        self._sets: dict[str, _Fetched] = {}
        self._lock = threading.Lock()

    def find(self, issuer: TrustedIssuer, kid: str, jku: str | None) -> Jwk | None:
        """Return the key `kid` of `issuer`, or None. `jku` must already be on the issuer's allowlist."""
        if kid in issuer.keys:
            return issuer.keys[kid]
        if not issuer.fetch_jku:
            return None
        urls = (jku,) if jku else issuer.jku
        with self._lock:
            for url in urls:
                key = self._lookup(url, kid)
                if key is not None:
                    return key
        return None

    def _lookup(self, url: str, kid: str) -> Jwk | None:
        entry = self._sets.setdefault(url, _Fetched())
        now = self._monotonic()
        fresh = entry.fetched_at is not None and now - entry.fetched_at < self._cache_s
        if fresh and kid in entry.keys:
            return entry.keys[kid]
        if entry.attempted_at is not None and now - entry.attempted_at < self._min_refetch_s:
            return entry.keys.get(kid) if fresh else None  # rate limit: an unknown kid cannot force a fetch
        entry.attempted_at = now
        try:
            entry.keys = self._fetch(url)
            entry.fetched_at = now
        except JwksError as error:
            # Fail closed: a set we cannot refresh is not used past its cache time.
            log.warning("JWK Set fetch failed", extra={"jwks_source": url, "jwks_error": str(error)})
            if not fresh:
                entry.keys, entry.fetched_at = {}, None
        return entry.keys.get(kid)
