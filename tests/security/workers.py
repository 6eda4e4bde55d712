"""Code that runs in separate worker processes (spawned by multiprocessing), like gunicorn workers."""

from __future__ import annotations

from typing import Any

from cds_service.app import create_app
from cds_service.config import Settings
from cds_service.support.clock import FixedClock
from tests.conftest import NOW
from tests.rules_for_tests import TEST_REGISTRY


def call_discovery(settings: Settings, token: str, barrier: Any, results: Any) -> None:
    """Build an app in this process, wait for the other worker, call discovery with `token`, report the status."""
    app = create_app(settings, registry=TEST_REGISTRY, clock=FixedClock(NOW))
    client = app.test_client()
    barrier.wait(timeout=60)
    results.put(client.get("/cds-services", headers={"Authorization": f"Bearer {token}"}).status_code)
