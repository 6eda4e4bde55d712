"""Injection through patient data: no string from a request becomes markup, a link or an image in a card.

Checked with two real renderers: markdown-it-py (CommonMark + GFM tables, strikethrough, linkify, raw
HTML on) and cmark-gfm (GitHub's renderer with its autolink extension and raw HTML passed through, as
the public sandbox does). Renderer level: a card rendered with a payload in every request-derived
field must have exactly the markup of the same card rendered with plain text. End to end: every string
of every card of a response to a request carrying the payloads is checked; this becomes stronger as
card rules land, because the check walks all cards, whatever they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import cmarkgfm
import orjson
import pytest
from cmarkgfm.cmark import Options
from flask import Flask
from markdown_it import MarkdownIt
from markdown_it.token import Token

from cds_service.app import build_services, create_app
from cds_service.cards.render import render
from cds_service.cards.text import WORD_JOINER, escape_markdown, plain
from cds_service.facts.model import ResourceRef
from cds_service.protocol import Card
from cds_service.rules.registry import Datum, Finding
from cds_service.support.clock import FixedClock
from cds_service.support.ids import SequentialIds
from tests.conftest import NOW, TESTS, hook_request, settings_for
from tests.rules_for_tests import TEST_REGISTRY
from tests.security.tokens import record

PAYLOADS = [
    "<script>alert('evil')</script>",
    '<img src=x onerror="alert(\'evil\')">',
    "<a href='https://evil.example/a'>evil</a>",
    "<div>evil block</div>",
    "[click me](javascript:alert('evil'))",
    "[evil](https://evil.example/link \"title\")",
    "![evil image](https://evil.example/i.png)",
    "![evil][ref]\n\n[ref]: https://evil.example/ref.png",
    "<https://evil.example/autolink>",
    "<evil@evil.example>",
    "https://evil.example/bare",
    "www.evil.example/path",
    "evil.example.org",
    "javascript:alert('evil')",
    "JaVaScRiPt&colon;alert('evil')",
    "data:text/html;base64,PHNjcmlwdD5ldmlsPC9zY3JpcHQ+",
    "mailto:someone@evil.example",
    "someone@evil.example",
    "xmpp:someone@evil.example",
    "&lt;script&gt;alert('evil')&lt;/script&gt;",
    "&#60;img src=x onerror=alert('evil')&#62;",
    "&#x6A;avascript:alert('evil')",
    "`evil code` and ``evil ` code``",
    "```\nevil fenced code\n```",
    "    evil indented code",
    "**evil bold** _evil em_ ~~evil strike~~ *evil*",
    "evil\n# heading\n- item\n> quote\n---\n1. one",
    "evil\n===",
    "| evil | table |\n|---|---|\n| a | b |",
    "evil\u2028line\u2029separators\x85nel\x00nul\x1b[31mansi",
    "\u202eevil reversed\u202c and \u2066isolate\u2069",
    "$evil^2$ [^evil] \\[evil\\] \\*evil\\*",
    "evil" + "x" * 2000,
]
EVIL = re.compile(r"evil", re.IGNORECASE)

MARKDOWN = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
# linkify-it (fuzzy links such as `evil.example.org`) is slow in a large test process, so it checks the
# escaping function; renderer and end-to-end checks rely on cmark-gfm's autolink extension.
LINKIFY = MarkdownIt("commonmark", {"html": True, "linkify": True}).enable(["linkify", "table", "strikethrough"])
GFM = Options.CMARK_OPT_UNSAFE


def tokens(markdown: str, parser: MarkdownIt = MARKDOWN) -> Iterator[Token]:
    """Every markdown-it token of `markdown`, inline children included."""
    for token in parser.parse(markdown):
        yield token
        yield from token.children or ()


def structure(markdown: str) -> list[str]:
    """The markup of a markdown text without its words: markdown-it token types and cmark-gfm's HTML tags."""
    types = [t.type for t in tokens(markdown) if t.type not in {"text", "softbreak", "inline"}]
    tags = re.findall(r"</?[a-zA-Z][a-zA-Z0-9]*", cmarkgfm.github_flavored_markdown_to_html(markdown, options=GFM))
    return types + tags


def visible(markdown: str) -> str:
    """The text a reader sees (markdown-it), without the invisible word joiners."""
    return "".join(t.content for t in tokens(markdown) if t.type == "text").replace(WORD_JOINER, "")


def injected(markdown: str, parser: MarkdownIt = MARKDOWN) -> list[str]:
    """Markup that carries payload text: raw HTML, images, links or code made from request data."""
    parsed = list(tokens(markdown, parser))
    problems = [f"{t.type}: {t.content[:60]}" for t in parsed if t.type in {"html_inline", "html_block"}]
    problems += [f"image: {t.attrs}" for t in parsed if t.type == "image"]
    problems += [f"link: {t.attrs}" for t in parsed
                 if t.type == "link_open" and (EVIL.search(str(t.attrs["href"])) or "script" in str(t.attrs["href"]))]
    problems += [f"{t.type}: {t.content[:60]}" for t in parsed
                 if t.type in {"code_inline", "code_block", "fence"} and EVIL.search(t.content)]
    html = cmarkgfm.github_flavored_markdown_to_html(markdown, options=GFM)
    problems += [f"cmark-gfm: {tag}" for tag in re.findall(r"<(?:script|img|iframe|div|object|embed)\b[^>]*>", html)]
    problems += [f"cmark-gfm link: {href}" for href in re.findall(r'<a href="([^"]*)"', html)
                 if EVIL.search(href) or href.lower().startswith(("javascript", "data", "mailto", "xmpp"))]
    return problems


