"""Verification of CDS Client JWTs; pure functions of the header, settings and time (no Flask)."""
