"""Settings of the process itself: mode, where it listens and is reached, its folders, logs, metrics, CORS."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from cds_service.config.declare import (
    PROJECT_ROOT,
    base_url,
    boolean,
    directory,
    positive_int,
    setting,
    words,
)

# The public CDS Hooks sandbox and pages served from this machine are the development defaults.
DEV_CORS_ORIGINS = (
    "https://sandbox.cds-hooks.org",
    r"^https?://localhost(:\d+)?$",
    r"^https?://127\.0\.0\.1(:\d+)?$",
)


def _mode(raw: str) -> str:
    if raw not in {"production", "development"}:
        raise ValueError("expected production or development")
    return raw


def _log_level(raw: str) -> str:
    upper = raw.upper()
    if upper not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ValueError("expected DEBUG, INFO, WARNING or ERROR")
    return upper


def _bind(raw: str) -> str:
    if not re.fullmatch(r"(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}", raw) or int(raw.rsplit(":", 1)[1]) > 65535:
        raise ValueError("expected HOST:PORT, e.g. 127.0.0.1:8080")
    return raw


def _cors_origins(raw: str) -> tuple[str, ...]:
    """Parse exact origins (`https://host[:port]`) or anchored regexes (`^...$`); never a wildcard."""
    origins = words(raw)
    for origin in origins:
        if origin.startswith("^"):
            if not origin.endswith("$"):
                raise ValueError(f"the pattern {origin!r} must end with $")
            try:
                re.compile(origin)
            except re.error as error:
                raise ValueError(f"the pattern {origin!r} is not a regular expression: {error}") from None
        elif "*" in origin:
            raise ValueError("a wildcard origin is not allowed: list the EHR origins")
        elif not re.fullmatch(r"https?://[A-Za-z0-9.\-]+(:\d+)?", origin):
            raise ValueError(f"{origin!r} is not an origin (scheme://host[:port], no path)")
    return origins


@dataclass(frozen=True)
class ServiceSettings:
    TITLE: ClassVar[str] = "Service"

    mode: str = setting(
        "CDS_MODE", _mode, "production",
        "production (JWT required on every call) or development (calls without a JWT accepted).",
    )
    public_base_url: str = setting(
        "CDS_PUBLIC_BASE_URL", base_url, "http://127.0.0.1:8080",
        "The URL clients use to reach this service; JWT `aud` is checked against it, never against Host.",
    )
    catalogue_dir: Path = setting(
        "CDS_CATALOGUE_DIR", directory, PROJECT_ROOT / "cards",
        "Folder holding services/, rules/ and valuesets/ (the card catalogue).",
    )
    data_dir: Path = setting(
        "CDS_DATA_DIR", directory, PROJECT_ROOT / "var",
        "Folder for the embedded SQLite stores (feedback, JWT replay cache) and the gunicorn workers' shared "
        "Prometheus files (prometheus/, emptied at each start).",
    )
    bind: str = setting(
        "CDS_BIND", _bind, "127.0.0.1:8080",
        "HOST:PORT gunicorn listens on (deploy/gunicorn.conf.py); use 0.0.0.0:8080 inside a container. "
        "`make run HOST=... PORT=...` sets it.",
    )
    workers: int = setting(
        "CDS_WORKERS", positive_int, 2,
        "Number of gunicorn worker processes (deploy/gunicorn.conf.py); `make run WORKERS=n` sets it.",
    )
    log_level: str = setting("CDS_LOG_LEVEL", _log_level, "INFO", "Log level of the JSON logs.")
    metrics_enabled: bool = setting(
        "CDS_METRICS", boolean, True, "Serve Prometheus metrics on /metrics.",
    )
    cors_origins: tuple[str, ...] = setting(
        "CDS_CORS_ORIGINS", _cors_origins, (),
        "Comma-separated browser origins (scheme://host[:port]) or anchored patterns (^...$) allowed by "
        "CORS; never `*`. Empty: none in production, the public sandbox and localhost in development.",
    )
    demo_fhir_url: str = setting(
        "CDS_DEMO_FHIR_URL", base_url, "",
        "Development only: base URL of the demo FHIR server (`make run` starts one on loopback and sets this); "
        "the /demo page reads its patients through /demo/fhir. Refused in production.",
    )

    @property
    def development(self) -> bool:
        return self.mode == "development"

    @property
    def effective_cors_origins(self) -> tuple[str, ...]:
        if self.cors_origins:
            return self.cors_origins
        return DEV_CORS_ORIGINS if self.development else ()

    @property
    def metrics_dir(self) -> Path:
        """Where gunicorn workers share their Prometheus counters (multiprocess mode)."""
        return self.data_dir / "prometheus"
