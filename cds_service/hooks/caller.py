"""Who called: the verified JWT's issuer and tenant (None for an unauthenticated development call)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Caller:
    issuer: str | None = None
    tenant: str | None = None
    jti: str | None = None


ANONYMOUS = Caller()
