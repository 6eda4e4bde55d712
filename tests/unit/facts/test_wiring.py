"""The service layer passes the value sets and the unavailable prefetch keys into build_facts."""

from __future__ import annotations

from pathlib import Path

from cds_service.app import build_services
from cds_service.hooks.evaluate import evaluate
from cds_service.protocol import HookRequest
from cds_service.support.clock import FixedClock
from cds_service.support.ids import SequentialIds
from tests.conftest import NOW, TESTS, hook_request, settings_for
from tests.rules_for_tests import TEST_REGISTRY
from tests.unit.facts.fhir import lab, nxp2


def test_evaluate_builds_facts_from_the_prefetch_and_reports_unavailable_keys(tmp_path: Path) -> None:
    services = build_services(settings_for(tmp_path, catalogue_dir=TESTS / "catalogue_for_tests"),
                              registry=TEST_REGISTRY, clock=FixedClock(NOW), ids=SequentialIds())
    body = hook_request()
    del body["prefetch"]["observations"]  # not required by the test service: degraded, not 412
    body["prefetch"]["patient"]["id"] = "p1"
    request = HookRequest.model_validate(body)
    facts = evaluate("test-service", request, services).facts
    assert facts.unavailable == ("observations",)

    body = hook_request()
    body["prefetch"]["observations"] = {
        "resourceType": "Bundle", "type": "searchset",
        "entry": [{"resource": lab("2276-4", 1000, "pmol/L")}, {"resource": nxp2(id="n1", valueString="Positive")}],
    }
    facts = evaluate("test-service", HookRequest.model_validate(body), services).facts
    assert [(r.concept, r.value) for r in facts.labs] == [("ferritin", 445.0)]
    assert [a.ref.id for a in facts.antibodies] == ["n1"]
    assert facts.unavailable == ()
