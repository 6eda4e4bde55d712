"""nxp2-cds: a CDS Hooks 2.0 service for anti-NXP2 antibody-positive myositis."""

from cds_service.app import create_app

__all__ = ["create_app"]