def unsafe_in_plain(text: str) -> list[str]:
    """What a plain-text field (summary, labels) must not hold: angle brackets, backticks, intact URLs."""
    problems = [char for char in "<>`" if char in text]
    problems += re.findall(r"(?i)(?:https?|javascript|data|mailto|xmpp):[^\s\u2060…]|www\.|\w@\w", text)
    return problems


# --- The escaping functions ------------------------------------------------------------------------


@pytest.mark.parametrize("payload", PAYLOADS, ids=range(len(PAYLOADS)))
def test_escaped_text_is_one_literal_paragraph(payload: str) -> None:
    escaped = escape_markdown(payload)
    assert structure(escaped) == structure("plain words")  # one paragraph, nothing else
    assert injected(escaped, LINKIFY) == [] and not [t for t in tokens(escaped, LINKIFY) if t.type == "link_open"]
    assert "\n" not in escaped and len(visible(escaped)) <= 500
    flat = re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+", " ", re.sub(r"[\u202a-\u202e\u2066-\u2069]", "", payload))
    assert visible(escaped) == flat.strip()[:499] + ("…" if len(flat.strip()) > 500 else "")


@pytest.mark.parametrize("payload", PAYLOADS, ids=range(len(PAYLOADS)))
def test_plain_text_has_no_markup_or_live_url(payload: str) -> None:
    assert unsafe_in_plain(plain(payload)) == []


# --- The renderer ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wired(tmp_path_factory: pytest.TempPathFactory) -> Any:
    settings = settings_for(tmp_path_factory.mktemp("render"), catalogue_dir=TESTS / "catalogue_for_tests")
    return build_services(settings, registry=TEST_REGISTRY)


def card_for(wired: Any, text: str, *, escalation: str | None = None) -> Card:
    """Render the test rule's card with `text` in every request-derived field of the finding."""
    finding = Finding(
        rule_id="test-born-before",
        data=(Datum(label=text, value=text, ref=ResourceRef("Observation", text)),
              Datum(label="Birth date", value=text, ref=ResourceRef("Patient", "p1"))),
        values={"year": text},
        escalation=escalation,
        gaps=(text, f"unreadable unit {text}"),
    )
    entry = wired.catalogue.rules["test-born-before"]
    service = wired.catalogue.service("test-service")
    return render(finding, entry, service, patient_id="p1", new_id=SequentialIds().new_id,
                  build_order=wired.orders.build, evidence_base=wired.evidence_base).card


@pytest.mark.parametrize("escalation", [None, "very-old"])
@pytest.mark.parametrize("payload", PAYLOADS, ids=range(len(PAYLOADS)))
def test_the_renderer_gives_payloads_no_markup(wired: Any, payload: str, escalation: str | None) -> None:
    control, attacked = card_for(wired, "plain words", escalation=escalation), card_for(wired, payload,
                                                                                     escalation=escalation)
    assert attacked.detail is not None and control.detail is not None
    assert structure(attacked.detail) == structure(control.detail)
    assert injected(attacked.detail) == []
    assert unsafe_in_plain(attacked.summary) == []
    assert [link.url for link in attacked.links or ()] == [link.url for link in control.links or ()]
    # Escaped, not lost: the reader sees the payload's text (flattened to one line).
    first_line = re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+", " ", payload).strip()[:40]
    first_line = re.sub(r"[\u202a-\u202e\u2066-\u2069]", "", first_line)
    assert first_line in visible(attacked.detail)


def test_the_checks_catch_unescaped_text(wired: Any) -> None:
    """The control: the same checks fail on text that was not escaped."""
    raw = "- value: " + " ".join(PAYLOADS[i] for i in (1, 5, 6, 17))
    problems = injected(raw)
    assert any(p.startswith("html_inline") for p in problems)
    assert any(p.startswith("image") for p in problems)
    assert any(p.startswith("cmark-gfm link: mailto") for p in problems)
    assert any(p.startswith("link:") for p in problems)
    assert unsafe_in_plain("see https://evil.example or someone@evil.example") != []
    assert structure("- value: **x**") != structure("- value: x")


# --- End to end ------------------------------------------------------------------------------------


