"""The service layer: evaluate a hook call into cards, and record feedback.

`Services` holds everything a request needs, wired once by `create_app` (or by the CLI).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from cds_service.cards.catalogue import Catalogue, RuleEntry, ServiceEntry
from cds_service.cards.render import RenderedCard, by_urgency, render
from cds_service.facts.build import build_facts
from cds_service.facts.model import PatientFacts
from cds_service.facts.valuesets import ValueSets
from cds_service.hooks.caller import ANONYMOUS, Caller
from cds_service.hooks.errors import FeedbackNotStored, UnknownService, UnsupportedHook
from cds_service.hooks.orders import OrderTemplates
from cds_service.hooks.prefetch import FhirAccess, resolve
from cds_service.protocol import CdsResponse, FeedbackRequest, HookRequest
from cds_service.rules.registry import Param, RegisteredRule, RuleContext
from cds_service.storage.audit import AuditedCard, CardAuditLog
from cds_service.storage.errors import DatabaseUnavailable
from cds_service.storage.feedback import FeedbackStore, IssuedCard, StoreError, StoreResult
from cds_service.storage.records import IssuedCardRecords
from cds_service.support.clock import Clock
from cds_service.support.ids import IdSource

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Services:
    """The collaborators of the service layer, built once at start-up."""

    catalogue: Catalogue
    registry: Mapping[str, RegisteredRule]
    valuesets: ValueSets
    orders: OrderTemplates
    store: FeedbackStore
    records: IssuedCardRecords  # issued-card records and the card audit log, written off the request path
    clock: Clock
    ids: IdSource
    evidence_base: str  # public URL prefix of the evidence pages; each card links `{base}{card id}`
    audit: CardAuditLog | None = None  # the card audit log (to read), when CDS_CARD_AUDIT is on
    fhir: FhirAccess | None = None  # None: never fetch, use the prefetch only
    readiness: Callable[[], str] = lambda: "ok"  # "ok" when the database answers (storage/stores.py)


@dataclass(frozen=True)
class Evaluation:
    response: CdsResponse
    rendered: tuple[RenderedCard, ...]
    facts: PatientFacts


def find_service(services: Services, service_id: str) -> ServiceEntry:
    entry = services.catalogue.service(service_id)
    if entry is None:
        raise UnknownService(service_id)
    return entry


def concept_titles(valuesets: ValueSets) -> Mapping[str, str]:
    """Each concept's name as cards show it: the `title` of its value set."""
    return MappingProxyType({concept: file.title for concept, file in valuesets.files.items()})


def rule_context(entry: RuleEntry, now: datetime, titles: Mapping[str, str]) -> RuleContext:
    """The context a rule runs in: its catalogue entry's params and switches, the call's instant, concept titles."""
    params = {name: Param(value=p.value, unit=p.unit) for name, p in entry.params.items()}
    return RuleContext(
        now=now,
        params=MappingProxyType(params),
        switches=MappingProxyType(dict(entry.switches)),
        titles=titles,
    )


def run_rules(
    facts: PatientFacts, service: ServiceEntry, services: Services, now: datetime
) -> list[RenderedCard]:
    """Run every active rule of the service on the facts and render the findings, most urgent first."""
    rendered: list[RenderedCard] = []
    titles = concept_titles(services.valuesets)
    for rule_id in service.rules:
        entry = services.catalogue.rules[rule_id]
        if entry.status != "active":
            continue
        finding = services.registry[rule_id].function(facts, rule_context(entry, now, titles))
        if finding is None:
            continue
        rendered.append(
            render(
                finding, entry, service,
                patient_id=facts.patient_id, new_id=services.ids.new_id, build_order=services.orders.build,
                evidence_base=services.evidence_base,
            )
        )
    return by_urgency(rendered, service.rules)


def evaluate(
    service_id: str, request: HookRequest, services: Services, caller: Caller = ANONYMOUS
) -> Evaluation:
    """Return the cards for one hook call, for a caller whose JWT (if any) was verified.

    Raises:
        UnknownService: no such service id.
        UnsupportedHook: the service does not serve `request.hook`.
        PrefetchUnavailable: required data could not be obtained.
    """
    service = find_service(services, service_id)
    if request.hook != service.hook:
        raise UnsupportedHook(f"service {service_id!r} serves {service.hook!r}, not {request.hook!r}")
    data = resolve(service.prefetch, service.required_prefetch, request, caller, services.fhir)
    now = services.clock.now()  # one instant for the whole call: facts, every rule and the records agree
    # A key we got only in part is as uncertain for the cards as one we could not get at all.
    degraded = (*data.unavailable, *data.incomplete)
    facts = build_facts(data.patient, data.resources, now, services.valuesets, unavailable=degraded)
    rendered = run_rules(facts, service, services, now)
    issued = [
        IssuedCard(
            uuid=r.card.uuid or "",
            card_id=r.rule_id,
            hook_instance=request.hookInstance,
            suggestion_ids=tuple(s.uuid or "" for s in r.card.suggestions or ()),
        )
        for r in rendered
    ]
    audited = [AuditedCard(request.hookInstance, r.card.uuid or "", r.rule_id, r.card.indicator) for r in rendered]
    # Off the request path: the advice never waits for its records (storage/records.py says what is kept).
    services.records.record(issued, audited, now)
    return Evaluation(
        response=CdsResponse(cards=[r.card for r in rendered]), rendered=tuple(rendered), facts=facts
    )


def record_feedback(service_id: str, request: FeedbackRequest, services: Services) -> StoreResult:
    """Store every feedback item of the request, or raise FeedbackNotStored."""
    find_service(services, service_id)
    pending = services.records.pending_card_ids(item.card for item in request.feedback)
    try:
        return services.store.save(service_id, request.feedback, services.clock.now(), pending)
    except DatabaseUnavailable:
        raise  # down or busy: a 503 with Retry-After, not a failure of ours
    except StoreError as error:
        raise FeedbackNotStored(str(error)) from error
