"""Prefetch templates: check them against the CDS Hooks 2.0 query subset, and expand their tokens.

The subset (spec section "Prefetch query restrictions"): instance `read`, type-level `search` with
reference and token parameters (equality, optionally `:in`), date parameters with the prefixes eq, lt,
gt, ge, le, `_count` and `_sort`; tokens are `{{context.<field>}}` or the four user tokens. Relative date
tokens such as `{{today()}}` are not 2.0: fetch a wider set and filter dates in the service.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

TOKEN = re.compile(r"\{\{([^{}]*)\}\}")
CONTEXT_TOKEN = re.compile(r"^context\.([A-Za-z][A-Za-z0-9]*)$")
USER_TOKENS = {
    "userPractitionerId": "Practitioner",
    "userPractitionerRoleId": "PractitionerRole",
    "userPatientId": "Patient",
    "userRelatedPersonId": "RelatedPerson",
}
RESOURCE_TYPE = re.compile(r"^[A-Z][A-Za-z]+$")
REFERENCE = re.compile(r"^([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})$")
PARAM_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9-]*$")
SORT_VALUE = re.compile(r"^-?_?[a-zA-Z][a-zA-Z0-9-]*(,-?_?[a-zA-Z][a-zA-Z0-9-]*)*$")
INCLUDE_VALUE = re.compile(r"^[A-Z][A-Za-z]+:[a-zA-Z][a-zA-Z0-9-]*(:[A-Z][A-Za-z]+)?$")
# FHIR search prefixes outside the subset's eq, lt, gt, ge, le.
OTHER_PREFIXES = re.compile(r"^(ne|sa|eb|ap)\d")
PLACEHOLDER = "TOKEN"


class TemplateError(ValueError):
    """A prefetch template is outside the CDS Hooks 2.0 query subset; the message says why."""


@dataclass(frozen=True)
class Query:
    """What a template asks for: a read of one resource or a search of one type."""

    kind: Literal["read", "search"]
    resource_type: str | None  # None for a whole-template token such as {{context.userId}}


def _check_token(name: str, template: str) -> None:
    if CONTEXT_TOKEN.match(name) or name in USER_TOKENS:
        return
    raise TemplateError(
        f"{template!r}: token {{{{{name}}}}} is not a context field or user token of CDS Hooks 2.0 "
        "(no date expressions such as today())"
    )


def _check_parameter(name: str, value: str, template: str) -> None:
    base, _, modifier = name.partition(":")
    if base == "_count":
        ok = value.isdigit() or value == PLACEHOLDER
    elif base == "_sort":
        ok = bool(SORT_VALUE.match(value))
    elif base == "_include":
        ok = bool(INCLUDE_VALUE.match(value))
    elif base == "_id":
        ok = True
    elif base.startswith("_") or "." in base or not PARAM_NAME.match(base):
        raise TemplateError(f"{template!r}: parameter {name!r} is outside the CDS Hooks 2.0 query subset")
    else:
        ok = not OTHER_PREFIXES.match(value)
    if modifier and (base.startswith("_") or modifier != "in"):
        raise TemplateError(f"{template!r}: modifier :{modifier} is outside the subset (only :in on tokens)")
    if not ok or not value:
        raise TemplateError(f"{template!r}: value {value!r} of {name!r} is outside the CDS Hooks 2.0 query subset")


@functools.lru_cache(maxsize=256)
def check_template(template: str) -> Query:
    """Return what the template asks for; raise TemplateError when it is outside the query subset.

    Cached: the templates are the catalogue's few constant strings, read on every request.
    """
    for name in TOKEN.findall(template):
        _check_token(name, template)
    if "/{{context.userId}}" in template:
        raise TemplateError(f"{template!r}: context.userId already holds Type/id; use {{{{context.userId}}}} alone")
    plain = TOKEN.sub(PLACEHOLDER, template)
    if "{" in plain or "}" in plain or "#" in plain or any(ch.isspace() for ch in plain):
        raise TemplateError(f"{template!r}: stray braces, a fragment or white space")
    if plain == PLACEHOLDER:
        return Query("read", None)  # e.g. {{context.userId}}, which already holds Type/id
    path, question, query = plain.partition("?")
    if not question:
        match = re.match(r"^([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})$", path)
        if not match:
            raise TemplateError(f"{template!r}: a read must be ResourceType/id")
        return Query("read", match.group(1))
    if not RESOURCE_TYPE.match(path) or not query:
        raise TemplateError(f"{template!r}: a search must be ResourceType?parameters")
    for part in query.split("&"):
        name, equals, value = part.partition("=")
        if not equals:
            raise TemplateError(f"{template!r}: parameter {part!r} has no value")
        _check_parameter(name, value, template)
    return Query("search", path)


def _user_token(name: str, context: Mapping[str, Any]) -> str | None:
    user = context.get("userId")
    match = REFERENCE.match(user) if isinstance(user, str) else None
    if match is None or match.group(1) != USER_TOKENS[name]:
        return None
    return match.group(2)


def _token_value(name: str, context: Mapping[str, Any]) -> str | None:
    if name in USER_TOKENS:
        return _user_token(name, context)
    field = CONTEXT_TOKEN.match(name)
    value = context.get(field.group(1)) if field else None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None  # only root-level primitives can be tokens
    return str(value)


def expand(template: str, context: Mapping[str, Any]) -> str | None:
    """Return the query with its tokens filled from the hook context; None when a token has no value."""
    values = {name: _token_value(name, context) for name in TOKEN.findall(template)}
    if any(value is None or value == "" for value in values.values()):
        return None
    if TOKEN.fullmatch(template):
        whole = next(iter(values.values()))
        return whole if whole is not None and REFERENCE.match(whole) else None
    return TOKEN.sub(lambda m: quote(str(values[m.group(1)]), safe=""), template)


def reference_of(query: str) -> tuple[str, str] | None:
    """Return (type, id) of an expanded read query such as `Patient/123`, else None."""
    match = REFERENCE.match(query)
    return (match.group(1), match.group(2)) if match else None
