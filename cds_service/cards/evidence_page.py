"""The evidence page of a card kind: its full basis, rendered from the catalogue entry as one HTML page.

A card's detail is short; everything it leaves out lives here: who the card is for and why, the full advice
with guideline panels and intervals, every evidence row with its table or section and grading, caveats,
what the card does not do, and when the entry was last reviewed. The page is built from the catalogue only,
never from a request, so it holds no patient data and can be cached, shared and printed. Plain HTML with
one inline style sheet (its hash goes into the Content-Security-Policy); no script.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from cds_service.cards.catalogue import Catalogue, RuleEntry

CSS = (
    "body{font:16px/1.5 system-ui,sans-serif;color:#1b1b1b;margin:0;background:#fff}"
    "main{max-width:60rem;margin:0 auto;padding:1.5rem}"
    "h1{font-size:1.6rem;margin:.2rem 0 .6rem}h2{font-size:1.2rem;margin-top:1.8rem;border-bottom:1px solid #ccc}"
    ".kicker,.meta{color:#555;font-size:.9rem}"
    "table{border-collapse:collapse;width:100%;font-size:.9rem}"
    "th,td{border:1px solid #bbb;padding:.35rem .5rem;text-align:left;vertical-align:top}"
    "th{background:#f0f0f0}a{color:#0b4f9c}"
    "@media print{body{font-size:11pt}main{max-width:none;padding:0}a{color:inherit}"
    "a[href^=http]::after{content:' (' attr(href) ')';font-size:.8em;word-break:break-all}"
    "tr,li{break-inside:avoid}h2{break-after:avoid}}"
)
CSS_HASH = "sha256-" + base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()
CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src '{CSS_HASH}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_ENVIRONMENT = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=select_autoescape(["html"], default=True),
    trim_blocks=False,
)
_UNIT_WORDS = {"h": "hours", "d": "days", "wk": "weeks", "mo": "months", "a": "years", "Cel": "°C",
               "10*3/uL": "x10^3/uL"}


def _indicators(entry: RuleEntry) -> str:
    shown: list[str] = [entry.card.indicator]
    shown += [f"{e.indicator} ({name.replace('-', ' ')})" for name, e in entry.escalations.items()
              if e.indicator != entry.card.indicator]
    return ", ".join(shown)


def _thresholds(entry: RuleEntry) -> list[tuple[str, str]]:
    rows = []
    for name, param in entry.params.items():
        # UCUM annotations such as {z-score} are unit-less numbers: show the number alone.
        unit = _UNIT_WORDS.get(param.unit, "" if param.unit.startswith("{") else param.unit)
        rows.append((name.replace("_", " "), f"{param.value:g} {unit}".strip()))
    rows += [(name.replace("_", " "), "on" if value else "off") for name, value in entry.switches.items()]
    return rows


def card_page(entry: RuleEntry, index_url: str) -> str:
    """The evidence page of one card kind."""
    links = list(entry.card.links)
    for escalation in entry.escalations.values():
        links += [link for link in escalation.links or () if link not in links]
    return _ENVIRONMENT.get_template("evidence.html").render(
        title=entry.title, entry=entry, css=CSS, indicators=_indicators(entry), thresholds=_thresholds(entry),
        links=links, index_url=index_url,
    )


def index_page(catalogue: Catalogue, index_url: str) -> str:
    """The list of every card kind's evidence page."""
    cards = sorted(catalogue.rules.values(), key=lambda entry: entry.id)
    return _ENVIRONMENT.get_template("evidence.html").render(
        title="All cards", entry=None, cards=cards, css=CSS, index_url=index_url
    )


def missing_page(index_url: str) -> str:
    """The 404 page for an id the catalogue does not have (the id is not repeated back)."""
    return _ENVIRONMENT.get_template("evidence.html").render(
        title="No such card", entry=None, cards=None, css=CSS, index_url=index_url
    )
