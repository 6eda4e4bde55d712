"""Typed patient facts: the only layer that knows FHIR shapes; everything after it is typed.

`model.py` is the one place that defines the facts (frozen dataclasses the rules read). `build.build_facts`
assembles them: it reads the Patient, sends every other resource to the reader of its type, then resolves
onset and growth. Which module reads what:

* `patient.py`       Patient: id, birthDate, gender; growth: BMI series (BMI Observations, or weight and height
                     taken close together) with BMI-for-age z (the LMS arithmetic is `growth.py`).
* `observations.py`  Observation and its components: status rules, numeric results (LabResult), anti-NXP2
                     results (AntibodyResult), coded findings (Problem).
* `common_lab.py`    the fast path: a laboratory Observation of the common shape (one lab code, a date-time, a
                     number in a known unit) read in one function, to the same facts; any other Observation
                     is read by `observations.py`.
* `values.py`        value[x] of an Observation or component: valueQuantity to the canonical unit (`units.py`),
                     referenceRange, ANA titres, limits and text; positivity from coded values, strings,
                     booleans, interpretation flags, ranges and cut-offs (vocabularies in `positivity.py`).
* `conditions.py`    Condition: Problem (verification and clinical status), the onset a myositis Condition states
                     (onsetDateTime, onsetAge, onsetPeriod).
* `tests_done.py`    Procedure (done, or not-done with a reason = declined), DiagnosticReport, ImagingStudy.
* `onset.py`         disease onset from the myositis Conditions, else the first positive anti-NXP2 result.
* `collector.py`     the per-call state the readers fill, and code matching (CodeableConcept -> concepts).
* `fhir_json.py`     small typed readers of FHIR JSON (strings, numbers, codings, dates of effective[x]).
* `valuesets.py`     loads cards/valuesets/<concept>.yaml: codes, and each concept's kind and canonical unit
                     (stated only there); `units.py` holds the unit conversion tables; `dates.py` FHIR dates.
"""
