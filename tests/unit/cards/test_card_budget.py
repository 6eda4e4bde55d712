"""Every golden card's detail fits what an EHR shows without a "more" fold: 900 characters, 12 lines.

The detail is rendered by two real renderers (cmark-gfm, GitHub's, with raw HTML passed through as the
public sandbox does; and markdown-it-py in CommonMark mode with GFM tables and strikethrough) and read
back as a browser lays it out: every block (paragraph, list item, heading, table row) starts a line; soft
line breaks inside a paragraph do not. The larger of the two readings is held to the budget.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import cmarkgfm
import orjson
import pytest
from cmarkgfm.cmark import Options
from markdown_it import MarkdownIt

from tests.conftest import TESTS

MAX_CHARS = 900
MAX_LINES = 12
BLOCKS = {"p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "br", "pre", "blockquote", "ul", "ol", "table", "hr"}
COMMONMARK = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
GOLDEN = sorted((TESTS / "golden").glob("*.json"))


class _Lines(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data.replace("\n", " "))  # a soft break is a space, not a new line


def shown_lines(html: str) -> list[str]:
    """The lines of text a reader sees for rendered HTML (one per block, wrapping ignored)."""
    parser = _Lines()
    parser.feed(html)
    text = "".join(parser.parts)
    return [re.sub(r"\s+", " ", line).strip() for line in text.split("\n") if line.strip()]


def measure(markdown: str) -> tuple[int, int]:
    """(characters, lines) of the rendered detail, the larger reading of cmark-gfm and CommonMark."""
    readings = []
    for html in (cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE),
                 COMMONMARK.render(markdown)):
        lines = shown_lines(html)
        readings.append((sum(len(line) for line in lines), len(lines)))
    return max(readings)


def golden_cards() -> list[tuple[str, dict[str, Any]]]:
    return [(f"{path.stem}:{card['source']['topic']['code']}", card)
            for path in GOLDEN for card in orjson.loads(path.read_bytes())]


def test_the_measure_counts_blocks_not_source_lines() -> None:
    assert measure("**What we saw**\n\n- a: 1\n- b: 2\n\nOne paragraph\nwrapped in the source.") == (55, 4)
    assert measure("x" * 901)[0] == 901


def test_there_are_golden_cards_to_walk() -> None:
    assert len(golden_cards()) > 100


@pytest.mark.parametrize(("name", "card"), golden_cards(), ids=lambda value: value if isinstance(value, str) else "")
def test_every_golden_card_fits_the_budget(name: str, card: dict[str, Any]) -> None:
    characters, lines = measure(card["detail"])
    assert characters <= MAX_CHARS, f"{name}: {characters} characters of rendered text"
    assert lines <= MAX_LINES, f"{name}: {lines} lines"


INTERNAL = re.compile(r"clinical-evidence\.md|verification\.md|terminology\.md|\bS[0-4]\b")


@pytest.mark.parametrize(("name", "card"), golden_cards(), ids=lambda value: value if isinstance(value, str) else "")
def test_every_golden_card_links_its_evidence_page_and_names_no_internal_source(
    name: str, card: dict[str, Any]
) -> None:
    card_id = card["source"]["topic"]["code"]
    # The golden cards are made with the default CDS_PUBLIC_BASE_URL (tests/conftest.py settings_for).
    assert card["links"][0] == {"label": "Evidence and caveats", "type": "absolute",
                                "url": f"http://127.0.0.1:8080/evidence/{card_id}"}, name
    text = " ".join([card["summary"], card["detail"], *(link["label"] for link in card["links"])])
    assert not INTERNAL.search(text), f"{name}: {INTERNAL.search(text)}"
    assert not re.search(r"&[a-z]+;|&#\d+;", card["detail"]), f"{name}: an HTML entity"
