"""`nxp2-cds keys` and `nxp2-cds jwt`: register an EHR without guesswork (docs/security.md, "Registering an EHR").

`keys` makes a signing key pair the way an EHR would: the private key as PEM (mode 0600, for the EHR) and
the public JWK Set with a `kid` (for this service), then prints the `CDS_JWT_ISSUERS` entry to paste. Run
again with a new `--kid` and the same `--jwks` to rotate: the new key is added next to the old ones.
`jwt` signs a short-lived JWT with such a key for one endpoint, so a registration can be tried with curl
before the EHR is wired up. Key generation and JWK export are `cryptography` and PyJWT; only the file
layout and the printed entry are ours.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from cds_service.auth.jwks import JwksError, parse_jwk_set

# The algorithms CDS Hooks 2.0 recommends; the service accepts both by default (CDS_JWT_ALGORITHMS).
ALGORITHMS = ("ES384", "RS384")
RSA_BITS = 3072


class KeyToolError(ValueError):
    """The key files cannot be written or read as asked; the message says why."""


def _new_private_key(alg: str) -> ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey:
    if alg == "ES384":
        return ec.generate_private_key(ec.SECP384R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)


def public_jwk(private_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, kid: str, alg: str) -> dict[str, Any]:
    """Return the public half of `private_key` as a JWK naming its kid, algorithm and use."""
    public_key = private_key.public_key()
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        jwk = ECAlgorithm.to_jwk(public_key, as_dict=True)
    else:
        jwk = RSAAlgorithm.to_jwk(public_key, as_dict=True)
    return {**jwk, "kid": kid, "alg": alg, "use": "sig"}


def _read_jwk_set(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {"keys": []}
    try:
        document = json.loads(path.read_text())
        parse_jwk_set(document, str(path))  # refuses a set holding a private key
    except (OSError, ValueError, JwksError) as error:
        raise KeyToolError(f"{path}: cannot add a key to it: {error}") from None
    return dict(document)


def _write_private(path: Path, pem: bytes) -> None:
    if path.exists():
        raise KeyToolError(f"{path} exists; choose another --kid or --out (a key is never overwritten)")
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)


def make_keys(issuer: str, kid: str, alg: str, out: Path, jwks: Path | None = None) -> tuple[Path, Path]:
    """Write `<out>/<kid>.pem` (private) and add the public key to the JWK Set file; return both paths."""
    jwks = jwks or out / "jwks.json"
    document = _read_jwk_set(jwks)
    if any(isinstance(k, dict) and k.get("kid") == kid for k in document["keys"]):
        raise KeyToolError(f"{jwks} already holds kid {kid!r}; a new key needs a new kid")
    private_key = _new_private_key(alg)
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    private_path = out / f"{kid}.pem"
    _write_private(private_path, pem)
    document["keys"] = [*document["keys"], public_jwk(private_key, kid, alg)]
    jwks.parent.mkdir(parents=True, exist_ok=True)
    jwks.write_text(json.dumps(document, indent=2) + "\n")
    return private_path, jwks


def issuers_entry(issuer: str, jwks_file: str) -> str:
    """Return the `CDS_JWT_ISSUERS` value that trusts `issuer` with the JWK Set at `jwks_file`."""
    return json.dumps({issuer: {"jwks_file": jwks_file}})


def sign_jwt(key_file: Path, *, issuer: str, audience: str, kid: str, alg: str, lifetime_s: int,
             tenant: str | None = None, now: float | None = None) -> str:
    """Return a JWT signed with the PEM key in `key_file`, as a CDS Client sends it (CDS Hooks 2.0 8.2)."""
    issued = int(time.time() if now is None else now)
    claims: dict[str, Any] = {"iss": issuer, "aud": audience, "iat": issued, "exp": issued + lifetime_s,
                              "jti": str(uuid.uuid4())}
    if tenant:
        claims["tenant"] = tenant
    try:
        private_key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as error:
        raise KeyToolError(f"{key_file}: not an unencrypted PEM private key ({error})") from None
    return jwt.encode(claims, private_key, algorithm=alg, headers={"kid": kid, "typ": "JWT"})  # type: ignore[arg-type]


def _keys(args: argparse.Namespace) -> int:
    out = Path(args.out)
    jwks = Path(args.jwks) if args.jwks else None
    try:
        private_path, jwks_path = make_keys(args.issuer, args.kid, args.alg, out, jwks)
    except KeyToolError as error:
        print(f"nxp2-cds keys: {error}", file=sys.stderr)
        return 2
    registered = args.registered_path or str(jwks_path.resolve())
    print(f"private key (for the EHR only, mode 0600): {private_path}")
    print(f"public JWK Set (for this service), kid {args.kid!r}, {args.alg}: {jwks_path}")
    if args.registered_path:
        print(f"  (mount it in the service at {registered})")
    print("Trust this issuer in the service with:")
    print(f"CDS_JWT_ISSUERS='{issuers_entry(args.issuer, registered)}'")
    return 0


def _jwt(args: argparse.Namespace) -> int:
    key = Path(args.key)
    try:
        token = sign_jwt(key, issuer=args.issuer, audience=args.aud, kid=args.kid or key.stem, alg=args.alg,
                         lifetime_s=args.lifetime, tenant=args.tenant)
    except KeyToolError as error:
        print(f"nxp2-cds jwt: {error}", file=sys.stderr)
        return 2
    print(token)
    return 0


def register(commands: Any) -> None:
    """Add the `keys` and `jwt` subcommands to the `nxp2-cds` parser."""
    keys = commands.add_parser("keys", help="make an EHR signing key and its JWK Set; print the CDS_JWT_ISSUERS entry")
    keys.add_argument("--issuer", required=True, help="the EHR's `iss`, e.g. https://ehr.example.org")
    keys.add_argument("--kid", default=time.strftime("key-%Y-%m"), help="key id (default: %(default)s)")
    keys.add_argument("--alg", choices=ALGORITHMS, default="ES384", help="default: %(default)s")
    keys.add_argument("--out", default="keys", help="folder for <kid>.pem and jwks.json (default: %(default)s)")
    keys.add_argument("--jwks", help="JWK Set file to add the key to (default: <out>/jwks.json)")
    keys.add_argument("--registered-path", help="where the service will read the JWK Set (e.g. a mounted path)")
    keys.set_defaults(run=_keys)
    token = commands.add_parser("jwt", help="sign a short-lived test JWT for one endpoint with a key from `keys`")
    token.add_argument("--key", required=True, help="the private key PEM written by `nxp2-cds keys`")
    token.add_argument("--issuer", required=True, help="iss")
    token.add_argument("--aud", required=True, help="the endpoint URL: CDS_PUBLIC_BASE_URL + path")
    token.add_argument("--kid", help="key id (default: the key file's name without .pem)")
    token.add_argument("--alg", choices=ALGORITHMS, default="ES384", help="default: %(default)s")
    token.add_argument("--tenant", help="tenant claim, if the issuer is registered with tenants")
    token.add_argument("--lifetime", type=int, default=300, help="seconds until exp (default: %(default)s)")
    token.set_defaults(run=_jwt)
