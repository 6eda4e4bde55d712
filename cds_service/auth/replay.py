"""The JWT replay cache interface: every `jti` is remembered until its token expires; a second use is refused.

The implementation lives on the storage layer (`cds_service.storage.replay.DatabaseReplayCache`), so the
replay cache is shared by all gunicorn workers (SQLite) or all replicas (PostgreSQL). A store failure
raises, and the call then fails (500): a token is never accepted unchecked.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class ReplayCache(Protocol):
    def remember(self, jti: str, issuer: str, expires_at: datetime) -> bool:
        """Record the token id; return False if it was already recorded and has not expired."""
        ...

    def forget(self, jti: str, issuer: str) -> None:
        """Drop a token id whose call was not served, so the client may retry with the same token."""
        ...
