"""Security settings: a clear, validated env format; a malformed value or an unsafe mix stops start-up."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cds_service.app import create_app
from cds_service.cli import main
from cds_service.config import IssuerConfig, Settings, SettingsError, documented_settings
from tests.rules_for_tests import TEST_REGISTRY
from tests.security.conftest import Capture, TrustSetup, secure_settings


def test_issuers_json_is_read_into_issuer_configs(trust: TrustSetup) -> None:
    raw = json.dumps({
        "https://ehr.example.org": {"jwks_file": str(trust.jwks), "jku": ["https://ehr.example.org/jwks.json"],
                                    "tenants": ["hospital-a", "hospital-b"]},
        "https://other.example.org": {"jku": "https://other.example.org/jwks.json", "fetch_jku": True},
    })
    settings = Settings.from_env({"CDS_JWT_ISSUERS": raw, "CDS_JWT_ALGORITHMS": "ES384, RS384, PS384",
                                  "CDS_JWT_LEEWAY_S": "0", "CDS_JWT_MAX_LIFETIME_S": "300"})
    assert settings.jwt_issuers == (
        IssuerConfig("https://ehr.example.org", jwks_file=trust.jwks, jku=("https://ehr.example.org/jwks.json",),
                     tenants=("hospital-a", "hospital-b")),
        IssuerConfig("https://other.example.org", jku=("https://other.example.org/jwks.json",)),
    )
    assert settings.jwt_algorithms == ("ES384", "RS384", "PS384")
    assert (settings.jwt_leeway_s, settings.jwt_max_lifetime_s) == (0, 300)
    assert settings.describe()["CDS_JWT_ISSUERS"] == "https://ehr.example.org, https://other.example.org"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("CDS_JWT_ISSUERS", "not json", "not JSON"),
        ("CDS_JWT_ISSUERS", '["https://ehr.example.org"]', "expected a JSON object"),
        ("CDS_JWT_ISSUERS", '{"ehr": {"jwks_file": "k.json"}}', "not an absolute URI"),
        ("CDS_JWT_ISSUERS", '{"https://e.org": {}}', "give jwks_file, jku or both"),
        ("CDS_JWT_ISSUERS", '{"https://e.org": {"jwks_fil": "k.json"}}', "unknown keys"),
        ("CDS_JWT_ISSUERS", '{"https://e.org": {"jku": ["ftp://e.org/k"]}}', "not an absolute http(s) URL"),
        ("CDS_JWT_ISSUERS", '{"https://e.org": {"jku": "https://e.org/k", "tenants": [""]}}', "tenants"),
        ("CDS_JWT_ISSUERS", '{"https://e.org": {"jku": "https://e.org/k", "fetch_jku": "yes"}}', "fetch_jku"),
        ("CDS_JWT_ISSUERS", '{"https://e.org": "k.json"}', "expected an object"),
        ("CDS_JWT_ALGORITHMS", "ES384,HS256", "HS256"),
        ("CDS_JWT_ALGORITHMS", "none", "none"),
        ("CDS_JWT_ALGORITHMS", " , ", "no algorithm"),
        ("CDS_JWT_LEEWAY_S", "-1", "zero or a positive"),
        ("CDS_JWT_MAX_LIFETIME_S", "0", "positive"),
        ("CDS_AUTH_HEADER_MAX_BYTES", "lots", "invalid literal"),
        ("CDS_TRUST_SANDBOX", "maybe", "true or false"),
        ("CDS_MAX_JSON_DEPTH", "0", "positive"),
        ("CDS_MAX_PREFETCH_KEYS", "-3", "positive"),
        ("CDS_CORS_ORIGINS", "*", "wildcard"),
        ("CDS_CORS_ORIGINS", "https://ehr.example.org,https://*.example.org", "wildcard"),
        ("CDS_CORS_ORIGINS", "https://ehr.example.org/app", "not an origin"),
        ("CDS_CORS_ORIGINS", "^https://ehr\\.example\\.org", "must end with $"),
        ("CDS_CORS_ORIGINS", "^https://(ehr$", "not a regular expression"),
    ],
)
def test_a_malformed_value_names_its_variable(variable: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=variable) as raised:
        Settings.from_env({variable: value})
    assert message in str(raised.value)


def test_valid_cors_origins_are_kept() -> None:
    raw = "https://ehr.example.org, http://localhost:3000, ^https://[a-z]+\\.example\\.org$"
    assert Settings.from_env({"CDS_CORS_ORIGINS": raw}).cors_origins == (
        "https://ehr.example.org", "http://localhost:3000", "^https://[a-z]+\\.example\\.org$")


def test_production_without_a_trusted_issuer_refuses_to_start(tmp_path: Path, trust: TrustSetup) -> None:
    create_app(secure_settings(tmp_path, trust), registry=TEST_REGISTRY)  # the control
    with pytest.raises(SettingsError, match="CDS_JWT_ISSUERS: production mode needs at least one trusted issuer"):
        create_app(secure_settings(tmp_path, trust, jwt_issuers=()), registry=TEST_REGISTRY)


def test_a_missing_or_private_jwks_file_refuses_to_start(tmp_path: Path, trust: TrustSetup) -> None:
    missing = (IssuerConfig("https://ehr.example.org", jwks_file=tmp_path / "nope.json"),)
    with pytest.raises(SettingsError, match=r"nope\.json: cannot read"):
        create_app(secure_settings(tmp_path, trust, jwt_issuers=missing), registry=TEST_REGISTRY)
    private = trust.ec.jwk() | {"d": "AAAA"}
    (tmp_path / "private.json").write_text(json.dumps({"keys": [private]}))
    with_private = (IssuerConfig("https://ehr.example.org", jwks_file=tmp_path / "private.json"),)
    with pytest.raises(SettingsError, match="private or symmetric key"):
        create_app(secure_settings(tmp_path, trust, jwt_issuers=with_private), registry=TEST_REGISTRY)
    (tmp_path / "secret.json").write_text(json.dumps({"keys": [{"kty": "oct", "kid": "s", "k": "c2VjcmV0"}]}))
    symmetric = (IssuerConfig("https://ehr.example.org", jwks_file=tmp_path / "secret.json"),)
    with pytest.raises(SettingsError, match="private or symmetric key"):
        create_app(secure_settings(tmp_path, trust, jwt_issuers=symmetric), registry=TEST_REGISTRY)


def test_there_is_no_setting_that_turns_authentication_off_in_production() -> None:
    names = {name for name, _, _ in documented_settings()}
    assert not {name for name in names if any(word in name for word in ("DISABLE", "NO_AUTH", "SKIP", "INSECURE"))}
    assert Settings().mode == "production"  # the default is the safe one


def test_the_settings_banner_warns_loudly_in_development(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("CDS_MODE", "development")
    monkeypatch.setenv("CDS_DATA_DIR", str(tmp_path))
    assert main(["settings"]) == 0
    out = capsys.readouterr().out
    assert "WARNING: DEVELOPMENT MODE" in out and "WITHOUT a JWT are ACCEPTED" in out
    assert "urn:nxp2-cds:demo-ehr" in out
    monkeypatch.setenv("CDS_MODE", "production")
    assert main(["settings"]) == 2
    assert "production mode needs at least one trusted issuer" in capsys.readouterr().err


def test_development_start_up_logs_a_warning(tmp_path: Path, trust: TrustSetup, log_capture: Capture) -> None:
    create_app(secure_settings(tmp_path, trust, mode="development"), registry=TEST_REGISTRY)
    warnings = [r.getMessage() for r in log_capture.records if r.levelname == "WARNING"]
    assert any("DEVELOPMENT MODE: calls without a JWT are accepted" in message for message in warnings)
