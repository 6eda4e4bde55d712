"""worklist.html in a real browser (Debian's chromium, offline): most urgent first, filterable by card,
an evidence link per card, patient text inert, no request leaves the page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from cds_service.cli import main
from tests.worklist.exports import NOW_ARG, fixture_bundles, resources_by_type, write_export

RANK = {"data could not be read": -1, "critical": 0, "warning": 1, "info": 2}


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("report")
    by_type = resources_by_type(fixture_bundles())
    # A patient name that would be markup if it were not escaped.
    by_type["Patient"][0] = by_type["Patient"][0] | {"name": [{"text": "<img src=x onerror=alert(1)>"}]}
    export = write_export(tmp / "export", by_type)
    out = tmp / "out"
    assert main(["worklist", "--ndjson", str(export), "--out", str(out), "--now", NOW_ARG, "--quiet"]) == 0
    return out


@pytest.fixture
def page(report: Path, browser: Any) -> Iterator[Any]:
    """A tab of the session's chromium (tests/conftest.py) on the offline report."""
    tab = browser.new_page()
    requests: list[str] = []
    errors: list[str] = []
    tab.on("request", lambda r: requests.append(r.url))
    tab.on("pageerror", lambda e: errors.append(str(e)))
    tab.on("dialog", lambda d: errors.append(f"dialog: {d.message}"))
    tab.goto((report / "worklist.html").as_uri())
    yield tab
    tab.close()
    assert [u for u in requests if not u.startswith("file:")] == []  # opens offline
    assert errors == []


def visible_rows(tab: Any) -> list[dict[str, str]]:
    return tab.eval_on_selector_all(
        "tbody tr:not([hidden])",
        "rows => rows.map(r => ({card: r.dataset.card, urgency: r.cells[0].innerText, "
        "link: r.cells[1].querySelector('a') ? r.cells[1].querySelector('a').href : ''}))")


def test_rows_are_most_urgent_first_with_an_evidence_link(page: Any, report: Path) -> None:
    rows = visible_rows(page)
    document = orjson.loads((report / "worklist.json").read_bytes())
    assert len(rows) == len(document["rows"]) > 50
    ranks = [RANK[r["urgency"]] for r in rows]
    assert ranks == sorted(ranks) and ranks[0] == 0
    for row in rows:
        assert row["link"].endswith(f"/evidence/{row['card']}")


def test_the_card_filter_shows_one_card(page: Any) -> None:
    page.select_option("select", "nxp2-jdm-gi-alarm")
    rows = visible_rows(page)
    assert rows and {r["card"] for r in rows} == {"nxp2-jdm-gi-alarm"}
    page.select_option("select", "")
    assert len(visible_rows(page)) > len(rows)


def test_patient_text_stays_inert(page: Any, report: Path) -> None:
    document = orjson.loads((report / "worklist.json").read_bytes())
    named = [r for r in document["rows"] if r["name"] == "<img src=x onerror=alert(1)>"]
    assert named  # the patient has a row, so the name is on the page ...
    assert page.locator("img").count() == 0  # ... as text, not as an element
    assert page.get_by_text("<img src=x onerror=alert(1)>").count() == len(named)
