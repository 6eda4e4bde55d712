"""Settings of FHIR server access: which servers each caller may send, and the budgets of one fetch.

fhir_client/policy.py gives the meaning of the server entries.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass
from typing import Any, ClassVar

from cds_service.config.declare import positive_float, positive_int, setting, words

# A FHIR server allowed in settings: a base URL (scheme, host, optional port, optional path prefix), or a
# host pattern `https://*.example.org` for every subdomain.
_SERVER_PATTERN = re.compile(
    r"^(https?)://(\*\.)?([a-z0-9-]+(\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(:\d{1,5})?(/[^\s?#]*)?$", re.IGNORECASE
)

# (issuer or "*", tenant or "*", allowed server patterns)
ServerGrant = tuple[str, str, tuple[str, ...]]


def _server_patterns(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"{where}: expected a list of server URLs")
    for item in value:
        after_scheme = item.split("://", 1)[-1].removeprefix("*.")
        if not _SERVER_PATTERN.match(item) or "*" in after_scheme:
            raise ValueError(f"{where}: {item!r} is not a base URL like https://fhir.example.org/r4 "
                             "or a host pattern like https://*.example.org")
    return tuple(item.rstrip("/") for item in value)


def _fhir_servers(raw: str) -> tuple[ServerGrant, ...]:
    """Parse {"issuer": [servers], "issuer": {"tenant": [servers], "*": [servers]}, "*": [servers]}."""
    try:
        document = json.loads(raw)
    except json.JSONDecodeError:
        raise ValueError("expected a JSON object mapping issuer to a list of FHIR server URLs") from None
    if not isinstance(document, dict):
        raise ValueError("expected a JSON object mapping issuer to a list of FHIR server URLs")
    grants: list[ServerGrant] = []
    for issuer, value in document.items():
        if not issuer:
            raise ValueError("an issuer key is empty")
        tenants = value if isinstance(value, dict) else {"*": value}
        for tenant, servers in tenants.items():
            if not tenant:
                raise ValueError(f"{issuer}: a tenant key is empty")
            grants.append((issuer, tenant, _server_patterns(servers, f"{issuer} / {tenant}")))
    return tuple(grants)


def _server_list(raw: str) -> tuple[str, ...]:
    return _server_patterns(list(words(raw)), "list")


def _networks(raw: str) -> tuple[str, ...]:
    return tuple(str(ipaddress.ip_network(part, strict=False)) for part in words(raw))


@dataclass(frozen=True)
class FhirSettings:
    TITLE: ClassVar[str] = "FHIR server access"

    fhir_allowed_servers: tuple[ServerGrant, ...] = setting(
        "CDS_FHIR_ALLOWED_SERVERS", _fhir_servers, (),
        'JSON: the FHIR servers each JWT issuer may send as fhirServer, e.g. {"https://ehr.example.org": '
        '["https://fhir.example.org/r4", "https://*.example.net"], "https://multi.example.com": {"tenant-a": '
        '["https://a.example.com/fhir"]}}. Key "*" = every caller (also unauthenticated development calls); '
        'tenant "*" = every tenant. Entries are base URLs (path prefix) or https://*.domain host patterns; '
        "an http:// entry allows plain http to that origin. Empty: no fetching (development still allows "
        "http(s) on loopback).",
    )
    fhir_open_servers: tuple[str, ...] = setting(
        "CDS_FHIR_OPEN_SERVERS", _server_list, (),
        "Comma-separated FHIR servers (same entry syntax) that may be read without fhirAuthorization, such "
        "as an open sandbox server. They must also be allowed for the caller in CDS_FHIR_ALLOWED_SERVERS.",
    )
    fhir_allowed_networks: tuple[str, ...] = setting(
        "CDS_FHIR_ALLOWED_NETWORKS", _networks, (),
        "Comma-separated CIDRs that FHIR servers may resolve to although they are loopback, private or "
        "link-local (e.g. an EHR on 10.20.0.0/16). Cloud metadata addresses stay refused.",
    )
    fhir_timeout_s: float = setting(
        "CDS_FHIR_TIMEOUT_S", positive_float, 2.0, "Total time budget for fetching missing prefetch data.",
    )
    fhir_connect_timeout_s: float = setting(
        "CDS_FHIR_CONNECT_TIMEOUT_S", positive_float, 1.0,
        "Longest wait for a TCP connection to the FHIR server (always cut to what is left of the budget).",
    )
    fhir_max_pages: int = setting(
        "CDS_FHIR_MAX_PAGES", positive_int, 10, "Most searchset pages read for one prefetch key.",
    )
    fhir_max_entries: int = setting(
        "CDS_FHIR_MAX_ENTRIES", positive_int, 5000, "Most Bundle entries read for one prefetch key.",
    )
    fhir_max_response_bytes: int = setting(
        "CDS_FHIR_MAX_RESPONSE_BYTES", positive_int, 10_000_000,
        "Largest FHIR response body read (decoded); reading stops past it.",
    )
    fhir_workers: int = setting(
        "CDS_FHIR_WORKERS", positive_int, 4, "Threads fetching prefetch keys at once, per request.",
    )
