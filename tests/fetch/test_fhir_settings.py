"""The FHIR access settings: defaults, parsing and documentation."""

from __future__ import annotations

from cds_service.config import Settings, documented_settings
from cds_service.hooks.prefetch import FhirAccess

FHIR_VARIABLES = {
    "CDS_FHIR_TIMEOUT_S", "CDS_FHIR_CONNECT_TIMEOUT_S", "CDS_FHIR_ALLOWED_SERVERS", "CDS_FHIR_OPEN_SERVERS",
    "CDS_FHIR_ALLOWED_NETWORKS", "CDS_FHIR_MAX_PAGES", "CDS_FHIR_MAX_ENTRIES", "CDS_FHIR_MAX_RESPONSE_BYTES",
    "CDS_FHIR_WORKERS",
}


def test_every_fhir_setting_is_documented() -> None:
    documented = {name: doc for name, _, doc in documented_settings()}
    assert set(documented) >= FHIR_VARIABLES
    assert all(len(documented[name]) > 20 for name in FHIR_VARIABLES)


def test_production_defaults_allow_no_fhir_server_and_keep_the_budget() -> None:
    access = FhirAccess.from_settings(Settings())
    assert (access.budget_s, access.workers, access.limits.max_pages, access.limits.max_entries,
            access.limits.max_response_bytes, access.limits.connect_timeout_s) == (2.0, 4, 10, 5000, 10_000_000, 1.0)
    assert Settings().fhir_allowed_servers == ()


def test_the_allowed_servers_json_is_read_per_issuer_and_tenant() -> None:
    raw = ('{"https://a.example.org": ["https://fhir.a.example.org/r4/"], '
           '"https://b.example.org": {"t1": ["https://*.b.example.org"], "*": ["http://10.1.2.3:8080"]}, '
           '"*": ["https://shared.example.net"]}')
    settings = Settings.from_env({"CDS_FHIR_ALLOWED_SERVERS": raw, "CDS_FHIR_OPEN_SERVERS": "https://open.example.org",
                                  "CDS_FHIR_ALLOWED_NETWORKS": "10.1.0.0/16, fd00::/8"})
    assert settings.fhir_allowed_servers == (
        ("https://a.example.org", "*", ("https://fhir.a.example.org/r4",)),
        ("https://b.example.org", "t1", ("https://*.b.example.org",)),
        ("https://b.example.org", "*", ("http://10.1.2.3:8080",)),
        ("*", "*", ("https://shared.example.net",)),
    )
    assert settings.fhir_open_servers == ("https://open.example.org",)
    assert settings.fhir_allowed_networks == ("10.1.0.0/16", "fd00::/8")
