"""Test infrastructure that is not pytest-specific: a real FHIR server (sekmet) and a fault-injecting server."""
