"""What one call has read so far, and how a CodeableConcept is matched to concepts: shared by the readers.

Codes are matched with one dict lookup per coding, keyed by (system, code), built once at start-up by
`valuesets.load_valuesets`; anti-NXP2 (no standard code) is also recognised by its text.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Final

from cds_service.facts.model import (
    AntibodyResult,
    DataIssue,
    LabResult,
    Problem,
    ResourceRef,
    TestDeclined,
    TestDone,
)
from cds_service.facts.units import Conversion
from cds_service.facts.valuesets import ConceptKind, QuantityCutoffs, TextMatcher, ValueSets

ANTIBODY: Final = "anti-nxp2"
# The fast path's reading of a one-coding code (common_lab.py): (lab concept, its canonical unit, the per-call
# table unit as sent -> Conversion, None for an unknown unit), or (): not one lab concept.
LabCoding = tuple[str, str, dict[str, Conversion | None]] | tuple[()]


class Collector:
    """The facts of one patient as the readers find them; `build.build_facts` turns them into PatientFacts."""

    def __init__(self, valuesets: ValueSets, now: datetime, birth_date: date | None, sex: str | None) -> None:
        self.valuesets = valuesets
        self.kinds: Mapping[str, ConceptKind] = valuesets.kinds
        self.canonical_units: Mapping[str, str] = valuesets.units
        self.by_code = valuesets.by_code
        self.antibody_text: TextMatcher | None = valuesets.text_matchers.get(ANTIBODY)
        self.problem_text_concepts = tuple(
            name for name in valuesets.text_matchers if valuesets.kinds[name] == "problem"
        )
        self.cutoffs: QuantityCutoffs | None = valuesets.cutoffs(ANTIBODY)
        self.now = now
        self.birth_date = birth_date
        self.sex = sex
        self.antibodies: list[AntibodyResult] = []
        self.labs: list[LabResult] = []
        self.problems: list[Problem] = []
        # (stated onset, its source, recordedDate, ref) of each myositis Condition, for `onset.estimate_onset`
        self.myositis: list[tuple[datetime | None, str, datetime | None, ResourceRef]] = []
        self.tests_done: list[TestDone] = []
        self.tests_declined: list[TestDeclined] = []
        self.issues: list[DataIssue] = []
        # The fast path's decisions, once per distinct value in this call (common_lab.py): per (system, code) of a
        # one-coding code, its LabCoding; per lab concept, unit as sent -> Conversion (None: unknown unit).
        self.lab_codings: dict[tuple[str, str], LabCoding] = {}
        self.lab_conversions: dict[str, dict[str, Conversion | None]] = {}

    def match(self, codeable: Any) -> tuple[str, ...]:
        """Return the concepts of a CodeableConcept's codings: an exact (system, code) lookup first."""
        if not isinstance(codeable, dict):
            return ()
        codings = codeable.get("coding")
        if not isinstance(codings, list):
            return ()
        found: tuple[str, ...] = ()
        for coding in codings:
            if not isinstance(coding, dict):
                continue
            system = coding.get("system")
            code = coding.get("code")
            if not isinstance(system, str) or not isinstance(code, str):
                continue
            hit = self.by_code.get((system, code))
            if hit is None:
                hit = self.valuesets.lookup(system, code)  # aliases, ICD-10-CM dots, prefixes; remembered
            if hit:
                found = hit if not found else found + tuple(c for c in hit if c not in found)
        return found

    def of_kind(self, codeable: Any, kind: ConceptKind) -> list[str]:
        """The concepts of a CodeableConcept that are of one kind (a Condition's problems, a Procedure's tests)."""
        kinds = self.kinds
        return [c for c in self.match(codeable) if kinds[c] == kind]

    def names_antibody(self, codeable: Any) -> bool:
        """True when code.text or a coding.display names anti-NXP2 (it has no standard code)."""
        matcher = self.antibody_text
        if matcher is None:
            return False
        texts = texts_of(codeable)
        return bool(texts) and matcher.matches(texts)

    def problems_from_text(self, codeable: Any) -> tuple[list[str], str]:
        """The problem concepts a CodeableConcept's texts name (no code matched), and the text that named them."""
        texts = texts_of(codeable)
        if not texts:
            return [], ""
        found = [name for name in self.problem_text_concepts if self.valuesets.text_matchers[name].matches(texts)]
        return found, (texts[-1] if found else "")

    def problem_texts_excluded(self, codeable: Any, concepts: tuple[str, ...]) -> list[tuple[str, str]]:
        """(concept, text) for each concept a text names but an exclusion sets aside ("history of", "benign")."""
        texts = texts_of(codeable)
        matchers = self.valuesets.text_matchers
        found = [(name, matchers[name].excluded_by(texts)) for name in concepts if name in matchers] if texts else []
        return [(name, text) for name, text in found if text is not None]


def texts_of(codeable: Any) -> list[str]:
    """The coding displays and the text of a CodeableConcept, in that order (non-empty strings only)."""
    if not isinstance(codeable, dict):
        return []
    texts = []
    codings = codeable.get("coding")
    if isinstance(codings, list):
        for coding in codings:
            display = coding.get("display") if isinstance(coding, dict) else None
            if isinstance(display, str) and display:
                texts.append(display)
    text = codeable.get("text")
    if isinstance(text, str) and text:
        texts.append(text)
    return texts
