"""The FHIR fields the readers of this package read, as types msgspec decodes request bytes into.

Why: a prefetch Observation carries meta, category, subject, performer, narrative and extensions the rules
never read; a general JSON parser builds a Python object for every one of them (and a Python walk then checked
their depth). Decoding into these TypedDicts (`api/decode.py`) builds only the fields below, skipping the rest
in C, and gives the readers the same plain dicts they read from a FHIR server's answer: one set of readers.

Tolerant, never wrong: a field that is an object here also accepts every other JSON value (`NotObject`), and a
list field also accepts an object or a scalar, so a resource of the wrong shape decodes exactly as sent and the
readers' own type checks make it "data not used", as before. A field the readers use MUST be listed here, or it
is silently absent; tests/unit/facts/test_wire.py checks, for generated and mutated bundles, that the facts from
this decoding equal those from a plain `orjson.loads`.
"""

from __future__ import annotations

from typing import Any, TypedDict

# Every JSON value but an object.
NotObject = str | int | float | bool | None | list[Any]
# Every JSON value but an array.
NotArray = str | int | float | bool | None | dict[str, Any]


class Coding(TypedDict, total=False):
    system: Any
    code: Any
    display: Any


class CodeableConcept(TypedDict, total=False):
    coding: list[Coding | NotObject] | NotArray
    text: Any


Concept = CodeableConcept | NotObject


class Quantity(TypedDict, total=False):
    value: Any
    comparator: Any
    unit: Any
    system: Any
    code: Any


class Range(TypedDict, total=False):
    low: Quantity | NotObject
    high: Quantity | NotObject


class Meta(TypedDict, total=False):
    lastUpdated: Any


class Component(TypedDict, total=False):
    """An Observation.component: read like the Observation's own value."""

    code: Concept
    valueQuantity: Quantity | NotObject
    valueCodeableConcept: Concept
    valueString: Any
    valueBoolean: Any
    valueRatio: Any
    interpretation: list[Concept] | NotArray
    dataAbsentReason: Concept
    referenceRange: list[Range | NotObject] | NotArray


class Resource(Component, total=False):
    """Any resource the facts layer or prefetch resolution reads: the union of the fields of each type."""

    resourceType: Any
    id: Any
    status: Any
    meta: Meta | NotObject
    # Patient
    birthDate: Any
    gender: Any
    # Observation (its value fields come from Component), DiagnosticReport
    effectiveDateTime: Any
    effectivePeriod: Any
    effectiveInstant: Any
    issued: Any
    method: Concept
    component: list[Component | NotObject] | NotArray
    # Condition
    clinicalStatus: Concept
    verificationStatus: Concept
    onsetDateTime: Any
    onsetAge: Any
    onsetPeriod: Any
    recordedDate: Any
    # Procedure, ImagingStudy
    performedDateTime: Any
    performedPeriod: Any
    statusReason: Concept
    procedureCode: list[Concept] | NotArray
    started: Any
    # Bundle (a prefetch value, or a page of a search): hooks/prefetch.py and fhir_client read these
    entry: list[Entry | NotObject] | NotArray
    link: Any


class Search(TypedDict, total=False):
    mode: Any


class Entry(TypedDict, total=False):
    resource: Resource | NotObject
    search: Search | NotObject
