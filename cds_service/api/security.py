"""Authenticate every CDS Hooks call (discovery, service, feedback) before its view runs.

Every path under /cds-services needs a valid JWT, except CORS preflights (browsers never send
Authorization on OPTIONS); /healthz, /metrics and /openapi.json are outside it. The expected `aud` is
CDS_PUBLIC_BASE_URL + the path, never the Host header. Development mode accepts a call without a JWT
(as ANONYMOUS) but still rejects a bad one. The verified issuer, tenant and jti go on `flask.g` for
the request log; failure reasons go to the "cds_service.auth" log, never the token.
"""

from __future__ import annotations

import logging
from typing import NoReturn

from flask import Flask, Response, current_app, g, request

from cds_service.api.context import services
from cds_service.api.errors import Unauthorized
from cds_service.auth.demo import demo_trusted_issuer
from cds_service.auth.jwt import AuthError, Verifier
from cds_service.auth.replay import ReplayCache
from cds_service.auth.trust import build_verifier
from cds_service.config import Settings
from cds_service.hooks.caller import ANONYMOUS, Caller
from cds_service.storage.errors import StoreError

log = logging.getLogger("cds_service.auth")

PROTECTED_PREFIX = "/cds-services"
EXTENSION = "nxp2_cds_auth"


def protected(path: str) -> bool:
    """Return whether a path is a CDS Hooks endpoint (or under one) that needs a JWT."""
    return path == PROTECTED_PREFIX or path.startswith(PROTECTED_PREFIX + "/")


def expected_audience(settings: Settings, path: str) -> str:
    """Return the endpoint URL a JWT must name in `aud`: the configured public base URL + the path."""
    return settings.public_base_url + path


def authenticate() -> None:
    """Verify the request's JWT (before_request); raise Unauthorized (401) on any failure."""
    g.caller = ANONYMOUS
    rule = request.url_rule.rule if request.url_rule is not None else ""
    if request.method == "OPTIONS" or not (protected(request.path) or protected(rule)):
        return
    settings: Settings = current_app.config["SETTINGS"]
    verifier: Verifier = current_app.extensions[EXTENSION]
    header = request.headers.get("Authorization")
    if header is None and settings.development:
        log.debug("development mode: call without a JWT accepted", extra={"path": request.path})
        return
    if header is None:
        _refuse(AuthError("no Authorization header"))
    try:
        token = verifier.verify(
            header or "", audience=expected_audience(settings, request.path), now=services().clock.now()
        )
    except AuthError as error:
        _refuse(error)
    g.caller = Caller(issuer=token.issuer, tenant=token.tenant, jti=token.jti)
    g.jwt_iss, g.jwt_tenant, g.jwt_jti = token.issuer, token.tenant, token.jti
    log.debug("JWT accepted", extra={"path": request.path, "jwt_iss": token.issuer, "jwt_jti": token.jti})


def _refuse(error: AuthError) -> NoReturn:
    # One line an operator can match with what the integrator reports: the request id is also the
    # response's X-Request-Id header. The client's 401 stays the same for every cause.
    request_id = getattr(g, "request_id", "")
    issuer, kid, tenant = error.issuer or "no iss", error.kid or "no kid", error.tenant or "no tenant"
    context = ", ".join([f"request {request_id}", f"iss {issuer}", f"kid {kid}", tenant,
                         *(f"{name} {value}" for name, value in error.details.items())])
    log.warning(
        "authentication failed: %s (%s)", error.reason, context,
        extra={"auth_reason": error.reason, "request_id": request_id, "jwt_iss": issuer, "jwt_kid": kid,
               "jwt_tenant": tenant, "path": request.path, "method": request.method, **error.details},
    )
    raise Unauthorized("authentication failed")


def install(app: Flask, settings: Settings, replay: ReplayCache) -> None:
    """Build the verifier (the demo EHR trusted in development only), log the set-up, register the check.

    Raises:
        SettingsError: unsafe or unusable trust settings (production without an issuer, for example).
    """
    extra = [demo_trusted_issuer(settings)] if settings.development else []
    verifier = build_verifier(settings, replay, extra)
    app.extensions[EXTENSION] = verifier
    issuers = ", ".join(sorted(verifier.issuers)) or "none"
    if settings.development:
        log.warning(
            "DEVELOPMENT MODE: calls without a JWT are accepted (a JWT that is sent is still verified); "
            "never expose this service, set CDS_MODE=production. Trusted issuers: %s", issuers,
        )
    else:
        log.info("JWT required on every CDS Hooks call. Trusted issuers: %s", issuers)
    app.before_request(authenticate)

    @app.after_request
    def forget_unserved(response: Response) -> Response:
        """A call that was not served (5xx) does not use up its JWT id: the client's retry with the same
        token is not refused as a replay (issue 21 item 6)."""
        jti, issuer = getattr(g, "jwt_jti", None), getattr(g, "jwt_iss", None)
        if response.status_code >= 500 and jti and issuer:
            try:
                replay.forget(jti, issuer)
            except StoreError as error:
                log.warning("the JWT id of a call that failed stays used until the token expires: %s", error,
                            extra={"request_id": getattr(g, "request_id", ""), "jwt_iss": issuer})
        return response
