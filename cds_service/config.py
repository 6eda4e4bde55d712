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


def _bind(raw: str) -> str:
    if not re.fullmatch(r"(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}", raw) or int(raw.rsplit(":", 1)[1]) > 65535:
        raise ValueError("expected HOST:PORT, e.g. 127.0.0.1:8080")
    return raw


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
        "Folder for the embedded SQLite stores (feedback, JWT replay cache) and the gunicorn workers' shared "
        "Prometheus files (prometheus/, emptied at each start).",
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
    bind: str = _env_field(
        "CDS_BIND", _bind, "127.0.0.1:8080",
        "HOST:PORT gunicorn listens on (deploy/gunicorn.conf.py); use 0.0.0.0:8080 inside a container. "
        "`make run HOST=... PORT=...` sets it.",
    )
    workers: int = _env_field(
        "CDS_WORKERS", _positive_int, 2,
        "Number of gunicorn worker processes (deploy/gunicorn.conf.py); `make run WORKERS=n` sets it.",
    )

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

    @property
    def metrics_dir(self) -> Path:
        """Where gunicorn workers share their Prometheus counters (multiprocess mode)."""
        return self.data_dir / "prometheus"

    def describe(self) -> dict[str, str]:
        """Return every setting as text for the start-up banner (no secrets are held here)."""
        return {setting.metadata["env"]: str(getattr(self, setting.name)) for setting in fields(self)}


def _as_text(value: Any) -> str:
    """Render a default as it would be written in the environment (paths relative to the checkout)."""
    if isinstance(value, Path):
        return str(value.relative_to(PROJECT_ROOT)) if value.is_relative_to(PROJECT_ROOT) else str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(str(part) for part in value)
    return str(value)


def documented_settings() -> list[tuple[str, str, str]]:
    """Return (variable, default, description) for every setting, for docs and the .env.example test."""
    return [
        (s.metadata["env"], _as_text(s.default), s.metadata["doc"]) for s in fields(Settings)
    ]
