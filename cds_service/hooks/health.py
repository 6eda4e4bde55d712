"""Liveness and readiness, for `/healthz` and `/readyz` (a load balancer or Kubernetes polls both).

Liveness says the process serves requests and never touches the database: a database outage must not get
every replica restarted. Readiness asks the database for SELECT 1 within a short deadline (kept for a
second, storage/stores.py): its cost does not depend on the size of any table.
"""

from __future__ import annotations

from cds_service.hooks.evaluate import Services


def liveness(services: Services) -> dict[str, str]:
    """The process is up and its catalogue is loaded (it could not have started otherwise)."""
    return {"process": "ok" if services.catalogue.services else "unreachable"}


def readiness(services: Services) -> dict[str, str]:
    """Return "ok" or "unreachable" for the database (down, not yet migrated, or too slow to answer)."""
    return {"database": "ok" if services.readiness() == "ok" else "unreachable"}
