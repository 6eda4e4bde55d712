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
from cds_service.api import demo, errors, security, telemetry
from cds_service.cards.catalogue import load_catalogue
from cds_service.config import Settings
from cds_service.facts.valuesets import load_valuesets
from cds_service.hooks.evaluate import Services
from cds_service.hooks.orders import OrderTemplates
from cds_service.hooks.prefetch import FhirAccess, check_templates
from cds_service.observability import configure_logging
from cds_service.rules import REGISTRY
from cds_service.rules.registry import RegisteredRule
from cds_service.storage.feedback import FeedbackStore
from cds_service.storage.records import IssuedCardRecords
from cds_service.storage.stores import Stores, open_stores
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
    stores: Stores | None = None,
    records: IssuedCardRecords | None = None,
) -> Services:
    """Load and check the catalogue and value sets and build the service layer's collaborators.

    `records`: where issued cards are recorded; the stores' writer unless given (offline commands give
    `NotRecorded`).
    """
    rules = REGISTRY if registry is None else registry
    root = catalogue_dir or settings.catalogue_dir
    catalogue = load_catalogue(root, rules)
    valuesets = load_valuesets(root / "valuesets")  # a bad file raises ValueSetError naming file and field
    suggestions = [s for entry in catalogue.rules.values() for s in entry.suggestions]
    clock = clock or SystemClock()
    stores = stores or open_stores(settings, clock)
    for service in catalogue.services.values():
        check_templates(service.id, service.prefetch)
    return Services(
        catalogue=catalogue,
        registry=rules,
        valuesets=valuesets,
        orders=OrderTemplates(suggestions),
        store=store if store is not None else stores.feedback,
        records=stores.records if records is None else records,
        clock=clock,
        ids=ids or RandomIds(),
        audit=stores.audit,
        fhir=FhirAccess.from_settings(settings),
        readiness=stores.readiness.state,
        evidence_base=f"{settings.public_base_url}/evidence/",
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
    configure_logging(settings.log_level)
    app = Flask(__name__)
    telemetry.install(app)  # first, so its timer starts before and its log line is written after every other hook
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.config["SETTINGS"] = settings
    clock = clock or SystemClock()
    stores = open_stores(settings, clock)
    wired = build_services(settings, registry=registry, clock=clock, ids=ids, store=store, stores=stores)
    app.extensions["nxp2_cds"] = wired
    security.install(app, settings, stores.replay)  # JWT on every /cds-services call
    CORS(
        app,
        origins=list(settings.effective_cors_origins),
        allow_headers=["Authorization", "Content-Type"],
        methods=["GET", "POST", "OPTIONS"],
        expose_headers=[telemetry.REQUEST_ID_HEADER],  # a browser EHR can read it and quote it in a report
        supports_credentials=False,  # JWTs travel in Authorization, never cookies: no credentialed CORS
        max_age=600,
    )
    errors.register(app)
    app.register_blueprint(api.bp)
    demo.install(app, settings)  # /demo, development mode only
    return app
