"""Card 8 `nxp2-jdm-cardiac-evaluation`: no ECG or echo since onset, or a raised troponin I, in anti-NXP2 JDM."""

from __future__ import annotations

from datetime import datetime

from cds_service.facts.model import LabResult, PatientFacts, TestDone
from cds_service.rules.card_data import (
    LATER_NEGATIVE_NOTE,
    declined_datum,
    lab_datum,
    later_negative_notes,
    population_data,
    test_done_datum,
)
from cds_service.rules.criteria import TEST_SOURCES, is_positive_jdm_patient, is_within
from cds_service.rules.gaps import unavailable_gaps, unusable_gaps
from cds_service.rules.registry import Datum, Finding, RuleContext, rule
from cds_service.rules.words import day, number, window_text

RULE_ID = "nxp2-jdm-cardiac-evaluation"
TROPONIN_I = "troponin-i"
CARDIAC_TESTS = ("ecg", "echocardiogram")


def cardiac_tests_since_onset(facts: PatientFacts) -> list[TestDone]:
    """Dated ECGs and echocardiograms performed on or after myositis onset."""
    if facts.onset is None:
        return []
    onset = facts.onset.when
    return [
        test for concept in CARDIAC_TESTS for test in facts.tests_of(concept)
        if test.performed is not None and test.performed >= onset
    ]


def has_cardiac_work_up_since_onset(facts: PatientFacts) -> bool:
    """True when an ECG or an echocardiogram is recorded since onset (the card asks for neither having been done)."""
    return bool(cardiac_tests_since_onset(facts))


def recent_troponin_i(facts: PatientFacts, ctx: RuleContext) -> list[LabResult]:
    """Usable troponin I results within the troponin window, newest first."""
    return [
        lab for lab in facts.results(TROPONIN_I)
        if lab.usable and lab.value is not None and is_within(lab.effective, ctx.now, ctx.window("troponin_window"))
    ]


def is_above_reference_range(lab: LabResult) -> bool:
    """True when the lab's own upper reference limit is exceeded (no range: not judged, see gaps)."""
    return lab.value is not None and lab.reference_high is not None and lab.value > lab.reference_high


def _gaps(facts: PatientFacts, ctx: RuleContext, troponins: list[LabResult]) -> tuple[str, ...]:
    gaps = [
        f"{ctx.title(TROPONIN_I)} on {day(lab.effective)} ({lab.ref.reference}) has no upper reference limit: "
        "not judged."
        for lab in troponins if lab.reference_high is None
    ]
    gaps += unusable_gaps(facts, TROPONIN_I, ctx.title(TROPONIN_I), ctx.now, ctx.window("troponin_window"))
    gaps += [
        f"{ctx.title(concept)} ({test.ref.reference}) has no performed date: not counted as done since onset."
        for concept in CARDIAC_TESTS for test in facts.tests_of(concept) if test.performed is None
    ]
    return tuple(gaps + unavailable_gaps(facts, TEST_SOURCES))


def raised_troponin_i(facts: PatientFacts, ctx: RuleContext) -> list[LabResult]:
    return [lab for lab in recent_troponin_i(facts, ctx) if is_above_reference_range(lab)]


def applies(facts: PatientFacts, ctx: RuleContext) -> bool:
    """Anti-NXP2 JDM with no ECG or echocardiogram since onset, or a raised troponin I in the window."""
    return is_positive_jdm_patient(facts) and (
        not has_cardiac_work_up_since_onset(facts) or bool(raised_troponin_i(facts, ctx))
    )


@rule(
    RULE_ID,
    params={"troponin_window": "duration"},
    escalations=("troponin-i-raised",),
    notes=("test-declined", LATER_NEGATIVE_NOTE),
)
def jdm_cardiac_evaluation(facts: PatientFacts, ctx: RuleContext) -> Finding | None:
    """SHARE 2017 diagnostic work-up: consider echocardiogram and ECG in every patient with JDM.

    Evidence: M3 (S2 Table II: myocardial damage 6/18 = 33.33% of anti-NXP2 JDM vs 0/20 adults,
    p = 0.007); M4 (CK-MB tracks skeletal muscle, so it is not used); terminology.md troponin note.

    When: anti-NXP2 positive, myositis on record, onset before 18, and either no ECG and no echocardiogram
          recorded since onset, or a troponin I above the lab's reference range within the troponin window
          (30 days). Troponin T and CK-MB are not used (skeletal-muscle cross-reactivity).
    Then: info card (ECG and echocardiogram); warning when troponin I is raised (add cardiology input).
    """
    if not applies(facts, ctx):
        return None
    troponins = recent_troponin_i(facts, ctx)
    raised = raised_troponin_i(facts, ctx)
    tests = cardiac_tests_since_onset(facts)

    data: list[Datum] = list(population_data(facts, ctx))
    if raised:
        data.append(lab_datum(raised[0], ctx.title(TROPONIN_I), "above the reference range"))
        if troponins[0] is not raised[0]:
            data.append(lab_datum(troponins[0], f"{ctx.title(TROPONIN_I)}, newest"))
    data += [test_done_datum(t, ctx.title(t.concept)) for t in tests]
    declined = [d for d in facts.tests_declined if d.concept in CARDIAC_TESTS]
    data += [declined_datum(d, ctx.title(d.concept)) for d in declined]
    onset: datetime | None = facts.onset.when if facts.onset else None
    return Finding(
        rule_id=RULE_ID,
        data=tuple(data),
        values={
            "onset": day(onset),
            "troponin": f"{number(raised[0].value or 0.0)} {raised[0].unit}" if raised else "",
            "troponin_date": day(raised[0].effective) if raised else "",
            "window": window_text(ctx, "troponin_window"),
        },
        escalation="troponin-i-raised" if raised else None,
        notes=(("test-declined",) if declined and not tests else ()) + later_negative_notes(facts),
        gaps=_gaps(facts, ctx, troponins),
    )
