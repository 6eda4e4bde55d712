"""Card `nxp2-adult-cancer-screening`: adult-onset anti-NXP2 myositis in the 3-year cancer window, no recent scan."""

from __future__ import annotations

from cds_service.facts.model import PatientFacts
from cds_service.rules.card_data import (
    LATER_NEGATIVE_NOTE,
    antibody_data,
    last_test_datum,
    later_negative_notes,
    myositis_datum,
    onset_datum,
    problem_datum,
)
from cds_service.rules.criteria import (
    TEST_SOURCES,
    declined_within,
    is_adult_onset,
    is_positive_myositis_patient,
    is_within,
    tests_within,
)
from cds_service.rules.gaps import data_gaps, onset_gaps
from cds_service.rules.registry import Datum, Finding, RuleContext, rule
from cds_service.rules.words import months_text, window_text

RULE_ID = "nxp2-adult-cancer-screening"
SCREEN_IMAGING = ("pet-ct", "ct-chest", "ct-abdomen-pelvis", "ct-neck")
# A CT screen covers at least the thorax, abdomen and pelvis; the neck is asked for in the card text.
CT_SCREEN = frozenset({"ct-chest", "ct-abdomen-pelvis"})
# Features the IMACS evidence base links to IIM cancer (Oldroyd 2021 meta-analysis), noted on the card.
RISK_FEATURES = ("dysphagia", "skin-ulcer")


def is_in_screening_window(facts: PatientFacts, ctx: RuleContext) -> bool:
    """Onset lies within the post-onset window where IMACS concentrates screening."""
    return facts.onset is not None and is_within(facts.onset.when, ctx.now, ctx.window("screening_window_after_onset"))


def recent_scans(facts: PatientFacts, ctx: RuleContext) -> tuple[Datum, ...]:
    return tuple(
        last_test_datum(t, ctx) for t in tests_within(facts, SCREEN_IMAGING, ctx.now, ctx.window("scan_lookback"))
    )


def has_recent_complete_screen(facts: PatientFacts, ctx: RuleContext) -> bool:
    """An FDG PET-CT, or CT of both chest and abdomen-pelvis, within the look-back."""
    done = {t.concept for t in tests_within(facts, SCREEN_IMAGING, ctx.now, ctx.window("scan_lookback"))}
    return "pet-ct" in done or done >= CT_SCREEN


def has_declined_screen(facts: PatientFacts, ctx: RuleContext) -> bool:
    return declined_within(facts, SCREEN_IMAGING, ctx.now, ctx.window("scan_lookback")) is not None


def has_active_malignancy(facts: PatientFacts) -> bool:
    return facts.has_current("malignancy")


def applies(facts: PatientFacts, ctx: RuleContext) -> bool:
    """Adult onset within the screening window, and no active cancer, recent full screen or refusal."""
    return (
        is_positive_myositis_patient(facts)
        and is_adult_onset(facts)
        and is_in_screening_window(facts, ctx)
        and not has_active_malignancy(facts)
        and not has_recent_complete_screen(facts, ctx)
        and not has_declined_screen(facts, ctx)
    )


def _notes(facts: PatientFacts, ctx: RuleContext) -> tuple[str, ...]:
    notes: list[str] = []
    onset_age = facts.onset_age()
    if onset_age is not None and onset_age > ctx.threshold("older_onset_age", "a"):
        notes.append("older-onset")
    notes += [concept for concept in RISK_FEATURES if facts.problems_of(concept)]
    if tests_within(facts, SCREEN_IMAGING, ctx.now, ctx.window("scan_lookback")):
        notes.append("partial-imaging")
    if facts.problems_of("malignancy"):
        notes.append("past-malignancy")
    notes += later_negative_notes(facts)
    if ctx.switch("site_treats_nxp2_as_imacs_high_risk"):
        notes.append("site-high-risk-policy")
    return tuple(notes)


def _data(facts: PatientFacts, ctx: RuleContext) -> tuple[Datum, ...]:
    data: list[Datum | None] = [*antibody_data(facts, ctx), myositis_datum(facts, ctx), onset_datum(facts)]
    scans = recent_scans(facts, ctx)
    if scans:
        data += scans
    else:
        last = facts.last_test(SCREEN_IMAGING)
        # What is missing is the whole screen (CT of chest plus abdomen-pelvis, or FDG PET-CT), not one test.
        data.append(last_test_datum(last, ctx) if last else Datum("CT chest, CT abdomen-pelvis or FDG PET-CT",
                                                                  "none on record"))
    for concept in (*RISK_FEATURES, "malignancy"):
        data += [problem_datum(p, ctx.title(concept)) for p in facts.problems_of(concept)]
    return tuple(d for d in data if d is not None)


@rule(
    RULE_ID,
    params={"screening_window_after_onset": "duration", "scan_lookback": "duration", "older_onset_age": "a"},
    switches=("site_treats_nxp2_as_imacs_high_risk",),
    notes=(
        "older-onset", "dysphagia", "skin-ulcer", "partial-imaging", "past-malignancy",
        LATER_NEGATIVE_NOTE, "site-high-risk-policy",
    ),
)
def adult_cancer_screening(facts: PatientFacts, ctx: RuleContext) -> Finding | None:
    """IMACS 2023 (Oldroyd et al.): screen adult-onset IIM for cancer, risk-stratified, within 3 years of onset.

    Evidence rows C1-C3, C5, C6, C9 (clinical-evidence.md 2a); guideline anchor 4.1.
    When: anti-NXP2 ever positive, a myositis diagnosis, onset at 18 or older and no longer ago than the
          screening window, no active malignancy, and neither an FDG PET-CT nor CT of chest plus
          abdomen-pelvis (nor a recorded refusal of one) within the scan look-back.
    Then: warning: review cancer screening with the IMACS panels; the card lists the patient's risk
          features (onset age over the catalogue threshold, dysphagia, skin ulcer) and never asserts an
          IMACS category for anti-NXP2 unless the site switch says so.
    """
    onset, onset_age = facts.onset, facts.onset_age()
    if onset is None or onset_age is None or not applies(facts, ctx):
        return None
    return Finding(
        rule_id=RULE_ID,
        data=_data(facts, ctx),
        values={
            "since_onset": months_text(ctx.now - onset.when),
            "onset_age": f"{onset_age:.0f}",
            "lookback": window_text(ctx, "scan_lookback"),
            "window": window_text(ctx, "screening_window_after_onset"),
        },
        notes=_notes(facts, ctx),
        gaps=(
            *data_gaps(facts, ctx, tests=SCREEN_IMAGING, problems=("malignancy",), prefetch_keys=TEST_SOURCES),
            *onset_gaps(facts),
        ),
    )
