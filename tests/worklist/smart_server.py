"""sekmet (the real FHIR server of the suite) with SMART Backend Services clients, and keys for them.

Its limits, measured (issue 18): one key type per client (a JWKS mixing EC and RSA keys gives a 500),
`system/*.read` to export and `system/*.*` to cancel (DELETE), `_since` in UTC with Z.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.support.fhir_server import FhirServer


def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP384R1())


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def write_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, path: Path) -> Path:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return path


def public_jwk(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> dict[str, Any]:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
        return jwk | {"alg": "ES384"}
    return json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key())) | {"alg": "RS384"}


class SmartFhirServer(FhirServer):
    """sekmet accepting SMART backend tokens for `clients` (client id -> (public key, scopes)) and a static
    bearer token for loading data."""

    def __init__(self, clients: dict[str, tuple[ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, str]],
                 token_lifetime: int = 3600) -> None:
        super().__init__(token="loader-token-7f3a")
        self.clients = clients
        self.token_lifetime = token_lifetime

    def settings(self, data_dir: Path) -> dict[str, Any]:
        settings = super().settings(data_dir)
        settings["server_auth"] = {
            "types": ["bearer", "smart"], "tokens": [self.token], "token_lifetime": self.token_lifetime,
            "smart_clients": [{"client_id": cid, "jwks": {"keys": [public_jwk(key)]}, "scopes": scopes}
                              for cid, (key, scopes) in self.clients.items()],
        }
        return settings
