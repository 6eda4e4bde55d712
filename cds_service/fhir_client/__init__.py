"""A small FHIR R4 REST client (one session, timeouts, same-origin paging, typed errors); see client.py."""
