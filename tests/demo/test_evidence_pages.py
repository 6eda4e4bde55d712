"""The evidence pages in a real browser: Debian's chromium against the `make run` stack.

Every card id of the catalogue has a page with the headings, the evidence table (one row per catalogue
row, each with its table or section and grading), working links, the review date and no patient data; an
unknown id is a 404 page; a page prints to PDF. Screenshots go to test-output/screenshots/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from cds_service.cards.catalogue import load_catalogue
from cds_service.rules import REGISTRY
from tests.demo.conftest import RunningDev
from tests.demo.test_demo_browser import SCREENSHOTS

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = load_catalogue(ROOT / "cards", REGISTRY)
HEADINGS = ["Who the card is for", "Why", "What the card asks you to consider", "Evidence", "Caveats",
            "What the card does not do", "Guideline and papers"]
INTERNAL = re.compile(r"clinical-evidence\.md|verification\.md|terminology\.md|\bS[0-4]\b")


def fixture_patient_strings() -> set[str]:
    """Ids and names of every fixture patient: none may appear on a page built from the catalogue."""
    found: set[str] = set()
    for path in (ROOT / "fhir_fixtures").glob("*.json"):
        for entry in orjson.loads(path.read_bytes()).get("entry", []):
            resource = entry.get("resource", {})
            if resource.get("resourceType") == "Patient":
                found.add(resource["id"])
                for name in resource.get("name", []):
                    found.update(filter(None, [name.get("text"), name.get("family")]))
    return found - set(CATALOGUE.rules)  # one fixture patient is named after the card it tests


@pytest.fixture
def no_script_page(browser: Any) -> Iterator[Any]:
    """A tab of the session's chromium (one Playwright per process); the pages carry no script to run."""
    tab = browser.new_page()
    try:
        yield tab
    finally:
        tab.close()


def test_every_card_id_has_a_complete_page(no_script_page: Any, demo_stack: RunningDev) -> None:
    page = no_script_page
    patient_strings = fixture_patient_strings()
    assert len(patient_strings) > 50
    for card_id, entry in CATALOGUE.rules.items():
        response = page.goto(f"{demo_stack.base_url}/evidence/{card_id}")
        assert response.status == 200, card_id
        assert response.headers["cache-control"].startswith("public, max-age=")
        # Readable without JavaScript: the policy lets no script run at all, and there is none.
        policy = response.headers["content-security-policy"]
        assert policy.startswith("default-src 'none';") and "script-src" not in policy
        assert page.locator("h1").text_content() == entry.title
        assert [h.text_content() for h in page.locator("h2").all()][:2] == HEADINGS[:2]
        assert set(HEADINGS) <= {h.text_content() for h in page.locator("h2").all()}, card_id
        rows = page.locator("#evidence + p + table tbody tr")
        assert rows.count() == len(entry.evidence), card_id
        for index, row in enumerate(entry.evidence):
            cells = [c.text_content().strip() for c in rows.nth(index).locator("td").all()]
            assert cells[:2] == [row.source, row.where] and cells[3] == row.strength, card_id
        assert entry.reviewed.isoformat() in page.locator("p.meta").first.text_content()
        hrefs = [a.get_attribute("href") for a in page.locator("a").all()]
        assert hrefs and all(h.startswith(("https://", demo_stack.base_url)) for h in hrefs), hrefs
        assert page.locator("script").count() == 0
        text = page.locator("body").inner_text()
        assert not INTERNAL.search(text), INTERNAL.search(text)
        assert not [s for s in patient_strings if re.search(rf"\b{re.escape(s)}\b", text)], card_id
        page.screenshot(path=str(SCREENSHOTS / f"evidence-{card_id}.png"), full_page=True)


def test_the_index_lists_every_card_and_an_unknown_id_is_a_404_page(
    no_script_page: Any, demo_stack: RunningDev
) -> None:
    page = no_script_page
    assert page.goto(f"{demo_stack.base_url}/evidence").status == 200
    listed = [a.get_attribute("href") for a in page.locator("main li a").all()]
    assert listed == [f"{demo_stack.base_url}/evidence/{card_id}" for card_id in sorted(CATALOGUE.rules)]
    response = page.goto(f"{demo_stack.base_url}/evidence/no-such-card")
    assert response.status == 404
    assert response.headers["content-type"].startswith("text/html")
    assert page.locator("h1").text_content() == "No such card"
    assert "no-such-card" not in page.content()  # the id is not echoed back


def test_a_page_prints(no_script_page: Any, demo_stack: RunningDev) -> None:
    page = no_script_page
    page.goto(f"{demo_stack.base_url}/evidence/nxp2-jdm-mas-pattern")
    page.emulate_media(media="print")
    after = page.evaluate("getComputedStyle(document.querySelector('td a'), '::after').content")
    assert "https://" in after  # printed links show where they go
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
    page.emulate_media(media="screen")
