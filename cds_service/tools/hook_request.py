"""Build a CDS Hooks request from a FHIR Bundle, the way an EHR would fill the service's prefetch templates.

For `nxp2-cds request fhir_fixtures/X.json | curl ... --data @-`: a read template (`Patient/{{...}}`) gets the
resource, a search template (`Observation?...`) a searchset Bundle of the Bundle's resources of that type.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any

from cds_service.protocol import ServiceDefinition

READ = re.compile(r"^([A-Z][A-Za-z]+)/\{\{context\.patientId\}\}$")
SEARCH = re.compile(r"^([A-Z][A-Za-z]+)\?")


class BundleError(ValueError):
    """The file is not a usable FHIR Bundle; the message says why."""


def _resources(bundle: Any) -> list[Mapping[str, Any]]:
    if not isinstance(bundle, Mapping) or bundle.get("resourceType") != "Bundle":
        raise BundleError("expected a FHIR Bundle (resourceType Bundle)")
    if bundle.get("type") not in {"collection", "searchset"}:
        raise BundleError(f"expected a collection or searchset Bundle, not {bundle.get('type')!r}")
    entries = bundle.get("entry")
    if not isinstance(entries, list):
        raise BundleError("the Bundle has no entry list")
    return [e["resource"] for e in entries if isinstance(e, Mapping) and isinstance(e.get("resource"), Mapping)]


def _searchset(resources: list[Mapping[str, Any]]) -> dict[str, Any]:
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "total": len(resources)}
    if resources:  # CDS Hooks forbids empty arrays: an empty search has no entry at all
        bundle["entry"] = [{"resource": dict(r), "search": {"mode": "match"}} for r in resources]
    return bundle


def build_request(
    bundle: Any, service: ServiceDefinition, *, user_id: str = "Practitioner/example", hook_instance: str | None = None
) -> dict[str, Any]:
    """Return a request for `service` whose prefetch holds the Bundle's data, keyed by the service's templates.

    Raises:
        BundleError: not a collection/searchset Bundle, or not exactly one Patient in it.
    """
    resources = _resources(bundle)
    patients = [r for r in resources if r.get("resourceType") == "Patient"]
    if len(patients) != 1 or not isinstance(patients[0].get("id"), str):
        raise BundleError(f"expected exactly one Patient with an id, found {len(patients)} Patient resources")
    patient = patients[0]
    prefetch: dict[str, Any] = {}
    for key, template in (service.prefetch or {}).items():
        read, search = READ.match(template), SEARCH.match(template)
        if read and read.group(1) == "Patient":
            prefetch[key] = dict(patient)
        elif search:
            prefetch[key] = _searchset([r for r in resources if r.get("resourceType") == search.group(1)])
        # Any other template is left out: a client MUST NOT send a key it does not fill.
    request: dict[str, Any] = {
        "hook": service.hook,
        "hookInstance": hook_instance or str(uuid.uuid4()),
        "context": {"userId": user_id, "patientId": patient["id"]},
    }
    if prefetch:
        request["prefetch"] = prefetch
    return request
