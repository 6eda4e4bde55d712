"""A small FHIR R4 REST client for one checked `fhirServer`: one session, budgets, limits, typed errors.

Every call gets a connect and a read timeout cut to what is left of one `Deadline`, and the deadline is
checked again between pages and while the body streams in. Redirects are never followed (a 3xx is an
error), bodies stop being read past the size limit, and `next` links are followed only on the
`fhirServer` origin, within page and entry limits. The bearer token is sent only to that origin: the
session's adapter refuses every other one (transport.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import urljoin

import orjson
import requests
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import ReadTimeoutError

from cds_service.fhir_client.errors import (
    FhirError,
    FhirInvalidResponse,
    FhirNotFound,
    FhirRefused,
    FhirTimeout,
    FhirTooLarge,
    FhirUnauthorized,
    FhirUnavailable,
)
from cds_service.fhir_client.policy import FhirPolicy, Target
from cds_service.fhir_client.transport import PinnedAdapter

ACCEPT = "application/fhir+json, application/json;q=0.9"
JSON_TYPES = frozenset({"application/fhir+json", "application/json", "application/json+fhir"})
CHUNK_BYTES = 65536

# urllib3 logs every request line, query string included (patient ids), at DEBUG: keep those lines out of
# our logs even when the service runs at DEBUG.
logging.getLogger("urllib3.connectionpool").setLevel(logging.INFO)


@dataclass(frozen=True)
class Limits:
    """How much one client may read: pages and entries per search, bytes per response.

    The FHIR client's own options: the service layer builds them from the settings (hooks/prefetch.py).
    """

    max_pages: int = 10
    max_entries: int = 5000
    max_response_bytes: int = 10_000_000
    connect_timeout_s: float = 1.0


class Deadline:
    """A point in time after which no more FHIR work is started or waited for."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._end = clock() + seconds

    def remaining(self) -> float:
        return max(0.0, self._end - self._clock())

    def check(self) -> float:
        """Return the seconds left; raise FhirTimeout when none are."""
        left = self.remaining()
        if left <= 0:
            raise FhirTimeout("the time budget for the FHIR server ran out")
        return left


@dataclass(frozen=True)
class SearchResult:
    """The entries of a searchset (all pages read), and why it stopped early if it did."""

    entries: tuple[Mapping[str, Any], ...]
    pages: int
    incomplete: str | None = None


