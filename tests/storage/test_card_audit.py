"""The card audit log: off by default; when on, each card shown is recorded with its hookInstance, with no
patient values; an audit failure is logged and the cards still go out."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator

import orjson
import pytest
from flask import Flask

from cds_service.app import create_app
from cds_service.config import Settings
from cds_service.storage.audit import AuditRow
from cds_service.support.clock import FixedClock
from cds_service.support.ids import SequentialIds
from tests.conftest import NOW, TESTS, hook_request
from tests.rules_for_tests import TEST_REGISTRY
from tests.storage import raw

HOOK_INSTANCE = hook_request()["hookInstance"]


def app_with(settings: Settings, **overrides: object) -> Iterator[Flask]:
    settings = dataclasses.replace(settings, catalogue_dir=TESTS / "catalogue_for_tests", **overrides)
    app = create_app(settings, registry=TEST_REGISTRY, clock=FixedClock(NOW), ids=SequentialIds())
    yield app
    app.extensions["nxp2_cds"].store.database.close()


@pytest.fixture
def audited_app(storage_settings: Settings) -> Iterator[Flask]:
    yield from app_with(storage_settings, card_audit=True)


@pytest.fixture
def default_app(storage_settings: Settings) -> Iterator[Flask]:
    yield from app_with(storage_settings)


def call_service(app: Flask) -> dict[str, object]:
    response = app.test_client().post("/cds-services/test-service", data=orjson.dumps(hook_request()),
                                      content_type="application/json")
    assert response.status_code == 200
    assert app.extensions["nxp2_cds"].records.flush()  # records are written off the request path
    card: dict[str, object] = response.json["cards"][0]  # type: ignore[index]
    return card


def test_the_audit_log_is_off_by_default(default_app: Flask, storage_settings: Settings) -> None:
    assert Settings().card_audit is False
    call_service(default_app)
    assert raw.rows(storage_settings, "SELECT COUNT(*) FROM card_audit") == [(0,)]


def test_each_card_shown_is_recorded_with_its_hook_instance(audited_app: Flask) -> None:
    card = call_service(audited_app)
    audit = audited_app.extensions["nxp2_cds"].audit
    assert audit.for_hook_instance(HOOK_INSTANCE) == [
        AuditRow(HOOK_INSTANCE, str(card["uuid"]), "test-born-before", str(card["indicator"]), 0, NOW)
    ]


def test_the_audit_log_holds_no_patient_values(audited_app: Flask, storage_settings: Settings) -> None:
    call_service(audited_app)
    assert raw.columns(storage_settings, "card_audit") == {
        "card_uuid", "hook_instance", "card_id", "indicator", "position", "issued_at",
    }
    patient = hook_request()["prefetch"]["patient"]
    text = str(raw.rows(storage_settings, "SELECT * FROM card_audit"))
    for value in (patient["id"], patient["birthDate"], "Ada", "Test"):
        assert value not in text


def test_an_audit_failure_is_logged_and_the_cards_still_go_out(
    audited_app: Flask, storage_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    raw.execute(storage_settings, "DROP TABLE card_audit")
    with caplog.at_level(logging.ERROR, logger="cds_service.storage.records"):
        call_service(audited_app)
    assert "card audit not recorded" in caplog.text
