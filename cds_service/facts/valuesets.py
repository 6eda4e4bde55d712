"""Value sets: which codes mean which concept, loaded once at start-up from `cards/valuesets/<concept>.yaml`.

One file per concept name of the GUIDE (every name must have a file, and no other file may exist). A file
lists codes (system + code + display), each marked `confirmed` or `unconfirmed` as terminology.md and
verification.md section 5 say; CPT codes carry `licence: AMA CPT` so a site without a licence can drop
them (`load_valuesets(..., drop_licensed=True)`). A file may also name an ICD-10-CM code or block "and its
descendants" (`descendants:`, expanded at start-up from the shipped ICD-10-CM table, `icd10cm.py`; an unknown
code stops start-up), and text patterns on `code.text` and `coding.display`: anti-NXP2 has no LOINC code, and
a Condition coded only locally is recognised by its text (with exclusions: benign, history of, suspected...).
A site adds its own codes, descendants and patterns in these files, without a code change. The antibody file
holds the line-blot cut-off; `bmi.yaml` holds the growth settings. A bad file stops start-up with a
`ValueSetError` naming the file and the field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Final, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from cds_service.facts import icd10cm, units
from cds_service.support.yaml_files import load_yaml

ConceptKind = Literal["antibody", "lab", "problem", "test"]

LOINC: Final = "http://loinc.org"
SNOMED: Final = "http://snomed.info/sct"
ICD10CM: Final = "http://hl7.org/fhir/sid/icd-10-cm"
CPT: Final = "http://www.ama-assn.org/go/cpt"

# Other spellings of the same code systems seen in feeds (OIDs from HL7 v3/CDA, a trailing slash).
SYSTEM_ALIASES: Final[dict[str, str]] = {
    "urn:oid:2.16.840.1.113883.6.1": LOINC,
    "http://loinc.org/": LOINC,
    "urn:oid:2.16.840.1.113883.6.96": SNOMED,
    "http://snomed.info/sct/": SNOMED,
    "urn:oid:2.16.840.1.113883.6.90": ICD10CM,
    "urn:oid:2.16.840.1.113883.6.12": CPT,
}

# The concept names of the GUIDE: rules refer to them, so each must have a value-set file. What each one is
# (its `kind`) and, for a numeric one, its canonical `unit` are stated once, in that file.
CONCEPT_NAMES: Final = frozenset({
    "anti-nxp2",
    # numeric (kind: lab)
    "ck", "ast", "ferritin", "platelets", "triglycerides", "fibrinogen", "troponin-i", "troponin-t", "ck-mb",
    "cd4-cd8-ratio", "bmi", "body-weight", "body-height", "body-temperature", "cmas", "mmt8", "proximal-strength",
    "ana",
    # problems
    "myositis", "ild", "malignancy", "dysphagia", "dysphonia", "aspiration", "skin-ulcer", "oedema",
    "abdominal-pain", "gi-bleeding", "ileus", "gi-perforation", "pneumatosis", "bowel-wall-thickening", "mas",
    "myocarditis", "juvenile-dermatomyositis", "malignancy-history",
    # tests
    "ct-chest", "ct-abdomen-pelvis", "ct-neck", "pet-ct", "pft", "ecg", "echocardiogram", "swallow-study",
})

Text = Annotated[str, StringConstraints(min_length=1)]
KebabId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")]
SystemUri = Annotated[str, StringConstraints(pattern=r"^(https?|urn):[^\s]+$")]


class ValueSetError(ValueError):
    """A value-set file is missing, unreadable or invalid; the message names file and field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CodeEntry(_Strict):
    system: SystemUri
    code: Text
    display: Text
    status: Literal["confirmed", "unconfirmed"]
    source: Text | None = None  # where the code was seen, or why it is unconfirmed
    licence: Text | None = None  # "AMA CPT": a site without the licence drops these


