"""The HTTP layer: thin Flask views that parse, call the service layer (`hooks`) and serialise."""

from flask import Blueprint

bp = Blueprint("cds", __name__)

from cds_service.api import discovery, evidence, feedback, operations, services  # noqa: E402  (views register on bp)

__all__ = ["bp", "discovery", "evidence", "feedback", "operations", "services"]
