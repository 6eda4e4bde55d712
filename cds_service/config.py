"""Settings: one typed, frozen object read from `CDS_*` environment variables and checked at start-up.

Imports only the standard library. Every variable is documented in `deploy/.env.example` and the README.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

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


def redact_url(url: str) -> str:
    """Return `url` with every password (user part, `password=` item or keyword) replaced by ***."""
    try:
        parts = urlsplit(url)
        if parts.password is not None:
            host = parts.netloc.rpartition("@")[2]
            url = url.replace(f"//{parts.netloc}", f"//{parts.username or ''}:***@{host}", 1)
    except ValueError:
        return "<unreadable URL>"
    return re.sub(r"(?i)(password\s*=\s*)('[^']*'|[^&#\s]*)", r"\1***", url)


def _database_url(raw: str) -> str:
    # The message never repeats the URL: it may hold a password.
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018  (raises ValueError on a malformed port)
    except ValueError:
        raise ValueError("expected postgresql://user:password@host:port/database") from None
    if parts.scheme not in {"postgresql", "postgres"}:
        raise ValueError("expected postgresql://user:password@host:port/database")
    return raw


def _env_field(
    name: str, parse: Callable[[str], Any], default: Any, doc: str, show: Callable[[str], str] | None = None
) -> Any:
    """Declare a setting read from `name`; the metadata drives parsing and the documentation table.

    `show` turns a value into text for the settings banner and error messages (it hides secrets).
    """
    metadata = {"env": name, "parse": parse, "doc": doc} | ({"show": show} if show else {})
    return field(default=default, metadata=metadata)


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
    log_level: str = _env_field("CDS_LOG_LEVEL", _log_level, "INFO", "Log level of the JSON logs.")
    metrics_enabled: bool = _env_field(
        "CDS_METRICS", _boolean, True, "Serve Prometheus metrics on /metrics.",
    )
    database_url: str = _env_field(
        "CDS_DATABASE_URL", _database_url, "",
        "PostgreSQL URL (postgresql://user:password@host:5432/db) for feedback, the JWT replay cache and the "
        "card audit log. Empty: one embedded SQLite file in CDS_DATA_DIR. The password is never printed.",
        show=redact_url,
    )
    database_pool_size: int = _env_field(
        "CDS_DATABASE_POOL_SIZE", _positive_int, 4, "Most PostgreSQL connections one worker process opens.",
    )
    database_timeout_s: float = _env_field(
        "CDS_DATABASE_TIMEOUT_S", _positive_float, 5.0,
        "Longest wait for a database connection, lock or statement before the store reports failure.",
    )
    card_audit: bool = _env_field(
        "CDS_CARD_AUDIT", _boolean, False,
        "Keep an audit log of the cards shown for each hookInstance (card ids and indicators, no patient values).",
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
                shown = setting.metadata.get("show", str)(raw)
                raise SettingsError(f"{name}={shown!r} is not valid: {error}") from None
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
        """Return every setting as text for the start-up banner, secrets hidden."""
        return {
            setting.metadata["env"]: setting.metadata.get("show", str)(str(getattr(self, setting.name)))
            for setting in fields(self)
        }


def documented_settings() -> list[tuple[str, str, str]]:
    """Return (variable, default, description) for every setting, for docs and the .env.example test."""
    return [
        (s.metadata["env"], str(s.default), s.metadata["doc"]) for s in fields(Settings)
    ]
