"""Resolve each prefetch template of a service to FHIR data: use what the client sent, fetch the rest.

Per key (CDS Hooks 2.0 section 4.4):
- absent: fetch it from `fhirServer` (with the access token when one was sent; without one only from an
  open server in settings), if the FHIR access policy allows that server for the caller;
- `null`: asked, no data;
- an OperationOutcome, or a value that is not what the template asks for: fetch it if we can, else the key
  is unavailable;
- a searchset Bundle: entries with `search.mode` "match" (or none) are the key's data; "include" entries are
  not, except that an included Patient with the context's id can be the patient. `next` links are followed
  from `fhirServer` when its origin serves them (the public sandbox pages its prefetch this way);
- an empty Bundle: no data.

Degraded results (documented; the cards say which data is missing):
- `unavailable`: a key that is not required could not be had at all;
- `incomplete`: a key was had only in part: a `next` link that could not be followed (no usable
  `fhirServer`, another origin), a later page that failed or timed out, or a page or entry limit. This
  holds for required keys too: partial data is data, and the first page of the sandbox's prefetch is
  better than a 412.
The Patient, or a required key with no data at all, raises `PrefetchUnavailable` (412, naming the key).

Missing keys are fetched concurrently in a small thread pool (the app runs under sync workers), all
within one time budget (`CDS_FHIR_TIMEOUT_S`): what has not arrived by then counts as not had.
"""

from __future__ import annotations

import concurrent.futures
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cds_service.config import Settings
from cds_service.fhir_client.client import Deadline, FhirClient, Limits, SearchResult, next_link
from cds_service.fhir_client.errors import FhirError, FhirTimeout
from cds_service.fhir_client.policy import FhirPolicy, Resolver, system_resolver
from cds_service.hooks.caller import ANONYMOUS, Caller
from cds_service.hooks.errors import PrefetchUnavailable
from cds_service.hooks.prefetch_templates import TemplateError, check_template, expand, reference_of
from cds_service.protocol import HookRequest

log = logging.getLogger(__name__)

# Seconds the main thread waits past the deadline for a fetch to report its own timeout.
GRACE_S = 0.05


@dataclass(frozen=True)
class ResolvedData:
    """The resources obtained for one request, and which keys were degraded."""

    patient: Mapping[str, Any]
    resources: tuple[Mapping[str, Any], ...]
    unavailable: tuple[str, ...] = ()
    incomplete: tuple[str, ...] = ()
    fetched: tuple[str, ...] = ()


def fhir_policy(settings: Settings, resolver: Resolver = system_resolver) -> FhirPolicy:
    """Return the FHIR client's server policy from CDS_FHIR_ALLOWED_SERVERS, _OPEN_SERVERS and _ALLOWED_NETWORKS."""
    return FhirPolicy(
        settings.fhir_allowed_servers, settings.fhir_open_servers, settings.fhir_allowed_networks,
        development=settings.development, resolver=resolver,
    )


@dataclass(frozen=True)
class FhirAccess:
    """How this deployment may fetch from a caller's `fhirServer`: the policy, limits and budget."""

    policy: FhirPolicy
    limits: Limits = Limits()
    budget_s: float = 2.0
    workers: int = 4

    @classmethod
    def from_settings(cls, settings: Settings) -> FhirAccess:
        return cls(
            policy=fhir_policy(settings),
            limits=Limits(
                max_pages=settings.fhir_max_pages,
                max_entries=settings.fhir_max_entries,
                max_response_bytes=settings.fhir_max_response_bytes,
                connect_timeout_s=settings.fhir_connect_timeout_s,
            ),
            budget_s=settings.fhir_timeout_s,
            workers=settings.fhir_workers,
        )

    def open(self, request: HookRequest, caller: Caller) -> FhirClient:
        """Return a client for the request's `fhirServer`, or raise FhirError (refused, unresolvable)."""
        if request.fhirServer is None:
            raise FhirError("the request has no fhirServer to fetch it from")
        token = request.fhirAuthorization.access_token if request.fhirAuthorization else None
        target = self.policy.check(
            request.fhirServer, issuer=caller.issuer, tenant=caller.tenant, with_token=token is not None
        )
        # One connection per thread of the fetch pool (`workers` + 1, see _run_fetches): a smaller pool makes
        # urllib3 discard connections with a "Connection pool is full" warning on every call.
        return FhirClient(target, token, self.limits, pool_size=self.workers + 1)


