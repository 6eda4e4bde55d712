"""Fixtures for the FHIR fetch tests: a guard that lets connections reach loopback only, and helpers."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

import pytest

import cds_service.fhir_client.transport as transport
from tests.support.fault_server import FaultServer


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Fail any test whose FHIR client would connect beyond loopback; return the addresses it used."""
    used: list[str] = []
    real = transport.create_connection

    def guarded(address: tuple[str, int], *args: Any, **kwargs: Any) -> Any:
        used.append(address[0])
        assert ipaddress.ip_address(address[0]).is_loopback, f"traffic to {address[0]} attempted"
        return real(address, *args, **kwargs)

    monkeypatch.setattr(transport, "create_connection", guarded)
    return used


@pytest.fixture
def fault() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


@pytest.fixture
def other() -> Iterator[FaultServer]:
    """A second origin, to prove that nothing (no token, no request) reaches it."""
    with FaultServer() as server:
        yield server
