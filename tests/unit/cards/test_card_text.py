"""Card text reads well raw: escapes only where markdown needs them, no HTML entity, numbers as read."""

from __future__ import annotations

import itertools

import pytest

from cds_service.cards.render import clinical_value
from cds_service.cards.text import _INERT, MAX_CHARS, _escaped, escape_markdown


@pytest.mark.parametrize("text", [
    "Anti-NXP2 antibody", "24.7 kg/m2", "Dermatomyositis (active)", "AST > 48 U/L", "fibrinogen <= 360 mg/dL",
    "BMI-for-age z -2.32, WHO 2006/2007", "positive (Line blot (EUROLINE myositis profile))", "snake_case",
    "150 x10^3/uL", "incl. HRCT", "A & B", "37.9 °C", "1 of 4",
])
def test_ordinary_clinical_text_passes_through_unchanged(text: str) -> None:
    assert escape_markdown(text) == text


@pytest.mark.parametrize(("text", "escaped"), [
    ("<b>x</b>", "\\<b>x\\</b>"),  # raw HTML: a backslash, never &lt;
    ("&lt;b&gt;", "\\&lt;b\\&gt;"),  # an entity stays the literal characters
    ("**bold** _em_ `code` ~~s~~", "\\*\\*bold\\*\\* \\_em\\_ \\`code\\` \\~\\~s\\~\\~"),
    ("[a](https://x.org)", "\\[a\\](https:\u2060//x\\.org)"),
    ("- item", "\\- item"), ("# head", "\\# head"), ("> quote", "\\> quote"), ("1. one", "1\\. one"),
    ("see evil.example.org", "see evil\\.example\\.org"),
])
def test_markdown_syntax_is_escaped_where_it_would_act(text: str, escaped: str) -> None:
    assert escape_markdown(text) == escaped
    assert "&lt;" not in escape_markdown(text) or "&lt;" in text


@pytest.mark.parametrize(("value", "shown"), [
    ("38.6111 °C (reported as 38.6111 Cel)", "38.6 °C"),
    ("37 °C (reported as 98.6 [degF])", "37 °C (reported as 98.6 [degF])"),
    ("age 60.0 years, from onsetDateTime", "age 60 years"),
    ("age 16.5 years (approximate), from recordedDate", "age 16.5 years (approximate), from recordedDate"),
    ("BMI 12.50 kg/m2, BMI-for-age z -2.325", "BMI 12.5 kg/m2, BMI-for-age z -2.33"),
    ("1.39 (reported as 1.39 {ratio})", "1.39"), ("10 {score}", "10"), ("12345.6 ng/mL", "12345.6 ng/mL"),
])
def test_values_are_shown_rounded_as_a_clinician_reads_them(value: str, shown: str) -> None:
    assert clinical_value(value) == shown


def test_the_inert_shortcut_gives_what_every_rule_gives() -> None:
    """escape_markdown returns text `_INERT` matches unchanged: exactly what the full set of rules returns.

    Checked for every text of up to three characters drawn from the shortcut's characters and markdown's and
    linkifiers' syntax (about 30,000 texts): every rule looks at most one character around the one it escapes.
    """
    alphabet = "aA0 (),/%'-" + ".:_)#>+=*<&@\n[`!\\|~\u202e"
    for size in (1, 2, 3):
        for chars in itertools.product(alphabet, repeat=size):
            text = "".join(chars)
            assert escape_markdown(text) == _escaped(text, MAX_CHARS), repr(text)
    for text in ("12) x", "123456789) x", "1234567890) x", "9. x", "a" * MAX_CHARS, "a" * (MAX_CHARS + 1)):
        assert escape_markdown(text) == _escaped(text, MAX_CHARS), repr(text)


@pytest.mark.parametrize("text", ["Dermatomyositis (active)", "Creatine kinase", "2026-04-15", "age 52 years",
                                  "Anti-NXP2 antibody", "CK 1,200 U/L", "10%"])
def test_common_chart_text_takes_the_shortcut(text: str) -> None:
    assert _INERT.fullmatch(text) and escape_markdown(text) == text