class DescendantsEntry(_Strict):
    """An ICD-10-CM code (`M33`) or block (`C00-C96`) and every code below it (`icd10cm.expand`)."""

    system: Literal["http://hl7.org/fhir/sid/icd-10-cm"]
    code: Annotated[str, StringConstraints(pattern=r"^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?(-[A-Z][0-9][0-9A-Z])?$")]
    display: Text
    status: Literal["confirmed", "unconfirmed"]
    source: Text | None = None


def _compile(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as error:
        raise ValueError(f"not a valid regular expression: {error}") from None
    return pattern


Pattern = Annotated[str, StringConstraints(min_length=1)]


class TextPatterns(_Strict):
    """Case-insensitive patterns on `code.text` and `coding.display` for a concept with no standard code."""

    include: Annotated[list[Pattern], Field(min_length=1)]
    exclude: list[Pattern] = Field(default_factory=list)
    source: Text | None = None

    @field_validator("include", "exclude")
    @classmethod
    def _valid(cls, patterns: list[str]) -> list[str]:
        return [_compile(p) for p in patterns]


class QuantityCutoffs(_Strict):
    """Positivity of a numeric antibody result when the lab sent no reference range or interpretation."""

    units: list[str]  # normalised unit strings the cut-off applies to; "" = no unit
    positive_above: float
    equivocal_above: float | None = None
    source: Text

    def applies_to(self, unit: str) -> bool:
        """True when a value in `unit` is in the units the cut-off is stated in."""
        return units.normalise(unit) in {units.normalise(u) for u in self.units}


class GrowthSettings(_Strict):
    pair_within_days: int = Field(gt=0)  # weight and height taken at most this far apart make a BMI
    z_reference: Literal["who", "cdc"]  # WHO 2006 to 5 y then WHO 2007 to 19 y; or CDC 2000 (2-20 y)
    z_below_age: float = Field(gt=0, le=20)  # BMI-for-age z is computed for measurements before this age
    source: Text


class ValueSetFile(_Strict):
    concept: KebabId
    kind: ConceptKind
    title: Text
    unit: Text | None = None  # canonical unit of a lab concept (facts/units.py must convert it unchanged)
    codes: Annotated[list[CodeEntry], Field(min_length=1)]
    descendants: list[DescendantsEntry] = Field(default_factory=list)
    text: TextPatterns | None = None
    # A problem that shows the disease was present: its first date bounds an approximate onset (onset.py).
    marks_onset: bool = False
    cutoffs: QuantityCutoffs | None = None
    growth: GrowthSettings | None = None
    notes: list[Text] = Field(default_factory=list)


def normalise_code(system: str, code: str) -> str:
    """Return the lookup form of a code: ICD-10-CM without dots and in upper case, others trimmed."""
    if system == ICD10CM:
        return code.replace(".", "").strip().upper()
    return code.strip()


class TextMatcher:
    """Match display texts against a concept's include/exclude patterns, remembering each text seen."""

    def __init__(self, patterns: TextPatterns) -> None:
        self._include = re.compile("|".join(f"(?:{p})" for p in patterns.include), re.IGNORECASE)
        self._exclude = (
            re.compile("|".join(f"(?:{p})" for p in patterns.exclude), re.IGNORECASE) if patterns.exclude else None
        )
        # Display texts repeat across a patient's Observations: one regex run per distinct text.
        self._seen: dict[str, tuple[bool, bool]] = {}

    def _classify(self, text: str) -> tuple[bool, bool]:
        found = self._seen.get(text)
        if found is None:
            found = (
                self._include.search(text) is not None,
                self._exclude is not None and self._exclude.search(text) is not None,
            )
            if len(self._seen) < 4096:
                self._seen[text] = found
        return found

    def excluded_by(self, texts: Iterable[str]) -> str | None:
        """Return the text that names the concept but is excluded (a history of, benign...), else None."""
        for text in texts:
            hit, excluded = self._classify(text)
            if hit and excluded:
                return text
        return None

    def matches(self, texts: Iterable[str]) -> bool:
        """True when some text names the concept and none names an excluded one (a panel, another antibody)."""
        included = False
        for text in texts:
            hit, excluded = self._classify(text)
            if excluded:
                return False
            included = included or hit
        return included


@dataclass(frozen=True)
class ValueSets:
    """The loaded value sets, indexed for the request path."""

    files: Mapping[str, ValueSetFile]
    # concept -> kind and lab concept -> canonical unit, as the files state them (read per resource on the hot path)
    kinds: Mapping[str, ConceptKind]
    units: Mapping[str, str]
    # (system, normalised code) -> concepts: the hot path of facts.build is one dict lookup per coding.
    by_code: Mapping[tuple[str, str], tuple[str, ...]]
    text_matchers: Mapping[str, TextMatcher] = field(default_factory=dict)
    # Problem concepts whose first record bounds an approximate onset (`marks_onset: true`).
    onset_markers: frozenset[str] = frozenset()
    # Results of the slow path of `lookup`, per (system, code) as sent: feeds repeat the same few codes.
    _seen: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict, compare=False, repr=False)

    def kind(self, concept: str) -> ConceptKind:
        return self.kinds[concept]

    def lookup(self, system: str, code: str) -> tuple[str, ...]:
        """Return the concepts a coding belongs to (empty when none)."""
        found = self.by_code.get((system, code))
        if found is not None:
            return found
        key = (system, code)
        seen = self._seen.get(key)
        if seen is None:
            seen = self._lookup(system, code)
            if len(self._seen) < 4096:
                self._seen[key] = seen
        return seen

    def _lookup(self, system: str, code: str) -> tuple[str, ...]:
        system = SYSTEM_ALIASES.get(system, system)
        key = normalise_code(system, code) if system == ICD10CM else code
        return self.by_code.get((system, key), ())

    def cutoffs(self, concept: str) -> QuantityCutoffs | None:
        return self.files[concept].cutoffs

    @property
    def growth(self) -> GrowthSettings:
        settings = self.files["bmi"].growth
        assert settings is not None  # checked by load_valuesets
        return settings

    def unconfirmed(self) -> list[tuple[str, str, str]]:
        """Return (concept, system, code) of every unconfirmed code, for the start-up log."""
        return [
            (name, entry.system, entry.code)
            for name, file in self.files.items()
            for entry in file.codes
            if entry.status == "unconfirmed"
        ]


