"""The one error every store raises when the database fails."""

from __future__ import annotations


class StoreError(RuntimeError):
    """The store could not write or read; the caller must report failure."""
