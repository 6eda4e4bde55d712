"""A test EHR for the load run: an ES384 key pair, its JWK Set file, and a pool of pre-signed JWTs.

Every token has its own `jti` (the service refuses a replay), `aud` = the service endpoint, and
`exp` = `iat` + the run's length + a margin (at least 5 minutes), within CDS_JWT_MAX_LIFETIME_S.
Signing (about 0.6 ms per ES384 token here) is done before the run, in one process per core, so the
load generator only cycles through strings while the service is measured.
"""

from __future__ import annotations

import json
import multiprocessing
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

ISSUER = "urn:nxp2-cds:load-test-ehr"
KID = "load-test-es384"


@dataclass(frozen=True)
class TestIssuer:
    """The load run's EHR: its private key (PEM) and the CDS_JWT_ISSUERS value that trusts it."""

    private_pem: bytes
    jwks_file: Path

    @classmethod
    def create(cls, directory: Path) -> TestIssuer:
        """Generate a P-384 key pair and write the public JWK Set into `directory`."""
        key = ec.generate_private_key(ec.SECP384R1())
        public = json.loads(ECAlgorithm.to_jwk(key.public_key()))
        public.update({"kid": KID, "alg": "ES384", "use": "sig"})
        jwks_file = directory / "load-test-jwks.json"
        jwks_file.write_text(json.dumps({"keys": [public]}))
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        return cls(private_pem=pem, jwks_file=jwks_file)

    def issuers_setting(self) -> str:
        return json.dumps({ISSUER: {"jwks_file": str(self.jwks_file)}})


def _sign(args: tuple[bytes, str, int, int]) -> list[str]:
    pem, audience, count, lifetime_s = args
    key = serialization.load_pem_private_key(pem, password=None)
    headers = {"kid": KID, "typ": "JWT"}
    tokens = []
    for _ in range(count):
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": audience, "iat": now, "exp": now + lifetime_s, "jti": str(uuid.uuid4())}
        tokens.append(jwt.encode(claims, key, algorithm="ES384", headers=headers))  # type: ignore[arg-type]
    return tokens


def sign_pool(issuer: TestIssuer, audience: str, count: int, lifetime_s: int, processes: int = 2) -> list[str]:
    """Return `count` fresh tokens for `audience`, signed in `processes` processes."""
    chunks = [count // processes + (1 if i < count % processes else 0) for i in range(processes)]
    work = [(issuer.private_pem, audience, n, lifetime_s) for n in chunks if n]
    if len(work) == 1:
        return _sign(work[0])
    with multiprocessing.get_context("spawn").Pool(len(work)) as pool:
        return [token for part in pool.map(_sign, work) for token in part]
