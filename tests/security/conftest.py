"""Security fixtures: production apps that trust test issuers, and a log check around every test.

The autouse `no_secret_in_logs` fixture captures every log record at DEBUG (message, arguments,
extras, exception text) during each security test and fails the test if any token, Authorization
header or patient value recorded in `tokens.ISSUED` appears in it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cds_service.app import create_app
from cds_service.config import IssuerConfig, Settings
from cds_service.support.clock import FixedClock
from cds_service.support.ids import SequentialIds
from tests.conftest import NOW, TESTS
from tests.rules_for_tests import TEST_REGISTRY
from tests.security.tokens import BASE, ISSUED, ISSUER, ISSUER_JKU, OTHER_ISSUER, Key, ec_key, rsa_key, write_jwks


class Capture(logging.Handler):
    """Keep every record as the full text a formatter or a JSON log line could show."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if self.records and self.records[-1] is record:
            return  # the same record again, through the root logger
        self.records.append(record)
        formatted = logging.Formatter("%(name)s %(levelname)s %(message)s").format(record)
        self.texts.append(formatted + " " + json.dumps(record.__dict__, default=str))


CURRENT: list[Capture] = []  # the capture of the running test, for `auth_reasons()`


def auth_reasons() -> list[str]:
    """Return the reasons logged for refused JWTs so far in this test."""
    return [r.auth_reason for r in CURRENT[-1].records if r.name == "cds_service.auth" and hasattr(r, "auth_reason")]


@pytest.fixture
def log_capture() -> Iterator[Capture]:
    handler = Capture()
    CURRENT.append(handler)
    root, ours = logging.getLogger(), logging.getLogger("cds_service")
    noisy = logging.getLogger("markdown_it")  # debug-logs every parser state: only the test parsers use it
    levels = (root.level, ours.level, noisy.level)
    noisy.setLevel(logging.INFO)
    root.addHandler(handler)
    ours.addHandler(handler)  # also when a logging config stops propagation
    root.setLevel(logging.DEBUG)
    ours.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        ours.removeHandler(handler)
        root.setLevel(levels[0])
        ours.setLevel(levels[1])
        noisy.setLevel(levels[2])
        CURRENT.remove(handler)


def leaked(capture: Capture, secrets: set[str]) -> list[str]:
    """Return the secrets (shortened) that appear in any captured log text."""
    text = "\n".join(capture.texts)
    return [secret[:40] + "..." for secret in secrets if secret and secret in text]


@pytest.fixture(autouse=True)
def no_secret_in_logs(log_capture: Capture) -> Iterator[None]:
    ISSUED.clear()
    yield
    assert not leaked(log_capture, set(ISSUED)), "a token, header or patient value reached the logs"


@dataclass(frozen=True)
class TrustSetup:
    """The keys of the two trusted test issuers and their JWK Set files."""

    ec: Key
    rsa: Key
    other: Key
    jwks: Path
    other_jwks: Path

    def issuers(self) -> tuple[IssuerConfig, ...]:
        return (
            IssuerConfig(ISSUER, jwks_file=self.jwks, jku=(ISSUER_JKU,), fetch_jku=False),
            IssuerConfig(OTHER_ISSUER, jwks_file=self.other_jwks),
        )


def make_trust(folder: Path) -> TrustSetup:
    """Generate the test issuers' keys and write their JWK Sets into `folder`."""
    ec384, rs384, other = ec_key("ES384", "ehr-ec"), rsa_key("RS384", "ehr-rsa"), ec_key("ES384", "other-ec")
    return TrustSetup(
        ec=ec384, rsa=rs384, other=other,
        jwks=write_jwks(folder / "ehr-jwks.json", ec384, rs384),
        other_jwks=write_jwks(folder / "other-jwks.json", other),
    )


@pytest.fixture
def trust(tmp_path: Path) -> TrustSetup:
    return make_trust(tmp_path)


def secure_settings(tmp_path: Path, trust: TrustSetup, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "mode": "production",
        "public_base_url": BASE,
        "data_dir": tmp_path / "var",
        "catalogue_dir": TESTS / "catalogue_for_tests",
        "jwt_issuers": trust.issuers(),
    } | overrides
    return Settings(**values)


AppFactory = Callable[..., Flask]


def app_factory(tmp_path: Path, trust: TrustSetup) -> AppFactory:
    """Return a builder of apps (production, trusting the test issuers unless overridden), fixed clock."""

    def build(**overrides: Any) -> Flask:
        settings = secure_settings(tmp_path, trust, **overrides)
        return create_app(settings, registry=TEST_REGISTRY, clock=FixedClock(NOW), ids=SequentialIds())

    return build


@pytest.fixture
def make_app(tmp_path: Path, trust: TrustSetup) -> AppFactory:
    return app_factory(tmp_path, trust)


@pytest.fixture
def secure_client(make_app: AppFactory) -> Iterator[FlaskClient]:
    with make_app().test_client() as test_client:
        yield test_client
