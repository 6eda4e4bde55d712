"""The app factory: wire settings, catalogue, rules, stores, clock and ids into one Flask app.

Nothing is created at import time; `create_app()` reads the environment only when no settings are given.
A bad catalogue or setting stops start-up here, with a message naming the file and field or variable.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from flask import Flask
from flask_cors import CORS

from cds_service import api
from cds_service.api import errors
from cds_service.cards.catalogue import load_catalogue
from cds_service.config import Settings
from cds_service.facts.valuesets import load_valuesets
from cds_service.feedback.store import FeedbackStore, SqliteFeedbackStore
from cds_service.hooks.evaluate import Services
from cds_service.hooks.orders import OrderTemplates
from cds_service.rules import REGISTRY
from cds_service.rules.registry import RegisteredRule
from cds_service.support.clock import Clock, SystemClock
from cds_service.support.ids import IdSource, RandomIds

log = logging.getLogger("cds_service")


def build_services(
    settings: Settings,
    *,
    registry: Mapping[str, RegisteredRule] | None = None,
    clock: Clock | None = None,
    ids: IdSource | None = None,
    store: FeedbackStore | None = None,
    catalogue_dir: Path | None = None,
) -> Services:
    """Load and check the catalogue and value sets and build the service layer's collaborators."""
    rules = REGISTRY if registry is None else registry
    root = catalogue_dir or settings.catalogue_dir
    catalogue = load_catalogue(root, rules)
    valuesets = load_valuesets(root / "valuesets")  # a bad file raises ValueSetError naming file and field
    suggestions = [s for entry in catalogue.rules.values() for s in entry.suggestions]
    return Services(
        catalogue=catalogue,
        registry=rules,
        valuesets=valuesets,
        orders=OrderTemplates(suggestions),
        store=store if store is not None else SqliteFeedbackStore(settings.feedback_db),
        clock=clock or SystemClock(),
        ids=ids or RandomIds(),
    )


def create_app(
    settings: Settings | None = None,
    *,
    registry: Mapping[str, RegisteredRule] | None = None,
    clock: Clock | None = None,
    ids: IdSource | None = None,
    store: FeedbackStore | None = None,
) -> Flask:
    """Create the Flask app; tests pass settings, a registry, a fixed clock and sequential ids."""
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.config["SETTINGS"] = settings
    app.extensions["nxp2_cds"] = build_services(
        settings, registry=registry, clock=clock, ids=ids, store=store
    )
    CORS(
        app,
        origins=list(settings.effective_cors_origins),
        allow_headers=["Authorization", "Content-Type"],
        methods=["GET", "POST", "OPTIONS"],
        supports_credentials=False,
        max_age=600,
    )
    errors.register(app)
    app.register_blueprint(api.bp)
    return app
