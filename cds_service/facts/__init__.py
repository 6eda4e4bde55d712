"""Typed patient facts: the only layer that knows FHIR shapes (build.py); everything after it is typed."""