def _read(path: Path) -> ValueSetFile:
    try:
        raw: Any = load_yaml(path)
    except (OSError, yaml.YAMLError) as error:
        raise ValueSetError(f"{path}: cannot be read as YAML: {error}") from None
    try:
        return ValueSetFile.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise ValueSetError(f"{path}: field {where}: {first['msg']}") from None


def _check(file: ValueSetFile, path: Path) -> None:
    if file.concept != path.stem:
        raise ValueSetError(f"{path}: field concept: {file.concept!r} must match the file name {path.stem!r}")
    if file.concept not in CONCEPT_NAMES:
        raise ValueSetError(f"{path}: field concept: {file.concept!r} is not a concept name of the GUIDE")
    # facts/units.py has a conversion table exactly for the numeric concepts: the file's kind must agree.
    numeric = file.concept in units.numeric_concepts()
    if numeric and file.kind != "lab":
        raise ValueSetError(f"{path}: field kind: {file.concept!r} is a lab, not a {file.kind}")
    if not numeric and file.kind == "lab":
        raise ValueSetError(f"{path}: field kind: facts/units.py has no unit table for {file.concept!r}")
    expected_kind = file.kind
    if expected_kind == "lab" and file.unit is None:
        raise ValueSetError(f"{path}: field unit: a lab concept states its canonical unit")
    if expected_kind == "lab" and not units.converts_unchanged(file.concept, file.unit or ""):
        raise ValueSetError(
            f"{path}: field unit: {file.unit!r} is not a unit facts/units.py converts {file.concept} to unchanged"
        )
    if expected_kind != "lab" and file.unit is not None:
        raise ValueSetError(f"{path}: field unit: only numeric (lab) concepts have a unit")
    if expected_kind == "antibody" and (file.text is None or file.cutoffs is None):
        raise ValueSetError(f"{path}: field {'text' if file.text is None else 'cutoffs'}: an antibody needs it")
    if file.concept == "bmi" and file.growth is None:
        raise ValueSetError(f"{path}: field growth: the BMI value set holds the growth settings")
    if file.marks_onset and file.kind != "problem":
        raise ValueSetError(f"{path}: field marks_onset: only a problem marks onset")
    if file.concept != "bmi" and file.growth is not None:
        raise ValueSetError(f"{path}: field growth: only bmi.yaml holds growth settings")
    seen: set[tuple[str, str]] = set()
    for index, entry in enumerate(file.codes):
        key = (entry.system, normalise_code(entry.system, entry.code))
        if key in seen:
            raise ValueSetError(f"{path}: field codes.{index}: {entry.code!r} is listed twice")
        seen.add(key)


