"""The errors every store raises when the database fails."""

from __future__ import annotations


class StoreError(RuntimeError):
    """The store could not write or read; the caller must report failure."""


class DatabaseUnavailable(StoreError):
    """The database is known to be down (or did not answer within its deadline): nothing was tried or done.

    Raised at once while a background probe waits for the database to answer again; callers answer 503
    with Retry-After `retry_after_s`.
    """

    def __init__(self, message: str, retry_after_s: int = 2) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