def card_strings(card: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """Every (path, string) of a card, `resource` of suggestions excluded (FHIR data, not display text)."""
    stack: list[tuple[str, Any]] = [("card", card)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            stack.extend((f"{path}.{key}", item) for key, item in value.items() if key != "resource")
        elif isinstance(value, list):
            stack.extend((f"{path}[{index}]", item) for index, item in enumerate(value))
        elif isinstance(value, str):
            yield path, value


def check_cards(cards: list[dict[str, Any]]) -> list[str]:
    problems: list[str] = []
    for card in cards:
        for path, text in card_strings(card):
            if path.endswith(".detail"):
                problems += [f"{path}: {p}" for p in injected(text)]
            elif path.endswith((".url", ".uuid", ".system", ".code", ".indicator", ".type", ".selectionBehavior")):
                if EVIL.search(text) or "script" in text.lower():
                    problems.append(f"{path}: request data in a URL or code: {text[:60]}")
            else:
                problems += [f"{path}: {p}" for p in unsafe_in_plain(text) if EVIL.search(text)]
    return problems


def payload_prefetch(payload: str, patient_id: str) -> dict[str, Any]:
    """A full patient-view prefetch whose every free-text field carries `payload`."""
    ref = {"reference": f"Patient/{patient_id}", "display": payload}
    concept = {"text": payload, "coding": [{"system": "http://loinc.org", "code": "2157-6", "display": payload}]}

    def bundle(*resources: dict[str, Any]) -> dict[str, Any]:
        return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}

    return {
        "patient": {"resourceType": "Patient", "id": patient_id, "birthDate": "1950-03-04", "gender": "female",
                    "name": [{"text": payload, "given": [payload], "family": payload}],
                    "telecom": [{"system": "email", "value": payload}]},
        "observations": bundle(
            {"resourceType": "Observation", "id": "o1", "status": "final", "code": concept, "subject": ref,
             "effectiveDateTime": "2026-11-01", "valueQuantity": {"value": 9000, "unit": payload, "code": "U/L",
                                                                  "system": "http://unitsofmeasure.org"},
             "note": [{"text": payload}], "interpretation": [{"text": payload}]},
            {"resourceType": "Observation", "id": "o2", "status": "final", "subject": ref,
             "code": {"text": "anti-NXP2 antibody " + payload}, "effectiveDateTime": "2026-10-01",
             "valueString": payload},
        ),
        "conditions": bundle(
            {"resourceType": "Condition", "id": "c1", "subject": ref, "code": concept, "note": [{"text": payload}],
             "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                            "code": "active"}]}, "onsetDateTime": "2025-01-01"},
        ),
        "procedures": bundle({"resourceType": "Procedure", "id": "pr1", "status": "completed", "subject": ref,
                              "code": concept, "note": [{"text": payload}], "performedDateTime": "2026-01-01"}),
        "diagnosticReports": bundle({"resourceType": "DiagnosticReport", "id": "d1", "status": "final",
                                     "subject": ref, "code": concept, "conclusion": payload,
                                     "effectiveDateTime": "2026-01-01"}),
        "imagingStudies": bundle({"resourceType": "ImagingStudy", "id": "i1", "status": "available",
                                  "subject": ref, "description": payload, "started": "2026-01-01"}),
    }


@pytest.fixture(scope="module")
def real_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """The real catalogue and rules (development mode): its cards are what EHRs will show."""
    return create_app(settings_for(tmp_path_factory.mktemp("real")), clock=FixedClock(NOW), ids=SequentialIds())


@pytest.fixture(scope="module")
def test_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    settings = settings_for(tmp_path_factory.mktemp("test"), catalogue_dir=TESTS / "catalogue_for_tests")
    return create_app(settings, registry=TEST_REGISTRY, clock=FixedClock(NOW), ids=SequentialIds())


@pytest.mark.parametrize("payload", PAYLOADS, ids=range(len(PAYLOADS)))
def test_no_card_string_of_the_real_service_carries_markup_from_the_request(
    real_app: Flask, payload: str
) -> None:
    record(payload)
    body = hook_request(prefetch=payload_prefetch(payload, "p1"))
    response = real_app.test_client().post("/cds-services/nxp2-myositis", data=orjson.dumps(body),
                                           content_type="application/json")
    assert response.status_code == 200, response.json
    assert check_cards(response.json["cards"]) == []


@pytest.mark.parametrize("payload", PAYLOADS, ids=range(len(PAYLOADS)))
def test_a_patient_id_payload_is_refused_or_reaches_the_test_card_escaped(test_app: Flask, payload: str) -> None:
    record(payload)
    prefetch = payload_prefetch(payload, payload)
    body = hook_request(prefetch={"patient": prefetch["patient"], "observations": prefetch["observations"]},
                        context={"userId": "Practitioner/1", "patientId": payload})
    response = test_app.test_client().post("/cds-services/test-service", data=orjson.dumps(body),
                                      content_type="application/json")
    if not re.fullmatch(r"[A-Za-z0-9\-.]{1,64}", payload):
        # Not a FHIR id: a malformed request, refused without repeating the value.
        assert response.status_code == 400, response.json
        assert "context.patientId" in response.json["issue"][0]["diagnostics"]
        assert payload.encode() not in response.data
        return
    assert response.status_code == 200, response.json
    (card,) = response.json["cards"]
    assert check_cards([card]) == []
    assert visible(escape_markdown("Patient/" + payload))[:38] in visible(card["detail"])
