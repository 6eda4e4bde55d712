"""Test keys and JWTs: keys are generated at test time with cryptography (no private key is committed).

Every token and Authorization header made here is recorded in `ISSUED`, so the log check can prove
that none of them ever reaches a log line.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.conftest import NOW

BASE = "https://cds.example.org"
ISSUER = "https://ehr.example.org"
OTHER_ISSUER = "https://other-ehr.example.org"
ISSUER_JKU = "https://ehr.example.org/.well-known/jwks.json"
DISCOVERY = "/cds-services"
SERVICE = "/cds-services/test-service"
FEEDBACK = "/cds-services/test-service/feedback"

# Every secret a test produced: tokens, Authorization headers, patient values. None may be logged.
ISSUED: set[str] = set()


@dataclass(frozen=True)
class Key:
    private: Any
    kid: str
    alg: str

    def jwk(self) -> dict[str, Any]:
        """Return the public JWK (with kid and alg)."""
        algorithm = jwt.algorithms.ECAlgorithm if self.alg.startswith("ES") else jwt.algorithms.RSAAlgorithm
        public: dict[str, Any] = json.loads(algorithm.to_jwk(self.private.public_key()))
        return public | {"kid": self.kid, "alg": self.alg, "use": "sig"}

    def public_pem(self) -> bytes:
        return bytes(self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ))


_CURVES = {"ES256": ec.SECP256R1, "ES384": ec.SECP384R1, "ES512": ec.SECP521R1}


def ec_key(alg: str = "ES384", kid: str | None = None) -> Key:
    return Key(ec.generate_private_key(_CURVES[alg]()), kid or f"ec-{uuid.uuid4().hex[:8]}", alg)


@lru_cache(maxsize=4)
def _rsa(bits: int) -> Any:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def rsa_key(alg: str = "RS384", kid: str | None = None, bits: int = 2048) -> Key:
    return Key(_rsa(bits), kid or f"rsa-{bits}", alg)


def write_jwks(path: Path, *keys: Key) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"keys": [key.jwk() for key in keys]}))
    return path


def claims(path: str = DISCOVERY, *, iss: str = ISSUER, now: datetime = NOW, lifetime: int = 300,
           **extra: Any) -> dict[str, Any]:
    issued = int(now.timestamp())
    return {"iss": iss, "aud": BASE + path, "iat": issued, "exp": issued + lifetime,
            "jti": str(uuid.uuid4())} | extra


def mint(key: Key, payload: dict[str, Any] | None = None, *, headers: dict[str, Any] | None = None,
         alg: str | None = None) -> str:
    """Sign `payload` (default: valid claims for discovery) with `key`; kid and typ set unless overridden."""
    header = {"kid": key.kid, "typ": "JWT"} | (headers or {})
    token = jwt.encode(payload or claims(), key.private, algorithm=alg or key.alg, headers=header)
    return record(token)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"") -> str:
    """Build a compact JWS by hand (for tokens a library refuses to make: alg none, HS256 with a PEM)."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"
    return record(f"{signing_input}.{_b64(signature)}")


def signed_as(key: Key, sign_alg: str, header: dict[str, Any], payload: dict[str, Any]) -> str:
    """Sign with `sign_alg` whatever `header` claims (a library will not make such a token)."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"
    signature = jwt.get_algorithm_by_name(sign_alg).sign(signing_input.encode(), key.private)
    return record(f"{signing_input}.{_b64(signature)}")


def hs256_with(secret: bytes, header: dict[str, Any], payload: dict[str, Any]) -> str:
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return record(f"{signing_input}.{_b64(signature)}")


def record(secret: str) -> str:
    """Remember a secret for the log check (too-short strings like "Bearer" are not secrets)."""
    if len(secret) >= 12:
        ISSUED.add(secret)
    return secret


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": record(f"Bearer {token}")}
