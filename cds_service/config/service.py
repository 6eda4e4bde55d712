"""Settings of the process itself: mode, where it listens and is reached, its folders, logs, metrics, CORS."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlsplit

from cds_service.config.declare import (
    PROJECT_ROOT,
    SettingsError,
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
    worker_threads: int = setting(
        "CDS_WORKER_THREADS", positive_int, 4,
        "Threads per worker that run complete requests (deploy/gunicorn.conf.py); reading requests needs none.",
    )
    worker_connections: int = setting(
        "CDS_WORKER_CONNECTIONS", positive_int, 200,
        "Most connections one worker holds open at once, slow or idle ones included; further ones wait in the "
        "listen queue for a worker with room.",
    )
    read_buffer_bytes: int = setting(
        "CDS_READ_BUFFER_BYTES", positive_int, 64_000_000,
        "Most bytes of unfinished requests one worker holds while reading them; a request that would pass it "
        "is answered 503 with Retry-After.",
    )
    log_level: str = setting("CDS_LOG_LEVEL", _log_level, "INFO", "Log level of the JSON logs.")
    metrics_enabled: bool = setting(
        "CDS_METRICS", boolean, True, "Serve Prometheus metrics on /metrics.",
    )
    metrics_bind: str = setting(
        "CDS_METRICS_BIND", _bind, "",
        "HOST:PORT where gunicorn also listens to serve /metrics, and only /metrics (404 on the public port), "
        "e.g. 0.0.0.0:9100 for Prometheus inside the cluster. Empty: /metrics on the public port.",
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


def check_service(service: ServiceSettings) -> None:
    """Refuse a metrics port that is the public port (it would serve only /metrics there).

    Raises:
        SettingsError: naming the variable.
    """
    if service.metrics_bind and service.metrics_bind.rsplit(":", 1)[1] == service.bind.rsplit(":", 1)[1]:
        raise SettingsError(f"CDS_METRICS_BIND={service.metrics_bind!r}: must be another port than CDS_BIND's")


def check_public_url(service: ServiceSettings) -> None:
    """Production: every JWT's aud must name the https URL the EHRs call.

    Left unset it is http://127.0.0.1:8080 and every call fails with a 401 the operator cannot explain; over
    http, tokens and patient data would cross the network in clear.

    Raises:
        SettingsError: production mode without an https CDS_PUBLIC_BASE_URL.
    """
    if not service.development and urlsplit(service.public_base_url).scheme != "https":
        raise SettingsError(
            f"CDS_PUBLIC_BASE_URL={service.public_base_url!r}: production mode needs the https URL the EHRs call "
            "(set CDS_PUBLIC_BASE_URL; JWT aud is checked against it)"
        )
