"""Card 6 `nxp2-jdm-gi-alarm`: facts in, finding out, with the catalogue's 14-day window."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from cds_service.facts.model import Onset
from tests.support.builders import (
    adult_onset_facts,
    antibody,
    data_issue,
    jdm_child_facts,
    param,
    problem,
    rule_context,
    run_rule,
)

RULE = "nxp2-jdm-gi-alarm"
WINDOW_DAYS = param(RULE, "sign_window").value  # 14 d in the catalogue


def test_the_catalogue_window_is_fourteen_days() -> None:
    assert rule_context(RULE).window("sign_window") == timedelta(days=14)


def test_abdominal_pain_three_days_ago_fires_with_the_sign_and_its_record() -> None:
    pain = problem("abdominal-pain", days=3, display="Abdominal pain")
    finding = run_rule(RULE, jdm_child_facts(pain))
    assert finding is not None
    assert finding.escalation is None  # the entry itself is critical
    assert finding.values == {"window": "14 days", "signs": "abdominal pain", "sign_date": "2026-11-21"}
    sign = finding.data[-1]
    assert (sign.label, sign.value, sign.ref) == ("Abdominal pain", "Abdominal pain (active)", pain.ref)
    assert [d.label for d in finding.data[:2]] == ["Anti-NXP2 antibody", "Myositis onset"]
    assert finding.notes == () and finding.gaps == ()


@pytest.mark.parametrize(
    ("concept", "words"),
    [
        ("abdominal-pain", "abdominal pain"),
        ("gi-bleeding", "GI bleeding"),
        ("ileus", "ileus"),
        ("gi-perforation", "GI perforation"),
        ("pneumatosis", "pneumatosis intestinalis"),
        ("bowel-wall-thickening", "bowel-wall oedema or thickening on imaging"),
    ],
)
def test_every_gi_warning_sign_fires(concept: str, words: str) -> None:
    finding = run_rule(RULE, jdm_child_facts(problem(concept, days=1)))
    assert finding is not None and finding.values["signs"] == words


def test_the_window_includes_its_last_day_and_excludes_the_next_hour() -> None:
    assert run_rule(RULE, jdm_child_facts(problem("abdominal-pain", days=WINDOW_DAYS))) is not None
    assert run_rule(RULE, jdm_child_facts(problem("abdominal-pain", days=WINDOW_DAYS + 1 / 24))) is None


def test_abdominal_pain_fifteen_days_ago_is_silent_even_if_still_active() -> None:
    assert run_rule(RULE, jdm_child_facts(problem("abdominal-pain", days=15, status="active"))) is None


def test_an_active_sign_recorded_this_week_fires_although_it_began_earlier() -> None:
    persisting = problem("abdominal-pain", days=20, recorded_days=2)
    finding = run_rule(RULE, jdm_child_facts(persisting))
    assert finding is not None and finding.values["sign_date"] == "2026-11-22"


def test_a_resolved_old_sign_entered_late_does_not_raise_the_alarm() -> None:
    assert run_rule(RULE, jdm_child_facts(problem("gi-bleeding", days=20, recorded_days=1, status="resolved"))) is None


def test_a_sign_resolved_within_the_window_still_fires_with_a_note() -> None:
    finding = run_rule(RULE, jdm_child_facts(problem("abdominal-pain", days=5, status="resolved")))
    assert finding is not None and finding.notes == ("all-resolved",)


def test_the_resolved_note_is_left_out_when_one_sign_is_current() -> None:
    facts = jdm_child_facts(problem("abdominal-pain", days=5, status="resolved"), problem("ileus", days=1))
    finding = run_rule(RULE, facts)
    assert finding is not None and finding.notes == ()
    assert finding.values["signs"] == "ileus, abdominal pain"  # most serious concept first


def test_a_resolved_sign_outside_the_window_is_silent() -> None:
    assert run_rule(RULE, jdm_child_facts(problem("abdominal-pain", days=15, status="resolved"))) is None


def test_signs_are_listed_once_per_concept_and_the_newest_date_is_shown() -> None:
    facts = jdm_child_facts(problem("abdominal-pain", days=9), problem("abdominal-pain", days=2))
    finding = run_rule(RULE, facts)
    assert finding is not None
    assert finding.values == {"window": "14 days", "signs": "abdominal pain", "sign_date": "2026-11-22"}
    assert len([d for d in finding.data if d.label == "Abdominal pain"]) == 2


def test_an_undated_sign_is_not_judged_and_is_named_when_another_sign_fires() -> None:
    undated = problem("gi-bleeding", days=None)
    assert run_rule(RULE, jdm_child_facts(undated)) is None
    finding = run_rule(RULE, jdm_child_facts(undated, problem("abdominal-pain", days=1)))
    assert finding is not None
    assert finding.gaps == (f"GI bleeding ({undated.ref.reference}) has no onset or recorded date: not judged.",)


def test_unreadable_gi_data_is_named_in_the_gaps() -> None:
    facts = jdm_child_facts(problem("abdominal-pain", days=1), data_issue("gi-bleeding", "unreadable onset date"))
    finding = run_rule(RULE, facts)
    assert finding is not None and finding.gaps[0].startswith("GI bleeding: unreadable onset date")


def test_other_problems_do_not_fire() -> None:
    assert run_rule(RULE, jdm_child_facts(problem("oedema", days=1), problem("skin-ulcer", days=1))) is None


def test_adult_onset_is_silent() -> None:
    assert run_rule(RULE, adult_onset_facts(problem("abdominal-pain", days=1))) is None


def test_juvenile_onset_but_now_an_adult_is_silent() -> None:
    # Onset at 16, now 19: the card is for children (current age < 18).
    facts = jdm_child_facts(problem("abdominal-pain", days=1), birth=date(2007, 6, 1), onset_days=3 * 365)
    assert run_rule(RULE, facts) is None


def test_a_child_who_turns_eighteen_tomorrow_still_gets_the_card() -> None:
    facts = jdm_child_facts(problem("abdominal-pain", days=1), birth=date(2008, 11, 26), onset_days=365)
    assert run_rule(RULE, facts) is not None


@pytest.mark.parametrize("result", ["negative", "equivocal", "unreadable"])
def test_a_result_that_is_not_positive_is_silent(result: str) -> None:
    facts = jdm_child_facts(problem("abdominal-pain", days=1), antibodies=(antibody(result),))
    assert run_rule(RULE, facts) is None


def test_a_positive_that_cannot_be_used_is_silent() -> None:
    facts = jdm_child_facts(problem("abdominal-pain", days=1), antibodies=(antibody(usable=False),))
    assert run_rule(RULE, facts) is None


def test_no_myositis_diagnosis_is_silent_even_with_an_onset_inferred_from_the_antibody() -> None:
    # build_facts estimates no onset without a myositis Condition, so the inferred onset is set by hand.
    facts = jdm_child_facts(problem("abdominal-pain", days=1), myositis=False)
    first = facts.antibodies[0]
    assert first.effective is not None
    facts = replace(facts, onset=Onset(first.effective, "first anti-NXP2 result", approximate=True, ref=first.ref))
    assert facts.onset is not None and facts.is_juvenile_onset() is True
    assert run_rule(RULE, facts) is None


def test_an_unknown_birth_date_is_silent() -> None:
    assert run_rule(RULE, jdm_child_facts(problem("abdominal-pain", days=1), birth=None)) is None


def test_a_resolved_myositis_diagnosis_still_counts() -> None:
    facts = jdm_child_facts(problem("abdominal-pain", days=1), myositis=problem("jdm", days=180, status="inactive"))
    assert run_rule(RULE, facts) is not None


def test_a_later_negative_antibody_is_shown_and_noted() -> None:
    results = (antibody(days=170), antibody("negative", days=30))
    finding = run_rule(RULE, jdm_child_facts(problem("abdominal-pain", days=1), antibodies=results))
    assert finding is not None and finding.notes == ("later-negative-antibody",)
    assert [d.value for d in finding.data[:2]] == ["positive", "negative"]
