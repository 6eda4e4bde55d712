"""Shared fixtures: apps built by the factory with test settings, a fixed clock and sequential ids."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cds_service.app import create_app
from cds_service.config import Settings
from cds_service.support.clock import FixedClock
from cds_service.support.ids import SequentialIds
from tests.rules_for_tests import TEST_REGISTRY
from tests.support.builders import NOW

TESTS = Path(__file__).parent
__all__ = ["NOW", "TESTS", "settings_for"]


def settings_for(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"mode": "development", "data_dir": tmp_path / "var"} | overrides
    return Settings(**values)


@pytest.fixture
def test_app(tmp_path: Path) -> Flask:
    """An app serving the test catalogue (one test-only rule)."""
    settings = settings_for(tmp_path, catalogue_dir=TESTS / "catalogue_for_tests")
    return create_app(settings, registry=TEST_REGISTRY, clock=FixedClock(NOW), ids=SequentialIds())


@pytest.fixture
def client(test_app: Flask) -> Iterator[FlaskClient]:
    with test_app.test_client() as test_client:
        yield test_client


@pytest.fixture
def real_app(tmp_path: Path) -> Flask:
    """An app serving the real catalogue in cards/."""
    return create_app(settings_for(tmp_path), clock=FixedClock(NOW), ids=SequentialIds())


def hook_request(patient: dict[str, Any] | None = None, **overrides: Any) -> dict[str, Any]:
    """A minimal valid patient-view request with full prefetch."""
    patient = patient or {"resourceType": "Patient", "id": "p1", "birthDate": "1950-03-04", "gender": "female",
                          "name": [{"given": ["Ada"], "family": "Test"}]}
    body: dict[str, Any] = {
        "hook": "patient-view",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {"userId": "Practitioner/123", "patientId": patient["id"]},
        "prefetch": {
            "patient": patient,
            "observations": {"resourceType": "Bundle", "type": "searchset"},
        },
    }
    body.update(overrides)
    return body


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One chromium for the whole session, shared by every browser test (a second sync Playwright in one
    process fails), on a new empty profile."""
    from tests.demo.conftest import CHROMIUM, CHROMIUM_ARGS

    if not CHROMIUM.exists():
        pytest.fail("the browser tests need Debian's chromium at /usr/bin/chromium: run `make chromium` "
                    "(as root it installs it; `make test` does this first)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=str(CHROMIUM), headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1400, "height": 1000},
        )
        try:
            yield context
        finally:
            context.close()
