"""Settings: one typed, frozen object read from `CDS_*` environment variables and checked at start-up.

Imports only the standard library. Every variable is documented in `deploy/.env.example` and the README.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# The public CDS Hooks sandbox and pages served from this machine are the development defaults.
DEV_CORS_ORIGINS = (
    "https://sandbox.cds-hooks.org",
    r"^https?://localhost(:\d+)?$",
    r"^https?://127\.0\.0\.1(:\d+)?$",
)


class SettingsError(ValueError):
    """A `CDS_*` variable is missing or malformed; the message names the variable."""


def _boolean(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError("expected true or false")


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError("expected a positive whole number")
    return value


def _positive_float(raw: str) -> float:
    value = float(raw)
    if not value > 0:
        raise ValueError("expected a positive number")
    return value


def _words(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _mode(raw: str) -> str:
    if raw not in {"production", "development"}:
        raise ValueError("expected production or development")
    return raw


def _log_level(raw: str) -> str:
    upper = raw.upper()
    if upper not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ValueError("expected DEBUG, INFO, WARNING or ERROR")
    return upper


def _base_url(raw: str) -> str:
    if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", raw):
        raise ValueError("expected an absolute http(s) URL without query or fragment")
    return raw.rstrip("/")


def _directory(raw: str) -> Path:
    return Path(raw).expanduser()


# A FHIR server allowed in settings: a base URL (scheme, host, optional port, optional path prefix), or a
# host pattern `https://*.example.org` for every subdomain. fhir_client/policy.py gives the meaning.
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
    return _server_patterns(list(_words(raw)), "list")


def _networks(raw: str) -> tuple[str, ...]:
    return tuple(str(ipaddress.ip_network(part, strict=False)) for part in _words(raw))


def _env_field(name: str, parse: Callable[[str], Any], default: Any, doc: str) -> Any:
    """Declare a setting read from `name`; the metadata drives parsing and the documentation table."""
    return field(default=default, metadata={"env": name, "parse": parse, "doc": doc})


@dataclass(frozen=True)
class Settings:
    """Every setting of the service. Build it with `Settings.from_env()`, or directly in tests."""

    mode: str = _env_field(
        "CDS_MODE", _mode, "production",
        "production (JWT required on every call) or development (calls without a JWT accepted).",
    )
    public_base_url: str = _env_field(
        "CDS_PUBLIC_BASE_URL", _base_url, "http://127.0.0.1:8080",
        "The URL clients use to reach this service; JWT `aud` is checked against it, never against Host.",
    )
    catalogue_dir: Path = _env_field(
        "CDS_CATALOGUE_DIR", _directory, PROJECT_ROOT / "cards",
        "Folder holding services/, rules/ and valuesets/ (the card catalogue).",
    )
    data_dir: Path = _env_field(
        "CDS_DATA_DIR", _directory, PROJECT_ROOT / "var",
        "Folder for the embedded SQLite stores (feedback, JWT replay cache).",
    )
    max_body_bytes: int = _env_field(
        "CDS_MAX_BODY_BYTES", _positive_int, 5_000_000, "Largest request body accepted (413 above it).",
    )
    cors_origins: tuple[str, ...] = _env_field(
        "CDS_CORS_ORIGINS", _words, (),
        "Comma-separated browser origins (or ^regex$) allowed by CORS. Empty: none in production, "
        "the public sandbox and localhost in development.",
    )
    fhir_timeout_s: float = _env_field(
        "CDS_FHIR_TIMEOUT_S", _positive_float, 2.0, "Total time budget for fetching missing prefetch data.",
    )
    fhir_connect_timeout_s: float = _env_field(
        "CDS_FHIR_CONNECT_TIMEOUT_S", _positive_float, 1.0,
        "Longest wait for a TCP connection to the FHIR server (always cut to what is left of the budget).",
    )
    fhir_allowed_servers: tuple[ServerGrant, ...] = _env_field(
        "CDS_FHIR_ALLOWED_SERVERS", _fhir_servers, (),
        'JSON: the FHIR servers each JWT issuer may send as fhirServer, e.g. {"https://ehr.example.org": '
        '["https://fhir.example.org/r4", "https://*.example.net"], "https://multi.example.com": {"tenant-a": '
        '["https://a.example.com/fhir"]}}. Key "*" = every caller (also unauthenticated development calls); '
        'tenant "*" = every tenant. Entries are base URLs (path prefix) or https://*.domain host patterns; '
        "an http:// entry allows plain http to that origin. Empty: no fetching (development still allows "
        "http(s) on loopback).",
    )
    fhir_open_servers: tuple[str, ...] = _env_field(
        "CDS_FHIR_OPEN_SERVERS", _server_list, (),
        "Comma-separated FHIR servers (same entry syntax) that may be read without fhirAuthorization, such "
        "as an open sandbox server. They must also be allowed for the caller in CDS_FHIR_ALLOWED_SERVERS.",
    )
    fhir_allowed_networks: tuple[str, ...] = _env_field(
        "CDS_FHIR_ALLOWED_NETWORKS", _networks, (),
        "Comma-separated CIDRs that FHIR servers may resolve to although they are loopback, private or "
        "link-local (e.g. an EHR on 10.20.0.0/16). Cloud metadata addresses stay refused.",
    )
    fhir_max_pages: int = _env_field(
        "CDS_FHIR_MAX_PAGES", _positive_int, 10, "Most searchset pages read for one prefetch key.",
    )
    fhir_max_entries: int = _env_field(
        "CDS_FHIR_MAX_ENTRIES", _positive_int, 5000, "Most Bundle entries read for one prefetch key.",
    )
    fhir_max_response_bytes: int = _env_field(
        "CDS_FHIR_MAX_RESPONSE_BYTES", _positive_int, 10_000_000,
        "Largest FHIR response body read (decoded); reading stops past it.",
    )
    fhir_workers: int = _env_field(
        "CDS_FHIR_WORKERS", _positive_int, 4, "Threads fetching prefetch keys at once, per request.",
    )
    log_level: str = _env_field("CDS_LOG_LEVEL", _log_level, "INFO", "Log level of the JSON logs.")
    metrics_enabled: bool = _env_field(
        "CDS_METRICS", _boolean, True, "Serve Prometheus metrics on /metrics.",
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every `CDS_*` variable; raise SettingsError naming the first malformed one."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for setting in fields(cls):
            name = setting.metadata["env"]
            raw = env.get(name)
            if raw is None or raw == "":
                continue
            try:
                values[setting.name] = setting.metadata["parse"](raw)
            except ValueError as error:
                raise SettingsError(f"{name}={raw!r} is not valid: {error}") from None
        return cls(**values)

    @property
    def development(self) -> bool:
        return self.mode == "development"

    @property
    def effective_cors_origins(self) -> tuple[str, ...]:
        if self.cors_origins:
            return self.cors_origins
        return DEV_CORS_ORIGINS if self.development else ()

    @property
    def feedback_db(self) -> Path:
        return self.data_dir / "feedback.sqlite3"

    def describe(self) -> dict[str, str]:
        """Return every setting as text for the start-up banner (no secrets are held here)."""
        return {setting.metadata["env"]: str(getattr(self, setting.name)) for setting in fields(self)}


def documented_settings() -> list[tuple[str, str, str]]:
    """Return (variable, default, description) for every setting, for docs and the .env.example test."""
    return [
        (s.metadata["env"], str(s.default), s.metadata["doc"]) for s in fields(Settings)
    ]