def load_valuesets(folder: Path, *, drop_licensed: bool = False, cache_dir: Path | None = None) -> ValueSets:
    """Load and check every `<concept>.yaml` in `folder` and index the codes, descendants expanded.

    `cache_dir` keeps the ICD-10-CM expansion between starts (default: `icd10cm.default_cache_dir()`).

    Raises:
        ValueSetError: naming the file and field of the first problem found.
    """
    if not folder.is_dir():
        raise ValueSetError(f"{folder}: value-set folder is missing")
    files: dict[str, ValueSetFile] = {}
    for path in sorted(folder.glob("*.yaml")):
        file = _read(path)
        _check(file, path)
        files[file.concept] = file
    missing = sorted(CONCEPT_NAMES - set(files))
    if missing:
        raise ValueSetError(f"{folder}: no value-set file for concept {missing[0]!r} ({missing[0]}.yaml)")

    by_code: dict[tuple[str, str], list[str]] = {}

    def index(name: str, system: str, code: str, where: str) -> None:
        owners = by_code.setdefault((system, normalise_code(system, code)), [])
        if name in owners:
            return
        if owners and ({files[o].kind for o in owners} | {files[name].kind}) - {"problem", "test"}:
            raise ValueSetError(
                f"{folder / (name + '.yaml')}: field {where}: {code!r} is also in "
                f"{owners[0]}.yaml; only problem and test concepts may share a code"
            )
        owners.append(name)

    for name, file in files.items():
        for index_, entry in enumerate(file.codes):
            if not (drop_licensed and entry.licence):
                index(name, entry.system, entry.code, f"codes.{index_}")
    expansion = _expand_descendants(folder, files, cache_dir)
    for name, file in files.items():
        for index_, root in enumerate(file.descendants):
            for code in expansion[root.code]:
                index(name, root.system, code, f"descendants.{index_}")
    return ValueSets(
        files=files,
        kinds={name: file.kind for name, file in files.items()},
        units={name: file.unit for name, file in files.items() if file.unit is not None},
        by_code={key: tuple(names) for key, names in by_code.items()},
        text_matchers={name: TextMatcher(file.text) for name, file in files.items() if file.text is not None},
        onset_markers=frozenset(name for name, file in files.items() if file.marks_onset),
    )


def _expand_descendants(
    folder: Path, files: Mapping[str, ValueSetFile], cache_dir: Path | None
) -> Mapping[str, tuple[str, ...]]:
    roots = {root.code: name for name, file in files.items() for root in file.descendants}
    try:
        return icd10cm.expand(roots, icd10cm.default_cache_dir() if cache_dir is None else cache_dir)
    except icd10cm.UnknownCode as error:
        raise ValueSetError(f"{folder / (roots[error.code] + '.yaml')}: field descendants: {error}") from None
