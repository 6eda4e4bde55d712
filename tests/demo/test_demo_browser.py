"""The demo EHR in a real browser: Debian's chromium driven by Playwright against the `make run` stack.

Each test opens a fixture patient, checks the cards the page shows (ids, indicator colours, summaries,
urgency order) against tests/golden/expectations.yaml, and for patients with cards accepts a suggestion and
dismisses a card, then reads both feedback items back from the SQLite store. Each test leaves a
screenshot in test-output/screenshots/ and the time from opening the chart to cards shown in
test-output/demo-timings.json.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.demo.conftest import RunningDev
from tests.support.builders import catalogue, load_expectations
from tests.support.demo_fixtures import COURSE_ID, course_bundle

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
TIMINGS = ROOT / "test-output" / "demo-timings.json"
SERVICE = "nxp2-myositis"
# The border colour of each indicator in demo.css (info blue, warning amber, critical red).
INDICATOR_COLOURS = {"info": "rgb(21, 101, 192)", "warning": "rgb(245, 159, 0)", "critical": "rgb(183, 28, 28)"}
RANK = {"critical": 0, "warning": 1, "info": 2}

GI_ALARM = "jdm-nxp2-gi-perforation-today"
MAS = "jdm-nxp2-mas-pattern-with-fever"
CANCER_SCREENING = "adult-nxp2-dm-onset-8-months-no-ct"
NEGATIVE = "nxp2-negative-no-myositis-diagnosis"
CARD_CASES = [GI_ALARM, MAS, CANCER_SCREENING]
TIMES_MS: dict[str, float] = {}

def expected_cards(stem: str) -> tuple[dict[str, str], set[str]]:
    """Return (card id -> indicator that must show, card ids that must not) from tests/golden/expectations.yaml."""
    fires: dict[str, str] = load_expectations()["scenarios"][stem]["fires"]
    service = catalogue().service("nxp2-myositis")
    assert service is not None
    return fires, set(service.rules) - set(fires)


def summary_patterns(card_id: str) -> list[re.Pattern[str]]:
    """Regexes of every summary the catalogue gives a card (its own and its escalations'), values as .+."""
    entry = yaml.safe_load((ROOT / "cards" / "rules" / f"{card_id}.yaml").read_text(encoding="utf-8"))
    templates = [entry["card"]["summary"]]
    templates += [e["summary"] for e in (entry.get("escalations") or {}).values() if e.get("summary")]
    return [re.compile("^" + ".+".join(re.escape(part) for part in re.split(r"\{[a-z_]+\}", t)) + "$")
            for t in templates]


@pytest.fixture(scope="module", autouse=True)
def timings() -> Iterator[None]:
    """Write the open-to-cards times of this module's charts to test-output/demo-timings.json."""
    yield
    if TIMES_MS:
        TIMINGS.parent.mkdir(parents=True, exist_ok=True)
        TIMINGS.write_text(json.dumps({"ms_from_open_to_cards": TIMES_MS,
                                       "median_ms": statistics.median(TIMES_MS.values())}, indent=2))


@pytest.fixture
def page(browser: Any, demo_stack: RunningDev, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A new tab on /demo, ready; a screenshot when the test ends; no script error allowed."""
    tab = browser.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.goto(f"{demo_stack.base_url}/demo")
    tab.wait_for_selector("body[data-ready=true]", timeout=15_000)
    try:
        yield tab
    finally:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        tab.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
        tab.close()
    assert errors == [], f"script errors on the page: {errors}"


def open_chart(page: Any, stem: str, *, prefetch: bool = True) -> float:
    """Open a patient's chart the way a user does; return the ms until the cards are shown."""
    if not prefetch:
        page.uncheck("#send-prefetch")
    started = time.perf_counter()
    page.click(f"tr[data-patient-id='{stem}'] a")
    page.wait_for_selector(f"#cards[data-state=ready][data-patient-id='{stem}']", timeout=10_000)
    return (time.perf_counter() - started) * 1000


def shown_cards(page: Any) -> list[dict[str, Any]]:
    return page.eval_on_selector_all("#cards article.card", """cards => cards.map(c => ({
        id: c.dataset.cardId, indicator: c.dataset.indicator, uuid: c.dataset.uuid,
        summary: c.querySelector('h3.summary').textContent, badge: c.querySelector('.badge').textContent,
        colour: getComputedStyle(c).borderLeftColor,
        suggestions: [...c.querySelectorAll('button.suggestion')].map(b => b.dataset.suggestionUuid)}))""")


def last_exchange(page: Any) -> dict[str, Any]:
    """The newest CDS Hooks exchange from the page's integrator view."""
    page.click("#exchange > summary")
    article = page.locator("#exchange-log article.exchange").first
    title = article.locator("h3").text_content()
    request = article.locator("pre.request")
    body = json.loads(request.text_content()) if request.count() else None
    page.click("#exchange > summary")
    return {"title": title, "request": body, "response": json.loads(article.locator("pre.response").text_content())}


def check_cards(page: Any, stem: str) -> list[dict[str, Any]]:
    fires, silent = expected_cards(stem)
    cards = shown_cards(page)
    shown = {card["id"]: card for card in cards}
    assert len(shown) == len(cards), "a card is shown twice"
    for card_id, indicator in fires.items():
        assert card_id in shown, f"{card_id} not shown for {stem}; shown: {sorted(shown)}"
        card = shown[card_id]
        assert card["indicator"] == indicator
        assert card["colour"] == INDICATOR_COLOURS[indicator]
        assert card["badge"].lower() == indicator
        assert any(p.match(card["summary"]) for p in summary_patterns(card_id)), card["summary"]
    assert not silent & set(shown), f"cards that must not fire for {stem}: {sorted(silent & set(shown))}"
    ranks = [RANK[card["indicator"]] for card in cards]
    assert ranks == sorted(ranks), "cards are not sorted most urgent first"
    return cards


@pytest.mark.parametrize("stem", CARD_CASES)
def test_open_chart_shows_the_cards_and_feedback_is_stored(page: Any, demo_stack: RunningDev, stem: str) -> None:
    TIMES_MS[stem] = elapsed = open_chart(page, stem)
    cards = check_cards(page, stem)
    assert elapsed < 2000, f"cards took {elapsed:.0f} ms"
    exchange = last_exchange(page)
    assert exchange["title"].startswith(f"POST {demo_stack.base_url}/cds-services/{SERVICE} ")
    assert set(exchange["request"]["prefetch"]) >= {"patient", "observations", "conditions"}
    assert exchange["request"]["context"]["patientId"] == stem
    assert sorted(c["uuid"] for c in exchange["response"]["cards"]) == sorted(c["uuid"] for c in cards)

    accepted = next(card for card in cards if card["suggestions"])
    suggestion = accepted["suggestions"][0]
    page.click(f"article[data-uuid='{accepted['uuid']}'] button.suggestion")
    page.wait_for_selector(f"article[data-uuid='{accepted['uuid']}'] .card-status[data-feedback=accepted]")

    dismissed = next((card for card in cards if card["uuid"] != accepted["uuid"]), accepted)
    card = page.locator(f"article[data-uuid='{dismissed['uuid']}']")
    card.locator("button.dismiss").click()
    card.locator(".override input[type=radio]").nth(1).check()
    card.locator(".override input.comment").fill("Discussed at the MDT")
    card.locator("button.confirm-dismiss").click()
    page.wait_for_selector(f"article[data-uuid='{dismissed['uuid']}'] .card-status[data-feedback=overridden]")
    reason = next(c for c in exchange["response"]["cards"] if c["uuid"] == dismissed["uuid"])["overrideReasons"][1]

    rows = {(row["card_uuid"], row["outcome"]): row for row in demo_stack.feedback_rows()}
    stored_accept = rows[(accepted["uuid"], "accepted")]
    assert stored_accept["known_card"] and stored_accept["card_id"] == accepted["id"]
    assert stored_accept["body"]["acceptedSuggestions"] == [{"id": suggestion}]
    stored_dismiss = rows[(dismissed["uuid"], "overridden")]
    assert stored_dismiss["known_card"] and stored_dismiss["card_id"] == dismissed["id"]
    assert stored_dismiss["body"]["overrideReason"] == {"reason": reason, "userComment": "Discussed at the MDT"}


def test_negative_antibody_patient_gets_no_card(page: Any) -> None:
    TIMES_MS[NEGATIVE] = open_chart(page, NEGATIVE)
    fires, _ = expected_cards(NEGATIVE)
    assert fires == {}
    assert shown_cards(page) == []
    assert page.locator("#cards .no-cards").text_content() == "No cards for this patient."


def test_without_prefetch_the_service_reads_the_fhir_server(page: Any, demo_stack: RunningDev) -> None:
    TIMES_MS[f"{GI_ALARM} (no prefetch: the service reads FHIR)"] = open_chart(page, GI_ALARM, prefetch=False)
    check_cards(page, GI_ALARM)
    request = last_exchange(page)["request"]
    assert "prefetch" not in request
    assert request["fhirServer"].startswith("http://127.0.0.1:")
    assert "fhirAuthorization" not in request  # like the public sandbox: an open server on loopback


def test_chart_summary_and_patient_list(page: Any) -> None:
    rows = page.locator("#patient-rows tr")
    assert rows.count() == len(list((ROOT / "fhir_fixtures").glob("*.json"))) + 1  # and the demo course
    row = page.locator(f"tr[data-patient-id='{MAS}']")
    assert row.locator("td.label").text_content() == "JDM anti-NXP2 MAS pattern with fever"
    assert re.fullmatch(r"\d+ (y|mo)", row.locator("td").nth(1).text_content())
    open_chart(page, MAS)
    assert page.locator("#chart-header h2").text_content()
    page.wait_for_selector("#trend figure[data-analyte=Ferritin]")
    summary = page.locator("#summary").text_content()
    for heading in ("Anti-NXP2", "Diagnoses", "Latest CK", "Latest ferritin", "BMI"):
        assert heading in summary


def test_trend_plot_draws_the_ck_and_ferritin_course(page: Any) -> None:
    open_chart(page, COURSE_ID)
    page.wait_for_selector("#trend figure[data-analyte=Ferritin] svg")
    results = sum(e["resource"]["resourceType"] == "Observation" for e in course_bundle()["entry"][2:]) // 2
    for analyte in ("CK", "Ferritin"):
        figure = page.locator(f"#trend figure[data-analyte={analyte}]")
        assert figure.locator("circle.point").count() == results
        assert len(figure.locator("polyline.trend").get_attribute("points").split()) == results
    ck_points = page.locator("#trend figure[data-analyte=CK] circle.point")
    first, last = (float(ck_points.nth(i).get_attribute("cy")) for i in (0, results - 1))
    assert first < last  # CK fell on treatment: the first point is higher on the plot (smaller y)
    assert page.locator("#summary").text_content().count("170 U/L") == 1  # the latest CK
    assert ("nxp2-jdm-gi-alarm", "critical") in {(c["id"], c["indicator"]) for c in shown_cards(page)}


def test_card_markdown_is_rendered_safely(page: Any) -> None:
    result = page.evaluate("""() => {
        const md = "**Patient data** <https://doi.org/10.1/x> <script>alert(1)</script> " +
            "<img src=x onerror=alert(1)> [a](javascript:alert(1)) \\\\*not bold\\\\* &lt;b&gt; &amp; x\\n\\n" +
            "- item one\\n  continued here\\n- item **two**\\n\\nlast paragraph";
        const node = CardMarkdown.render(md);
        return {elements: [...node.querySelectorAll('*')].map(e => e.tagName.toLowerCase()),
                links: [...node.querySelectorAll('a')].map(a => [a.getAttribute('href'), a.rel]),
                strong: [...node.querySelectorAll('strong')].map(s => s.textContent),
                items: [...node.querySelectorAll('li')].map(li => li.textContent),
                first: node.querySelector('p').textContent};
    }""")
    assert set(result["elements"]) == {"p", "strong", "a", "ul", "li"}
    assert result["links"] == [["https://doi.org/10.1/x", "noopener noreferrer"]]
    assert result["strong"] == ["Patient data", "two"]
    assert result["items"] == ["item one continued here", "item two"]
    assert "<script>alert(1)</script>" in result["first"] and "<img src=x onerror=alert(1)>" in result["first"]
    assert "*not bold* <b> & x" in result["first"]


@pytest.mark.parametrize(("stem", "card_id", "indicator"), [
    (GI_ALARM, "nxp2-jdm-gi-alarm", "critical"), (CANCER_SCREENING, "nxp2-adult-cancer-screening", "warning")])
def test_a_card_reads_as_in_an_ehr_rendered_and_as_plain_text(
    page: Any, demo_stack: RunningDev, stem: str, card_id: str, indicator: str
) -> None:
    """Summary, indicator, source, the whole detail rendered, links and orders; the switch shows it raw."""
    open_chart(page, stem)
    sent = next(c for c in last_exchange(page)["response"]["cards"] if c["source"]["topic"]["code"] == card_id)
    card = page.locator(f"article[data-card-id='{card_id}']")
    assert card.get_attribute("data-indicator") == indicator
    assert card.locator("h3.summary").text_content() == sent["summary"]
    assert card.locator("p.source a").get_attribute("href") == sent["source"]["url"]
    rendered = card.locator(".detail .markdown")
    assert rendered.is_visible() and not card.locator("pre.detail-raw").is_visible()
    assert [s.text_content() for s in rendered.locator("strong").all()][:2] == ["What we saw", "What to consider:"]
    assert rendered.locator("li").count() >= 2  # the patient data, one item per value
    evidence = rendered.locator("p", has_text="Evidence:").locator("a")
    assert evidence.count() == 1 and evidence.get_attribute("href").startswith("https://")
    text = rendered.text_content()
    assert "\\" not in text and "&" not in text  # nothing escaped shows through
    links = {a.text_content(): a.get_attribute("href") for a in card.locator("ul.links a").all()}
    assert links["Evidence and caveats"] == f"{demo_stack.base_url}/evidence/{card_id}"
    assert [b.text_content() for b in card.locator("button.suggestion").all()] == [
        s["label"] for s in sent.get("suggestions") or []]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    card.screenshot(path=str(SCREENSHOTS / f"card-{indicator}.png"))

    page.check("#plain-text")
    raw = card.locator("pre.detail-raw")
    assert raw.is_visible() and not rendered.is_visible()
    assert raw.text_content() == sent["detail"]
    assert "**What we saw**" in raw.text_content() and "&lt;" not in raw.text_content()
    card.screenshot(path=str(SCREENSHOTS / f"card-{indicator}-plain-text.png"))
    page.uncheck("#plain-text")
    assert rendered.is_visible()


@pytest.mark.parametrize("width", [1440, 800])
def test_every_panel_open_keeps_the_page_within_the_window(page: Any, width: int) -> None:
    """The raw exchange's <pre> blocks, every card's details and every Dismiss form open: nothing widens the page."""
    page.set_viewport_size({"width": width, "height": 900})
    open_chart(page, GI_ALARM)
    page.click("#exchange > summary")
    page.wait_for_selector("#exchange-log pre.response")
    page.eval_on_selector_all("details", "all => all.forEach(d => { d.open = true; })")
    for button in page.locator("#cards button.dismiss").all():
        button.click()
    assert page.locator("#cards fieldset.override:visible").count() == page.locator("#cards button.dismiss").count()
    sizes = page.evaluate("""() => ({page: document.documentElement.scrollWidth,
        window: document.documentElement.clientWidth,
        pre: [...document.querySelectorAll('#exchange pre')].map(p => [p.scrollWidth, p.clientWidth])})""")
    assert sizes["page"] <= sizes["window"] == width, sizes
    assert all(client <= width for _, client in sizes["pre"])
    if width == 800:  # the long JSON lines scroll inside their own box
        assert any(scroll > client for scroll, client in sizes["pre"]), sizes["pre"]


def test_patient_count_follows_the_filter(page: Any) -> None:
    total = page.locator("#patient-rows tr").count()
    count = page.locator("#patient-count")
    assert count.text_content() == f"{total} patients"
    page.fill("#patient-filter", "skin ulcer")
    shown = page.locator("#patient-rows tr:visible").count()
    assert 0 < shown < total
    assert count.text_content() == f"{shown} of {total} patients"
    page.fill("#patient-filter", "")
    assert count.text_content() == f"{total} patients"


def test_dismiss_starts_with_no_reason_and_sends_none_unless_one_is_picked(page: Any, demo_stack: RunningDev) -> None:
    open_chart(page, MAS)
    card = page.locator("#cards article.card").first
    uuid = card.get_attribute("data-uuid")
    card.locator("button.dismiss").click()
    assert card.locator(".override input[type=radio]").count() >= 2
    assert card.locator(".override input[type=radio]:checked").count() == 0
    card.locator("button.confirm-dismiss").click()
    page.wait_for_selector(f"article[data-uuid='{uuid}'] .card-status[data-feedback=overridden]")
    stored = next(row for row in demo_stack.feedback_rows() if row["card_uuid"] == uuid)
    assert stored["outcome"] == "overridden" and "overrideReason" not in stored["body"]


def test_patients_wait_for_the_demo_fhir_server_and_the_page_says_so(browser: Any, demo_stack: RunningDev) -> None:
    """While `make run` still loads the demo FHIR server, /demo says "loading patients" and fills in after."""
    status_file = demo_stack.data_dir / "demo-fhir-status.json"
    ready = status_file.read_text()
    tab = browser.new_page()
    try:
        status_file.write_text(json.dumps({"state": "loading", "message": "Loading patients (3 of 106)"}))
        tab.goto(f"{demo_stack.base_url}/demo")
        tab.wait_for_selector("#notice:not([hidden])")
        assert tab.locator("#notice").text_content().startswith("Loading patients: Loading patients (3 of 106).")
        assert tab.locator("#patient-count").text_content() == "loading patients\u2026"
        assert tab.locator("#patient-rows tr").count() == 0
        status_file.write_text(ready)
        tab.wait_for_selector("body[data-ready=true]", timeout=15_000)
        assert tab.locator("#notice").is_hidden()
        assert tab.locator("#patient-rows tr").count() > 100
    finally:
        status_file.write_text(ready)
        tab.close()
