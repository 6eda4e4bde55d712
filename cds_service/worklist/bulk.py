"""A FHIR Bulk Data client: kick-off, polling, download and cancel, with a SMART backend token.

Polling honours `Retry-After` (seconds or an HTTP date) and shows `X-Progress`; 429, 5xx and dropped
connections are retried with back-off (the server's `Retry-After` when it sends one); a 401 gets one new
token and one more try. The token goes only to the FHIR server's own origin: a file URL elsewhere (object
storage) is fetched without it, as the manifest's `requiresAccessToken: false` allows, or not at all.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import orjson
import requests

from cds_service.worklist.progress import Bars
from cds_service.worklist.smart import BackendAuth
from cds_service.worklist.source import MANIFEST

RETRIED = frozenset({429, 500, 502, 503, 504})
FHIR_JSON = "application/fhir+json"
TIMEOUT_S = (10, 120)  # connect, read (between bytes)


class BulkError(RuntimeError):
    """The export could not be kicked off, followed or fetched; the message says why (never a token)."""


@dataclass(frozen=True)
class Patience:
    """How long to keep trying: attempts per request, the back-off, and the whole wait for an export."""

    attempts: int = 6
    first_backoff_s: float = 1.0
    max_backoff_s: float = 60.0
    poll_s: float = 2.0  # between status polls when the server sends no Retry-After
    max_wait_s: float = 6 * 3600.0


def retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta-seconds or an HTTP date; None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc.lower()


def outcome_text(response: requests.Response) -> str:
    """The diagnostics of an OperationOutcome answer, or the start of the body, for an error message."""
    try:
        body = response.json()
        texts = [str(i.get("diagnostics") or i.get("details", {}).get("text") or "") for i in body.get("issue", [])]
        text = "; ".join(t for t in texts if t)
    except (ValueError, AttributeError, TypeError):
        text = response.text[:200] if response.text else ""
    return text[:300]


class BulkClient:
    def __init__(self, base: str, auth: BackendAuth | None, session: requests.Session, bars: Bars,
                 patience: Patience = Patience(), sleep: Callable[[float], None] = time.sleep) -> None:
        self.base = base.rstrip("/")
        self.auth = auth
        self.session = session
        self.bars = bars
        self.patience = patience
        self.sleep = sleep

    # --- one request, retried -----------------------------------------------------------------------------

    def send(self, method: str, url: str, *, token: bool = True, stream: bool = False,
             params: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None) -> requests.Response:
        """Send with retries on 429/5xx/connection errors and one token renewal on 401."""
        renewed = False
        last = "no answer"
        for attempt in range(self.patience.attempts):
            sent = dict(headers or {})
            if token and self.auth is not None:
                if _origin(url) != _origin(self.base):
                    raise BulkError(f"{url}: not on the FHIR server's origin; the access token is not sent there")
                sent["Authorization"] = f"Bearer {self.auth.token()}"
            try:
                response = self.session.request(method, url, params=params, headers=sent, stream=stream,
                                                timeout=TIMEOUT_S)
            except (requests.ConnectionError, requests.Timeout) as error:
                last = type(error).__name__
                self._back_off(attempt, None, f"{method} {_short(url)}: {last}")
                continue
            if response.status_code == 401 and token and self.auth is not None and not renewed:
                response.close()
                self.auth.renew()  # expired or revoked: one new token, one more try
                renewed = True
                continue
            if response.status_code in RETRIED:
                last = f"HTTP {response.status_code}"
                wait = retry_after(response.headers.get("Retry-After"), time.time())
                response.close()
                self._back_off(attempt, wait, f"{method} {_short(url)}: {last}")
                continue
            return response
        raise BulkError(f"{method} {_short(url)}: gave up after {self.patience.attempts} attempts ({last})")

    def _back_off(self, attempt: int, wait: float | None, why: str) -> None:
        if attempt + 1 >= self.patience.attempts:
            return
        if wait is None:
            wait = min(self.patience.first_backoff_s * 2**attempt, self.patience.max_backoff_s)
        wait = min(wait, self.patience.max_backoff_s)
        self.bars.note(f"{why}; retrying in {wait:.0f} s")
        self.sleep(wait)

    # --- the export ---------------------------------------------------------------------------------------

    def kickoff(self, types: Iterable[str], group: str | None = None, since: str | None = None) -> str:
        """Start a Group or Patient level export of `types`; return its status URL."""
        path = f"Group/{quote(group, safe='')}/$export" if group else "Patient/$export"
        params = {"_type": ",".join(sorted(types))}
        if since:
            params["_since"] = since
        response = self.send("GET", f"{self.base}/{path}", params=params,
                             headers={"Accept": FHIR_JSON, "Prefer": "respond-async"})
        location = response.headers.get("Content-Location")
        if response.status_code != 202 or not location:
            raise BulkError(f"the server refused the export ({path}): HTTP {response.status_code} "
                            f"{outcome_text(response)}".rstrip())
        return location

    def wait(self, status_url: str) -> dict[str, Any]:
        """Poll the status URL until the manifest comes; show X-Progress."""
        started = time.monotonic()
        interval = self.patience.poll_s
        while True:
            response = self.send("GET", status_url, headers={"Accept": "application/json"})
            if response.status_code == 200:
                try:
                    manifest = response.json()
                except ValueError:
                    manifest = None
                if not isinstance(manifest, dict) or not isinstance(manifest.get("output"), list):
                    raise BulkError(f"{_short(status_url)}: the export finished without a readable manifest")
                return manifest
            if response.status_code != 202:
                raise BulkError(f"{_short(status_url)}: the export failed: HTTP {response.status_code} "
                                f"{outcome_text(response)}".rstrip())
            progress = response.headers.get("X-Progress", "in progress")[:100]
            wait = retry_after(response.headers.get("Retry-After"), time.time())
            if wait is None:
                wait, interval = interval, min(interval * 1.5, 30.0)
            if time.monotonic() + wait - started > self.patience.max_wait_s:
                raise BulkError(f"{_short(status_url)}: not finished after {self.patience.max_wait_s:.0f} s; "
                                "follow it later with --resume")
            self.bars.note(f"export: {progress}; next check in {wait:.0f} s")
            self.sleep(wait)

    def cancel(self, status_url: str) -> bool:
        """DELETE the export (Ctrl-C); True when the server accepted."""
        try:
            response = self.send("DELETE", status_url)
        except BulkError:
            return False
        return response.status_code in (200, 202, 204)

    def download(self, manifest: Mapping[str, Any], folder: Path) -> Path:
        """Fetch every output and error file into `folder` and write the local manifest.json there."""
        folder.mkdir(parents=True, exist_ok=True)
        with_token = manifest.get("requiresAccessToken", True) is not False
        local: dict[str, Any] = {"transactionTime": manifest.get("transactionTime"), "output": [], "error": [],
                                 "failed": []}
        items = [("output", i) for i in manifest.get("output") or []]
        items += [("error", i) for i in manifest.get("error") or []]
        with self.bars.step("download", len(items), "files") as advance:
            for index, (kind, item) in enumerate(items):
                kind_of = str(item.get("type") or "") if isinstance(item, dict) else ""
                url = item.get("url") if isinstance(item, dict) else None
                if not isinstance(url, str):
                    local["failed"].append({"type": kind_of, "url": "", "reason": "no url in the manifest"})
                    advance()
                    continue
                name = f"{kind_of or 'file'}-{index:04d}.ndjson" if kind == "output" else f"errors-{index:04d}.ndjson"
                try:
                    saved = self._fetch(url, folder / name, with_token)
                except BulkError as error:
                    local["failed"].append({"type": kind_of if kind == "output" else "", "url": url,
                                            "reason": str(error)})
                else:
                    local[kind].append({"type": kind_of, "file": saved.name, "url": url})
                advance()
        (folder / MANIFEST).write_bytes(orjson.dumps(local, option=orjson.OPT_INDENT_2))
        return folder

    def _fetch(self, url: str, path: Path, with_token: bool) -> Path:
        """Stream one file to disk (gzip Content-Encoding undone by requests); a dropped stream is retried."""
        token = with_token and _origin(url) == _origin(self.base)
        if with_token and not token:
            raise BulkError(f"{_short(url)}: needs the access token but is not on the FHIR server's origin")
        for attempt in range(self.patience.attempts):
            response = self.send("GET", url, token=token, stream=True, headers={"Accept": "application/fhir+ndjson"})
            if response.status_code != 200:
                raise BulkError(f"{_short(url)}: HTTP {response.status_code} {outcome_text(response)}".rstrip())
            try:
                with path.open("wb") as out:
                    for chunk in response.iter_content(1 << 20):
                        out.write(chunk)
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError,
                    requests.exceptions.ContentDecodingError) as error:
                self._back_off(attempt, None, f"GET {_short(url)}: {type(error).__name__}")
                continue
            finally:
                response.close()
            with path.open("rb") as head:
                packed = head.read(2) == b"\x1f\x8b"  # a .ndjson.gz served as plain bytes: DuckDB unpacks it
            if packed:
                path = path.rename(path.with_name(path.name + ".gz"))
            return path
        raise BulkError(f"{_short(url)}: the download broke off {self.patience.attempts} times")


def _short(url: str) -> str:
    """A URL for messages: without its query (a pre-signed URL carries credentials there)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"
