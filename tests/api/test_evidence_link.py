"""Every card links its evidence page, absolute, under CDS_PUBLIC_BASE_URL; the page is there and cacheable."""

from __future__ import annotations

from pathlib import Path

import orjson

from cds_service.app import create_app
from cds_service.support.clock import FixedClock
from cds_service.support.ids import SequentialIds
from tests.conftest import NOW, TESTS, hook_request, settings_for
from tests.rules_for_tests import TEST_REGISTRY

BASE = "https://cds.hospital.example/nxp2"


def test_the_card_link_is_built_from_the_public_base_url_and_leads_to_the_page(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, catalogue_dir=TESTS / "catalogue_for_tests", public_base_url=BASE)
    app = create_app(settings, registry=TEST_REGISTRY, clock=FixedClock(NOW), ids=SequentialIds())
    client = app.test_client()
    response = client.post("/cds-services/test-service", data=orjson.dumps(hook_request()),
                           content_type="application/json")
    assert response.status_code == 200, response.json
    (card,) = response.json["cards"]
    evidence = card["links"][0]
    assert evidence == {"label": "Evidence and caveats", "url": f"{BASE}/evidence/test-born-before",
                        "type": "absolute"}
    page = client.get(evidence["url"].removeprefix(BASE))
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert page.headers["Cache-Control"] == "public, max-age=86400"
    assert "Test card for patients born before a year" in page.get_data(as_text=True)
    assert "Ada" not in page.get_data(as_text=True)  # the request's patient never reaches the page
    again = client.get(evidence["url"].removeprefix(BASE), headers={"If-None-Match": page.headers["ETag"]})
    assert again.status_code == 304
    missing = client.get("/evidence/no-such-card")
    assert missing.status_code == 404 and missing.mimetype == "text/html"
