"""Settings: every `CDS_*` variable is documented in deploy/.env.example and the README, and a malformed or
unknown one stops start-up with a message naming it."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from cds_service.app import create_app
from cds_service.config import PROJECT_ROOT, Settings, SettingsError, documented_groups, documented_settings
from cds_service.tools import settings_docs

ENV_EXAMPLE = PROJECT_ROOT / "deploy" / ".env.example"
README = PROJECT_ROOT / "README.md"


def setting_names() -> set[str]:
    return {setting.metadata["env"] for setting in fields(Settings)}


def test_every_setting_is_in_env_example_and_nothing_else() -> None:
    listed = set(re.findall(r"^#?\s*(CDS_[A-Z0-9_]+)=", ENV_EXAMPLE.read_text(encoding="utf-8"), re.MULTILINE))
    assert setting_names() - listed == set(), "settings missing from deploy/.env.example: run `make docs`"
    assert listed - setting_names() == set(), "deploy/.env.example lists variables Settings does not read"


def test_env_example_is_up_to_date() -> None:
    assert ENV_EXAMPLE.read_text(encoding="utf-8") == settings_docs.env_example(), "run `make docs`"


def test_the_readme_settings_table_is_up_to_date() -> None:
    readme = README.read_text(encoding="utf-8")
    assert settings_docs.splice(readme, settings_docs.settings_table()) == readme, "run `make docs`"
    for name in setting_names():
        assert f"| `{name}` |" in readme


def test_every_setting_has_a_description() -> None:
    for name, _, doc in documented_settings():
        assert doc.strip().endswith("."), name


@pytest.mark.parametrize("name", sorted(setting_names()))
def test_each_documented_default_reads_back_as_the_default(name: str) -> None:
    setting = next(s for s in fields(Settings) if s.metadata["env"] == name)
    (text,) = [default for env, default, _ in documented_settings() if env == name]
    if not text:  # an empty value means "not set"
        return
    parsed = Settings.from_env({name: text})
    expected = setting.default
    if isinstance(expected, Path):  # documented relative to the checkout
        expected = expected.relative_to(PROJECT_ROOT) if expected.is_relative_to(PROJECT_ROOT) else expected
    assert getattr(parsed, setting.name) == expected


MALFORMED = [
    ("CDS_MODE", "prod"),
    ("CDS_PUBLIC_BASE_URL", "ftp://cds.example.org"),
    ("CDS_PUBLIC_BASE_URL", "https://cds.example.org/?x=1"),
    ("CDS_MAX_BODY_BYTES", "lots"),
    ("CDS_MAX_BODY_BYTES", "0"),
    ("CDS_FHIR_TIMEOUT_S", "-1"),
    ("CDS_FHIR_TIMEOUT_S", "nan"),
    ("CDS_LOG_LEVEL", "LOUD"),
    ("CDS_METRICS", "maybe"),
    ("CDS_BIND", "8080"),
    ("CDS_BIND", "127.0.0.1:99999"),
    ("CDS_WORKERS", "0"),
    ("CDS_WORKERS", "two"),
]


@pytest.mark.parametrize(("name", "value"), MALFORMED)
def test_a_malformed_value_stops_from_env_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=rf"^{name}="):
        Settings.from_env({name: value})


def test_a_misspelt_variable_stops_start_up() -> None:
    with pytest.raises(SettingsError, match="CDS_MDOE is not a known setting"):
        Settings.from_env({"CDS_MDOE": "development"})


def test_other_variables_are_ignored() -> None:
    assert Settings.from_env({"PATH": "/bin", "CDSX": "1", "CDS_TEST_PG_BINDIR": "/usr/lib"}) == Settings()


def test_a_malformed_value_stops_create_app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CDS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CDS_MAX_BODY_BYTES", "five megabytes")
    with pytest.raises(SettingsError, match="CDS_MAX_BODY_BYTES='five megabytes' is not valid"):
        create_app()


def test_create_app_reads_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CDS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CDS_MODE", "development")
    monkeypatch.setenv("CDS_MAX_BODY_BYTES", "1234")
    app = create_app()
    assert app.config["SETTINGS"].max_body_bytes == 1234
    assert (tmp_path / "feedback.sqlite3").exists()


def test_splice_refuses_a_readme_without_markers() -> None:
    with pytest.raises(ValueError, match="no settings markers"):
        settings_docs.splice("# README\n", "| table |\n")


def test_make_docs_rewrites_a_stale_table_and_env_example(tmp_path: Path) -> None:
    readme, env_file = tmp_path / "README.md", tmp_path / ".env.example"
    readme.write_text(f"# Title\n\n{settings_docs.START}\n| old |\n{settings_docs.END}\n\nMore.\n", encoding="utf-8")
    env_file.write_text("# CDS_OLD=1\n", encoding="utf-8")
    assert settings_docs.write(readme, env_file) == [readme, env_file]
    assert readme.read_text(encoding="utf-8") == (
        f"# Title\n\n{settings_docs.START}\n{settings_docs.settings_table()}{settings_docs.END}\n\nMore.\n"
    )
    assert env_file.read_text(encoding="utf-8") == settings_docs.env_example()
    assert settings_docs.write(readme, env_file) == []


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CDS_TRUST_SANDBOX": "true"}, "CDS_TRUST_SANDBOX: the sandbox's private key is public"),
        ({"CDS_JWT_ISSUERS": '{"https://sandbox.cds-hooks.org": {"jku": "https://sandbox.cds-hooks.org/k"}}'},
         "CDS_JWT_ISSUERS: the public sandbox cannot be trusted in production"),
        ({"CDS_JWKS_ALLOW_HTTP_LOOPBACK": "true"}, "CDS_JWKS_ALLOW_HTTP_LOOPBACK: development and tests only"),
        ({"CDS_JWT_ISSUERS": '{"https://ehr.example.org": {"jku": "http://127.0.0.1:9/jwks.json"}}'},
         "CDS_JWT_ISSUERS: jku 'http://127.0.0.1:9/jwks.json' must be https"),
        ({"CDS_DEMO_FHIR_URL": "http://127.0.0.1:8090/fhir"}, "CDS_DEMO_FHIR_URL: the demo EHR exists in development"),
    ],
)
def test_reading_the_settings_refuses_what_is_unsafe_in_production(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(message)):
        Settings.from_env(env)
    # The control: allowed in development (an http jku also needs the loopback switch there).
    development = Settings.from_env(env | {"CDS_MODE": "development", "CDS_JWKS_ALLOW_HTTP_LOOPBACK": "true"})
    assert development.development
    with pytest.raises(SettingsError, match="production mode needs at least one trusted issuer"):
        Settings().check_startup()


def test_each_group_of_settings_has_its_own_table_and_section() -> None:
    for title, rows in documented_groups():
        assert rows, title
        assert f"**{title}**\n\n| Variable | Default | Meaning |" in settings_docs.settings_table()
        assert f"# ===== {title} =====" in settings_docs.env_example()
