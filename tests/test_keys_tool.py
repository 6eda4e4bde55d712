"""`nxp2-cds keys` and `nxp2-cds jwt`: a key pair the service accepts, rotation into the same JWK Set, and
refusals that never overwrite a key. The end-to-end use is tests/deploy/test_walkthrough.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cds_service.auth.jwks import load_jwks_file
from cds_service.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(("alg", "kty"), [("ES384", "EC"), ("RS384", "RSA")])
def test_keys_writes_a_private_key_and_a_public_jwk_set_the_service_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], alg: str, kty: str
) -> None:
    code, out, _ = run(capsys, "keys", "--issuer", "https://ehr.example.org", "--kid", "k1", "--alg", alg,
                       "--out", str(tmp_path), "--registered-path", "/etc/nxp2-cds/issuers/ehr.json")
    assert code == 0
    assert (tmp_path / "k1.pem").stat().st_mode & 0o777 == 0o600
    assert b"PRIVATE KEY" in (tmp_path / "k1.pem").read_bytes()
    keys = load_jwks_file(tmp_path / "jwks.json")  # the service's own loader: refuses private members
    assert keys["k1"]["kty"] == kty and keys["k1"]["alg"] == alg
    assert "CDS_JWT_ISSUERS='" + json.dumps(
        {"https://ehr.example.org": {"jwks_file": "/etc/nxp2-cds/issuers/ehr.json"}}) + "'" in out


def test_a_second_kid_is_added_next_to_the_first_and_a_kid_is_never_reused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for kid in ("old", "new"):
        assert run(capsys, "keys", "--issuer", "https://ehr.example.org", "--kid", kid, "--out", str(tmp_path))[0] == 0
    assert sorted(load_jwks_file(tmp_path / "jwks.json")) == ["new", "old"]
    before = (tmp_path / "old.pem").read_bytes()
    code, _, err = run(capsys, "keys", "--issuer", "https://ehr.example.org", "--kid", "old", "--out", str(tmp_path))
    assert code == 2 and "already holds kid 'old'" in err
    assert (tmp_path / "old.pem").read_bytes() == before


def test_jwt_signs_for_one_endpoint_with_the_kid_of_the_key_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import jwt

    run(capsys, "keys", "--issuer", "https://ehr.example.org", "--kid", "k1", "--out", str(tmp_path))
    code, out, _ = run(capsys, "jwt", "--key", str(tmp_path / "k1.pem"), "--issuer", "https://ehr.example.org",
                       "--aud", "https://cds.example.org/cds-services", "--tenant", "hospital-a")
    token = out.strip()
    assert code == 0
    assert jwt.get_unverified_header(token) == {"alg": "ES384", "kid": "k1", "typ": "JWT"}
    jwk = load_jwks_file(tmp_path / "jwks.json")["k1"]
    claims = jwt.decode(token, jwt.PyJWK(dict(jwk)), algorithms=["ES384"],
                        audience="https://cds.example.org/cds-services")
    assert claims["iss"] == "https://ehr.example.org" and claims["tenant"] == "hospital-a"
    assert claims["exp"] - claims["iat"] == 300 and claims["jti"]
    code, _, err = run(capsys, "jwt", "--key", str(tmp_path / "jwks.json"), "--issuer", "x", "--aud", "y")
    assert code == 2 and "not an unencrypted PEM private key" in err
