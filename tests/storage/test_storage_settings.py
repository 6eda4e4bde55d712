"""Storage settings: the database URL's password never reaches the banner or an error message."""

from __future__ import annotations

import pytest

from cds_service.cli import main
from cds_service.config import Settings, SettingsError, redact_url

URL = "postgresql://cds:s3cret-pw@db.internal:5432/cds?sslmode=require"


def test_the_settings_banner_hides_the_database_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CDS_DATABASE_URL", URL)
    monkeypatch.setenv("CDS_MODE", "development")  # production refuses to start without a trusted issuer
    assert main(["settings"]) == 0
    printed = capsys.readouterr().out
    assert "s3cret-pw" not in printed
    assert "CDS_DATABASE_URL = postgresql://cds:***@db.internal:5432/cds?sslmode=require" in printed


def test_a_malformed_database_url_is_named_without_its_password() -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"CDS_DATABASE_URL": "mysql://cds:s3cret-pw@db/cds"})
    assert "CDS_DATABASE_URL" in str(raised.value)
    assert "s3cret-pw" not in str(raised.value)


@pytest.mark.parametrize(("url", "shown"), [
    (URL, "postgresql://cds:***@db.internal:5432/cds?sslmode=require"),
    ("postgresql://cds@db/cds?password=s3cret-pw&sslmode=require", "postgresql://cds@db/cds?password=***&sslmode=require"),
    ("postgresql://cds:p@ss@db/cds", "postgresql://cds:***@db/cds"),
    ("postgresql:///cds?host=/run/postgresql", "postgresql:///cds?host=/run/postgresql"),
    ("", ""),
])
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_storage_defaults() -> None:
    settings = Settings.from_env({})
    assert (settings.database_url, settings.card_audit) == ("", False)
    assert Settings.from_env({"CDS_CARD_AUDIT": "on", "CDS_DATABASE_POOL_SIZE": "2"}).database_pool_size == 2
    with pytest.raises(SettingsError, match="CDS_DATABASE_TIMEOUT_S"):
        Settings.from_env({"CDS_DATABASE_TIMEOUT_S": "0"})
