"""The one map from errors to HTTP responses: JSON OperationOutcome bodies, never a stack trace."""

from __future__ import annotations

import logging

from flask import Flask, Response
from werkzeug.exceptions import HTTPException

from cds_service.api.responses import json_response
from cds_service.hooks.errors import FeedbackNotStored, PrefetchUnavailable, UnknownService, UnsupportedHook
from cds_service.protocol import OperationOutcome
from cds_service.storage.errors import DatabaseUnavailable

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error the HTTP layer raises itself, with its status and OperationOutcome issue code."""

    status = 400
    issue_code = "invalid"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(ApiError):
    status, issue_code = 400, "invalid"


class UnsupportedMediaType(ApiError):
    status, issue_code = 415, "not-supported"


class PayloadTooLarge(ApiError):
    status, issue_code = 413, "too-costly"


class Unauthorized(ApiError):
    status, issue_code = 401, "login"


class TooManyRequests(ApiError):
    status, issue_code = 429, "throttled"

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


def operation_outcome(status: int, code: str, message: str) -> Response:
    return json_response(OperationOutcome.error(code, message).dump(), status)


# Domain exception -> (status, OperationOutcome issue code). Statuses are chosen by type, never by text.
DOMAIN_ERRORS: dict[type[Exception], tuple[int, str]] = {
    UnknownService: (404, "not-found"),
    UnsupportedHook: (400, "not-supported"),
    PrefetchUnavailable: (412, "incomplete"),
    FeedbackNotStored: (500, "exception"),
}

HTTP_ISSUE_CODES = {404: "not-found", 405: "not-supported", 413: "too-costly"}


def _domain_message(error: Exception) -> str:
    if isinstance(error, UnknownService):
        return f"no CDS service with id {error}"
    if isinstance(error, FeedbackNotStored):
        return "the feedback could not be stored; nothing was saved, please send it again"
    return str(error)


def register(app: Flask) -> None:
    """Install the handlers on the app."""

    @app.errorhandler(ApiError)
    def api_error(error: ApiError) -> Response:
        if error.status == 401:
            # No detail for the client (spec 8.2); the reason was logged by api/security.py.
            response = operation_outcome(401, error.issue_code, "authentication failed")
            response.headers["WWW-Authenticate"] = "Bearer"
            return response
        response = operation_outcome(error.status, error.issue_code, error.message)
        if isinstance(error, TooManyRequests):
            response.headers["Retry-After"] = str(error.retry_after_s)
        return response

    for exception_type, (status, code) in DOMAIN_ERRORS.items():

        def handler(error: Exception, status: int = status, code: str = code) -> Response:
            if status >= 500:
                log.error("request failed: %s", type(error).__name__)
            return operation_outcome(status, code, _domain_message(error))

        app.register_error_handler(exception_type, handler)

    @app.errorhandler(DatabaseUnavailable)
    def database_unavailable(error: DatabaseUnavailable) -> Response:
        # Down, or busy past its deadline: nothing was done, the client may send the same call again.
        log.warning("answered 503: %s", error)
        response = operation_outcome(
            503, "transient", "the service's database is unavailable; nothing was stored, please retry shortly"
        )
        response.headers["Retry-After"] = str(error.retry_after_s)
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        status = error.code or 500
        response = operation_outcome(status, HTTP_ISSUE_CODES.get(status, "processing"), error.name)
        if status == 405 and error.get_response().headers.get("Allow"):
            response.headers["Allow"] = error.get_response().headers["Allow"]
        return response

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        # The type only: an exception message may quote patient data.
        log.error("unexpected error: %s", type(error).__name__)
        return operation_outcome(500, "exception", "internal error")
