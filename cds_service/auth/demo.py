"""The demo EHR's signing key (development only): an ES384 key pair generated into data_dir at first start.

The private key never leaves data_dir and is never committed; its public key is trusted in development
mode only, under the issuer `DEMO_ISSUER`. A demo page signs its JWTs with `sign_demo_jwt`. No Flask.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from cds_service.auth.jwks import TrustedIssuer
from cds_service.config import Settings

DEMO_ISSUER = "urn:nxp2-cds:demo-ehr"
KEY_FILE = "demo-ehr-es384.pem"


class DemoKeyRefused(RuntimeError):
    """The demo key is for development mode only."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def public_jwk(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> dict[str, Any]:
    """Return the public JWK of a P-384 key, its kid being the RFC 7638 thumbprint."""
    public = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    numbers = public.public_numbers()
    size = (public.curve.key_size + 7) // 8
    members = {"crv": "P-384", "kty": "EC", "x": _b64(numbers.x.to_bytes(size, "big")),
               "y": _b64(numbers.y.to_bytes(size, "big"))}
    # RFC 7638: SHA-256 of the required members, sorted, without whitespace.
    canonical = json.dumps(members, sort_keys=True, separators=(",", ":")).encode("ascii")
    return {**members, "kid": _b64(hashlib.sha256(canonical).digest()), "alg": "ES384", "use": "sig"}


def ensure_demo_key(data_dir: Path) -> ec.EllipticCurvePrivateKey:
    """Return the demo key from data_dir, creating it (mode 0600) if it does not exist yet."""
    path = data_dir / KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        pem = ec.generate_private_key(ec.SECP384R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        temporary = data_dir / f".{KEY_FILE}.{uuid.uuid4().hex}"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
        try:
            os.link(temporary, path)  # atomic: if another worker won the race, its key is kept
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP384R1):
        raise ValueError(f"{path}: not a P-384 private key; delete it to generate a new one")
    return key


def demo_issuer_and_key(settings: Settings) -> tuple[str, ec.EllipticCurvePrivateKey]:
    """Return (issuer, private key) of the demo EHR; refused outside development mode."""
    if not settings.development:
        raise DemoKeyRefused("the demo EHR key exists in development mode only")
    return DEMO_ISSUER, ensure_demo_key(settings.data_dir)


def demo_trusted_issuer(settings: Settings) -> TrustedIssuer:
    """Return the demo EHR as a trusted issuer (development only), creating its key if needed."""
    _, key = demo_issuer_and_key(settings)
    jwk = public_jwk(key)
    return TrustedIssuer(issuer=DEMO_ISSUER, keys={jwk["kid"]: jwk}, fetch_jku=False)


def sign_demo_jwt(
    settings: Settings, audience: str, now: datetime, *, lifetime_s: int = 300, tenant: str | None = None
) -> str:
    """Return a JWT from the demo EHR for the endpoint URL `audience` (development only)."""
    issuer, key = demo_issuer_and_key(settings)
    issued = int(now.timestamp())
    claims: dict[str, Any] = {"iss": issuer, "aud": audience, "iat": issued, "exp": issued + lifetime_s,
                              "jti": str(uuid.uuid4())}
    if tenant is not None:
        claims["tenant"] = tenant
    return jwt.encode(claims, key, algorithm="ES384", headers={"kid": public_jwk(key)["kid"], "typ": "JWT"})
