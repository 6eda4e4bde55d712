"""A population worklist: every anti-NXP2 patient of an export, with the cards each one is due.

Reads a FHIR Bulk Data export (from a server through SMART Backend Services, or already on disk), finds the
candidate patients with DuckDB without holding the export in memory, and sends each one through the same
facts and rules path as a hook call (`hooks.evaluate.evaluate`), with one clock for the whole run.
"""
