"""Settings: one typed, frozen object read from `CDS_*` environment variables and checked when it is built.

The settings are grouped by concern, one module each: service.py (mode, address, folders, logs, CORS),
limits.py (what one request may carry), auth.py (trusted JWT issuers), fhir.py (FHIR server access) and
storage.py (the database). `Settings` is all of them at once, so every setting keeps its flat name
(`settings.fhir_timeout_s`), and a part of the service that needs one concern can take that group's type.

To add a setting: add a `setting(...)` field to its group, then run `nxp2-cds docs` (README table and
deploy/.env.example are generated from the fields). A new group: a frozen dataclass with a TITLE, added to
GROUPS and to the bases of `Settings`. Standard library only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from cds_service.config.auth import ASYMMETRIC_ALGORITHMS, AuthSettings, IssuerConfig, check_auth, check_has_issuer
from cds_service.config.declare import PROJECT_ROOT, SettingsError
from cds_service.config.fhir import FhirSettings, ServerGrant
from cds_service.config.limits import RequestLimits
from cds_service.config.service import DEV_CORS_ORIGINS, ServiceSettings
from cds_service.config.storage import StorageSettings, redact_url

__all__ = [
    "ASYMMETRIC_ALGORITHMS", "DEV_CORS_ORIGINS", "GROUPS", "PROJECT_ROOT", "AuthSettings", "FhirSettings",
    "IssuerConfig", "RequestLimits", "ServerGrant", "ServiceSettings", "Settings", "SettingsError",
    "StorageSettings", "documented_groups", "documented_settings", "redact_url",
]

# In the order of the documentation.
GROUPS = (ServiceSettings, RequestLimits, AuthSettings, FhirSettings, StorageSettings)


# Bases in reverse: a dataclass lists the fields of its last base first, so fields(Settings) follows GROUPS.
@dataclass(frozen=True)
class Settings(StorageSettings, FhirSettings, AuthSettings, RequestLimits, ServiceSettings):
    """Every setting of the service. Build it with `Settings.from_env()`, or directly in tests.

    Building it refuses unsafe combinations (SettingsError naming the variable): in production, the public
    sandbox, http jku URLs or the demo EHR. `check_startup()` adds what only a serving process needs.
    """

    def __post_init__(self) -> None:
        check_auth(self, self.development)
        if not self.development and self.demo_fhir_url:
            raise SettingsError("CDS_DEMO_FHIR_URL: the demo EHR exists in development mode only")

    def check_startup(self) -> None:
        """Raise SettingsError if this process cannot serve: production without a trusted issuer."""
        check_has_issuer(self, self.development)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every `CDS_*` variable; raise SettingsError naming the first malformed one."""
        env = os.environ if environ is None else environ
        known = {setting.metadata["env"] for setting in fields(cls)}
        # A misspelt variable would otherwise be ignored silently and its default used. CDS_TEST_* belong
        # to the test suite, not to the service.
        unknown = sorted(
            name for name in env
            if name.startswith("CDS_") and not name.startswith("CDS_TEST_") and name not in known
        )
        if unknown:
            raise SettingsError(f"{unknown[0]} is not a known setting; the known ones are in deploy/.env.example")
        values: dict[str, Any] = {}
        for setting in fields(cls):
            name = setting.metadata["env"]
            raw = env.get(name)
            if raw is None or raw == "":
                continue
            try:
                values[setting.name] = setting.metadata["parse"](raw)
            except ValueError as error:
                shown = setting.metadata.get("show", str)(raw)
                raise SettingsError(f"{name}={shown!r} is not valid: {error}") from None
        return cls(**values)

    @property
    def feedback_db(self) -> Path:
        return self.data_dir / "feedback.sqlite3"

    def describe(self) -> dict[str, str]:
        """Return every setting as text for the start-up banner, secrets hidden."""
        shown: dict[str, str] = {}
        for setting in fields(self):
            text = _show(getattr(self, setting.name))
            hide = setting.metadata.get("show")
            shown[setting.metadata["env"]] = hide(text) if hide else text
        return shown


def _show(value: Any) -> str:
    if isinstance(value, tuple) and value and isinstance(value[0], IssuerConfig):
        return ", ".join(issuer.issuer for issuer in value)
    return str(value)


def _as_text(value: Any) -> str:
    """Render a default as it would be written in the environment (paths relative to the checkout)."""
    if isinstance(value, Path):
        return str(value.relative_to(PROJECT_ROOT)) if value.is_relative_to(PROJECT_ROOT) else str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(str(part) for part in value)
    return str(value)


def documented_groups() -> list[tuple[str, list[tuple[str, str, str]]]]:
    """Return (group title, [(variable, default, description)]) for every group, for the generated docs."""
    return [
        (group.TITLE, [(s.metadata["env"], _as_text(s.default), s.metadata["doc"]) for s in fields(group)])
        for group in GROUPS
    ]


def documented_settings() -> list[tuple[str, str, str]]:
    """Return (variable, default, description) for every setting, for docs and the .env.example test."""
    return [row for _, rows in documented_groups() for row in rows]