def check_templates(service_id: str, templates: Mapping[str, str]) -> None:
    """Raise TemplateError, naming service and key, when a template is outside the CDS Hooks 2.0 subset."""
    for key, template in templates.items():
        try:
            check_template(template)
        except TemplateError as error:
            raise TemplateError(f"service {service_id!r}, prefetch key {key!r}: {error}") from None


@dataclass
class _Key:
    """The state of one prefetch key while it is being resolved."""

    name: str
    query: str | None  # the expanded template; None when a token had no value
    entries: list[Mapping[str, Any]] = field(default_factory=list)
    first_page: Mapping[str, Any] | None = None  # a sent Bundle whose next link is still to follow
    problem: str | None = None  # why no data at all could be had
    incomplete: str | None = None
    needs_fetch: bool = False
    fetched: bool = False


def _classify(key: _Key, sent: Mapping[str, Any], template: str) -> None:
    """Decide from the sent prefetch whether the key has its data, or must be fetched or continued."""
    if key.name not in sent:
        key.needs_fetch, key.problem = True, "not in prefetch"
        return
    value = sent[key.name]
    if value is None:
        return
    kind = value.get("resourceType")
    query = check_template(template)
    if kind == "OperationOutcome":
        key.needs_fetch, key.problem = True, "the CDS client sent an OperationOutcome for it"
    elif kind == "Bundle":
        entries = value.get("entry")
        key.entries = [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []
        if next_link(value) is not None:
            key.first_page = value
    elif query.kind == "read" and _matches_read(value, key.query):
        key.entries = [{"resource": value}]
    else:
        key.needs_fetch, key.problem = True, "the prefetch value is not what the template asks for"


def _matches_read(resource: Mapping[str, Any], query: str | None) -> bool:
    expected = reference_of(query) if query else None
    if expected is None:
        return False
    return resource.get("resourceType") == expected[0] and resource.get("id") == expected[1]


def _fetch(key: _Key, template: str, opening: concurrent.futures.Future[FhirClient],
           deadline: Deadline) -> list[Mapping[str, Any]] | SearchResult:
    """Fetch one key (runs in a worker thread)."""
    try:
        client = opening.result(timeout=deadline.remaining() + GRACE_S)
    except concurrent.futures.TimeoutError:
        raise FhirTimeout("the FHIR server could not be reached in time") from None
    if key.first_page is not None:
        return client.search(None, deadline, first=key.first_page)
    query = check_template(template)
    url = client.url(str(key.query))
    if query.kind == "read":
        reference = reference_of(str(key.query))
        return [{"resource": client.read(url, deadline, reference[0] if reference else None)}]
    return client.search(url, deadline)


def _fail_all(jobs: list[_Key], reason: str) -> None:
    for key in jobs:
        if key.first_page is not None:
            key.incomplete = f"only the first page was received: {reason}"
        else:
            key.problem = f"{key.problem}, and {reason}" if key.problem else reason


def _run_fetches(keys: list[_Key], templates: Mapping[str, str], request: HookRequest, caller: Caller,
                 access: FhirAccess | None) -> None:
    """Fetch every key that needs it, concurrently and within the budget; record results on the keys."""
    for key in keys:
        if key.needs_fetch and key.query is None:
            key.problem = f"{key.problem}, and its template needs a context value the request did not send"
    jobs = [k for k in keys if (k.needs_fetch and k.query is not None) or k.first_page is not None]
    if not jobs:
        return
    if request.fhirServer is None or access is None:
        _fail_all(jobs, "the request has no fhirServer to fetch it from" if request.fhirServer is None
                  else "fetching from a FHIR server is not configured")
        return
    deadline = Deadline(access.budget_s)
    executor = concurrent.futures.ThreadPoolExecutor(
        max_workers=min(access.workers, len(jobs)) + 1, thread_name_prefix="fhir-fetch"
    )
    # The policy check (and its DNS lookup) runs in the pool too, so it is bounded by the same budget.
    opening = executor.submit(access.open, request, caller)
    futures = {executor.submit(_fetch, k, templates[k.name], opening, deadline): k for k in jobs}
    concurrent.futures.wait(futures, timeout=deadline.remaining() + GRACE_S)
    # Never wait for stragglers: their sockets time out on their own within the budget.
    executor.shutdown(wait=False, cancel_futures=True)
    for future, key in futures.items():
        _record(key, future)
    opening.add_done_callback(_close_when_open)


def _close_when_open(opening: concurrent.futures.Future[FhirClient]) -> None:
    if not opening.cancelled() and opening.exception() is None:
        opening.result().close()


def _record(key: _Key, future: concurrent.futures.Future[list[Mapping[str, Any]] | SearchResult]) -> None:
    if not future.done():
        error: BaseException | None = FhirTimeout("the FHIR server did not answer within the time budget")
    else:
        error = future.exception()
    if error is not None:
        if not isinstance(error, FhirError):
            raise error
        _fail_all([key], error.reason)
        return
    result = future.result()
    key.fetched, key.problem = True, None
    if isinstance(result, SearchResult):
        key.entries = list(result.entries)
        if result.incomplete:
            key.incomplete = result.incomplete
    else:
        key.entries = result


def resolve(
    templates: Mapping[str, str],
    required: list[str],
    request: HookRequest,
    caller: Caller = ANONYMOUS,
    access: FhirAccess | None = None,
) -> ResolvedData:
    """Return the patient and resources for the templates: prefetch first, `fhirServer` second.

    Raises:
        PrefetchUnavailable: when the Patient or a required key cannot be had (412).
    """
    started = time.monotonic()
    sent = request.prefetch or {}
    context = request.context.model_dump()
    patient_id = request.context.patientId
    keys = [_Key(name, expand(template, context)) for name, template in templates.items()]
    for key in keys:
        _classify(key, sent, templates[key.name])
    _run_fetches(keys, templates, request, caller, access)

    patient: Mapping[str, Any] | None = None
    resources: dict[tuple[str, str], Mapping[str, Any]] = {}
    anonymous: list[Mapping[str, Any]] = []
    # Once per entry of every Bundle (thousands for a long-followed patient): plain dict checks, each field
    # read once (an isinstance against the Mapping ABC costs four times a dict check).
    for key in keys:
        for entry in key.entries:
            resource = entry.get("resource")
            if not isinstance(resource, dict):
                continue
            search = entry.get("search")
            mode = search.get("mode", "match") if isinstance(search, dict) else "match"
            kind, resource_id = resource.get("resourceType"), resource.get("id")
            if kind == "Patient":
                if resource_id == patient_id and mode in ("match", "include"):
                    patient = patient or resource
            elif mode == "match":
                if isinstance(resource_id, str):  # no resourceType: kept, and ignored by facts
                    resources.setdefault((str(kind), resource_id), resource)
                else:
                    anonymous.append(resource)

    patient_key = _patient_key(templates)
    failed = {key.name: key.problem for key in keys if key.problem is not None}
    if patient is None:
        reason = failed.get(patient_key) or f"no Patient with id {patient_id!r} was received"
        raise PrefetchUnavailable(patient_key, reason)
    for name in required:
        if name in failed and name != patient_key:
            raise PrefetchUnavailable(name, str(failed[name]))

    data = ResolvedData(
        patient=patient,
        resources=(*resources.values(), *anonymous),
        unavailable=tuple(name for name in failed if name != patient_key),
        incomplete=tuple(key.name for key in keys if key.incomplete),
        fetched=tuple(key.name for key in keys if key.fetched),
    )
    _log(keys, data, started)
    return data


def _patient_key(templates: Mapping[str, str]) -> str:
    for name, template in templates.items():
        if template.startswith("Patient/"):
            return name
    return "patient"


def _log(keys: list[_Key], data: ResolvedData, started: float) -> None:
    # Key names and reasons only: no URLs (they hold patient ids), no tokens, no data.
    if not (data.fetched or data.unavailable or data.incomplete):
        return
    log.info(
        "prefetch resolved",
        extra={
            "fetched": list(data.fetched),
            "unavailable": {k.name: str(k.problem) for k in keys if k.name in data.unavailable},
            "incomplete": {k.name: str(k.incomplete) for k in keys if k.incomplete},
            "elapsed_ms": round((time.monotonic() - started) * 1000),
        },
    )
