"""Readiness of the service's dependencies, for `/healthz`: cheap checks only (a load balancer polls it)."""

from __future__ import annotations

import logging

from cds_service.hooks.evaluate import Services
from cds_service.storage.feedback import StoreError

log = logging.getLogger(__name__)


def check_dependencies(services: Services) -> dict[str, str]:
    """Return "ok" or "unreachable" for each dependency (today: the feedback store)."""
    try:
        # count() is in every store's protocol; on an indexed table it is a cheap read that proves the
        # database can be opened and its schema is there.
        services.store.count()
        store = "ok"
    except StoreError as error:
        log.warning("feedback store unreachable: %s", error)
        store = "unreachable"
    return {"feedbackStore": store}
