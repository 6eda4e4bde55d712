"""Card `nxp2-ild-monitoring`: anti-NXP2 myositis with current ILD and no pulmonary function tests in the interval."""

from __future__ import annotations

from datetime import datetime

from cds_service.facts.model import PatientFacts, Problem
from cds_service.rules.card_data import (
    LATER_NEGATIVE_NOTE,
    antibody_data,
    last_test_datum,
    later_negative_notes,
    none_on_record,
    problem_datum,
)
from cds_service.rules.criteria import (
    TEST_SOURCES,
    is_adult_onset,
    is_juvenile_onset,
    is_positive_myositis_patient,
    tests_within,
)
from cds_service.rules.gaps import data_gaps
from cds_service.rules.registry import Datum, Finding, RuleContext, rule
from cds_service.rules.words import ago_text, months_text, window_text

RULE_ID = "nxp2-ild-monitoring"


def current_ild(facts: PatientFacts) -> tuple[Problem, ...]:
    return facts.problems_of("ild", current_only=True)


def ild_known_since(facts: PatientFacts) -> datetime | None:
    """The earliest onset (or recorded date) of a current ILD Condition; None when none is dated."""
    dates = [p.noted for p in current_ild(facts) if p.noted is not None]
    return min(dates, default=None)


def is_in_first_year(facts: PatientFacts, ctx: RuleContext) -> bool:
    """ILD known for no longer than the early phase; an undated ILD counts as past it (see gaps)."""
    since = ild_known_since(facts)
    return since is not None and ctx.now - since <= ctx.window("early_phase")


def pft_interval(facts: PatientFacts, ctx: RuleContext) -> str:
    """The name of the catalogue interval that applies now."""
    return "pft_interval_first_year" if is_in_first_year(facts, ctx) else "pft_interval_after_first_year"


def has_pft_in_interval(facts: PatientFacts, ctx: RuleContext) -> bool:
    return bool(tests_within(facts, ("pft",), ctx.now, ctx.window(pft_interval(facts, ctx))))


def is_in_age_group(facts: PatientFacts, ctx: RuleContext) -> bool:
    """Adults; juvenile onset only when the site switch includes it (ACR/CHEST adult wording)."""
    return is_adult_onset(facts) or (is_juvenile_onset(facts) and ctx.switch("include_juvenile_onset"))


def applies(facts: PatientFacts, ctx: RuleContext) -> bool:
    """A current ILD in the age group, and no PFT within the interval that applies now."""
    return (
        is_positive_myositis_patient(facts)
        and is_in_age_group(facts, ctx)
        and bool(current_ild(facts))
        and not has_pft_in_interval(facts, ctx)
    )


def _data(facts: PatientFacts, ctx: RuleContext) -> tuple[Datum, ...]:
    data: list[Datum] = [*antibody_data(facts, ctx), *(problem_datum(p, ctx.title("ild")) for p in current_ild(facts))]
    last_pft = facts.last_test(("pft",))
    data.append(last_test_datum(last_pft, ctx) if last_pft else none_on_record(ctx.title("pft")))
    last_ct = facts.last_test(("ct-chest",))
    if last_ct is not None:
        data.append(last_test_datum(last_ct, ctx))
    return tuple(data)


def _gaps(facts: PatientFacts, ctx: RuleContext) -> tuple[str, ...]:
    gaps = list(data_gaps(facts, ctx, tests=("pft", "ct-chest"), problems=("ild",), prefetch_keys=TEST_SOURCES))
    if ild_known_since(facts) is None:
        gaps.append("The ILD Condition has no onset or recorded date, so the after-first-year PFT interval was used.")
    return tuple(gaps)


@rule(
    RULE_ID,
    params={
        "early_phase": "duration",
        "pft_interval_first_year": "duration",
        "pft_interval_after_first_year": "duration",
    },
    switches=("include_juvenile_onset",),
    notes=(LATER_NEGATIVE_NOTE,),
)
def ild_monitoring(facts: PatientFacts, ctx: RuleContext) -> Finding | None:
    """ACR/CHEST 2023: monitor IIM-ILD with PFTs every 3-6 months in the first year, then less often once stable.

    Evidence rows I1, I7 (clinical-evidence.md 2b); guideline anchor 4.2.
    When: anti-NXP2 ever positive, a myositis diagnosis, adult onset (juvenile only by site switch),
          a current ILD Condition, and no PFT within the first-year interval (ILD known for no longer
          than the early phase) or the later interval (ILD older, or undated).
    Then: info card suggesting PFTs with spirometry, lung volumes and DLCO; HRCT when clinically indicated.
    """
    if not applies(facts, ctx):
        return None
    since = ild_known_since(facts)
    last_pft = facts.last_test(("pft",))
    return Finding(
        rule_id=RULE_ID,
        data=_data(facts, ctx),
        values={
            "interval": window_text(ctx, pft_interval(facts, ctx)),
            "ild_for": "an unknown time" if since is None else months_text(ctx.now - since),
            "last_pft": "none on record" if last_pft is None or last_pft.performed is None
            else ago_text(last_pft.performed, ctx.now),
        },
        notes=later_negative_notes(facts),
        gaps=_gaps(facts, ctx),
    )