def _entries(bundle: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    raw = bundle.get("entry")
    return [entry for entry in raw if isinstance(entry, Mapping)] if isinstance(raw, list) else []


def next_link(bundle: Mapping[str, Any]) -> str | None:
    """Return the Bundle's `next` link, if it has one."""
    links = bundle.get("link")
    for link in links if isinstance(links, list) else []:
        if isinstance(link, Mapping) and link.get("relation") == "next" and isinstance(link.get("url"), str):
            return str(link["url"])
    return None


def _raise_for_status(status: int) -> None:
    if status == 200:
        return
    if 300 <= status < 400:
        raise FhirRefused(f"the FHIR server answered with a redirect ({status}), which is never followed")
    if status in (401, 403):
        raise FhirUnauthorized(f"the FHIR server refused the access token ({status})")
    if status in (404, 410):
        raise FhirNotFound(f"the FHIR server has no such resource ({status})")
    if status in (408, 429) or status >= 500:
        raise FhirUnavailable(f"the FHIR server answered {status}")
    if 400 <= status < 500:
        raise FhirUnavailable(f"the FHIR server refused the query ({status})")
    raise FhirInvalidResponse(f"the FHIR server answered {status} instead of 200")


class FhirClient:
    """Read resources and searchsets from one checked FHIR server, with one `requests.Session`.

    Use it as a context manager, or call `close()`. The access token lives only in this object, for the
    length of one hook call; it is never logged (errors and reprs do not hold it).
    """

    def __init__(self, target: Target, access_token: str | None, limits: Limits, pool_size: int = 4) -> None:
        self.target = target
        self._limits = limits
        self._authorization = f"Bearer {access_token}" if access_token else None
        self._session = requests.Session()
        self._session.trust_env = False  # no proxies or .netrc credentials from the environment
        adapter = PinnedAdapter(target, pool_size)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

    def __repr__(self) -> str:
        return f"FhirClient({self.target.origin.url()})"

    def __enter__(self) -> FhirClient:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._session.close()

    def url(self, relative: str) -> str:
        """Return the absolute URL of a query relative to the FHIR base URL."""
        return f"{self.target.base_url}/{relative.lstrip('/')}"

    def read(self, url: str, deadline: Deadline, resource_type: str | None = None) -> dict[str, Any]:
        """Return the resource at `url` (absolute, on the target's origin).

        Raises:
            FhirError: one of its subclasses, naming what went wrong.
        """
        resource = self._get_json(url, deadline)
        kind = resource.get("resourceType")
        if kind == "OperationOutcome" and resource_type != "OperationOutcome":
            raise FhirInvalidResponse("the FHIR server answered with an OperationOutcome")
        if resource_type is not None and kind != resource_type:
            raise FhirInvalidResponse(f"the FHIR server answered with a {kind}, not a {resource_type}")
        return resource

    def search(
        self, url: str | None, deadline: Deadline, first: Mapping[str, Any] | None = None
    ) -> SearchResult:
        """Return every entry of a searchset, following `next` links within the limits and the deadline.

        With `first` (a page the client already has, e.g. from prefetch) only the pages after it are read.
        A failure on the first page raises; a failure on a later page, or a limit, ends the search with
        what was read so far and the reason in `incomplete`.

        Raises:
            FhirError: the first page could not be read.
        """
        page: Mapping[str, Any] = first if first is not None else self.read(str(url), deadline, "Bundle")
        page_url = url or self.target.base_url + "/"
        entries = _entries(page)
        pages, seen = 1, {page_url}
        while True:
            if len(entries) > self._limits.max_entries:
                return SearchResult(tuple(entries[: self._limits.max_entries]), pages,
                                    f"stopped at the limit of {self._limits.max_entries} entries")
            link = next_link(page)
            if link is None:
                return SearchResult(tuple(entries), pages)
            link = urljoin(page_url, link)
            if pages >= self._limits.max_pages:
                return SearchResult(tuple(entries), pages, f"stopped at the limit of {self._limits.max_pages} pages")
            if link in seen:
                return SearchResult(tuple(entries), pages, "the FHIR server's next link repeats a page")
            try:
                if not FhirPolicy.same_origin(link, self.target):
                    raise FhirRefused("a next link points to another origin than fhirServer")
                page = self.read(link, deadline, "Bundle")
            except FhirError as error:
                return SearchResult(tuple(entries), pages, error.reason)
            page_url = link
            seen.add(link)
            pages += 1
            entries.extend(_entries(page))

    def _get_json(self, url: str, deadline: Deadline) -> dict[str, Any]:
        if not FhirPolicy.same_origin(url, self.target):
            raise FhirRefused("a request to another origin than fhirServer was refused")
        left = deadline.check()
        headers = {"Accept": ACCEPT}
        if self._authorization:
            headers["Authorization"] = self._authorization
        try:
            response = self._session.get(
                url, headers=headers, allow_redirects=False, stream=True,
                timeout=(min(self._limits.connect_timeout_s, left), left),
            )
        except requests.Timeout:
            raise FhirTimeout("the FHIR server did not answer in time") from None
        except requests.RequestException:
            raise FhirUnavailable("the FHIR server cannot be reached") from None
        with response:
            _raise_for_status(response.status_code)
            media_type = response.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
            if media_type not in JSON_TYPES:
                raise FhirInvalidResponse("the FHIR server did not answer with FHIR JSON")
            body = self._read_body(response, deadline)
        try:
            resource = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise FhirInvalidResponse("the FHIR server's answer is not valid JSON") from None
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            raise FhirInvalidResponse("the FHIR server's answer is not a FHIR resource")
        return resource

    def _read_body(self, response: requests.Response, deadline: Deadline) -> bytes:
        limit = self._limits.max_response_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise FhirTooLarge(f"the FHIR server's answer is larger than {limit} bytes")
        body = bytearray()
        try:
            while True:
                deadline.check()
                # read1 returns what one receive brings, so a server that drips bytes cannot hold us
                # past the deadline by filling a large read slowly.
                chunk = response.raw.read1(CHUNK_BYTES, decode_content=True)
                if not chunk:
                    return bytes(body)
                body += chunk
                if len(body) > limit:
                    raise FhirTooLarge(f"the FHIR server's answer is larger than {limit} bytes")
        except ReadTimeoutError:
            raise FhirTimeout("the FHIR server did not answer in time") from None
        except (Urllib3Error, OSError):
            raise FhirUnavailable("the connection to the FHIR server broke") from None
