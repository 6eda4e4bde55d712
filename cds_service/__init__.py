"""nxp2-cds: a CDS Hooks 2.0 service for anti-NXP2 antibody-positive myositis."""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    # Lazy, so `cds_service.config` can be imported (by gunicorn.conf.py) before Flask and
    # prometheus_client: the metrics mode must be chosen before prometheus_client is first imported.
    if name == "create_app":
        from cds_service.app import create_app

        return create_app
    raise AttributeError(name)
