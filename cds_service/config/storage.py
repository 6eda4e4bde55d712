"""Settings of the stores: which database holds feedback, the JWT replay cache and the card records."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar
from urllib.parse import urlsplit

from cds_service.config.declare import boolean, positive_float, positive_int, setting


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


@dataclass(frozen=True)
class StorageSettings:
    TITLE: ClassVar[str] = "Storage"

    database_url: str = setting(
        "CDS_DATABASE_URL", _database_url, "",
        "PostgreSQL URL (postgresql://user:password@host:5432/db) for feedback, the JWT replay cache and the "
        "card audit log. Empty: one embedded SQLite file in CDS_DATA_DIR. The password is never printed.",
        show=redact_url,
    )
    database_pool_size: int = setting(
        "CDS_DATABASE_POOL_SIZE", positive_int, 4, "Most PostgreSQL connections one worker process opens.",
    )
    database_timeout_s: float = setting(
        "CDS_DATABASE_TIMEOUT_S", positive_float, 5.0,
        "Longest wait for a database connection, lock or statement before the store reports failure.",
    )
    card_audit: bool = setting(
        "CDS_CARD_AUDIT", boolean, False,
        "Keep an audit log of the cards shown for each hookInstance (card ids and indicators, no patient values).",
    )
