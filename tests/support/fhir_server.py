"""Start a real FHIR R4 server (sekmet-fhir) on loopback, load a Bundle into it, and stop it.

Used by the integration tests (tests/integration/conftest.py) and by `scripts/fhir_server.py` (`make
fhir-server`, for a local demo). Standard library only and no pytest import, so it can be imported from
anywhere; it lives under tests/ rather than in the cds_service package because it is test and demo
tooling that production must not ship.

sekmet is installed into its own virtual environment (`.venv-fhir/`, at the versions pinned in
fhir-server-requirements.lock, with uv when there is one, else pip) so its dependency pins never meet ours.
Its settings file sets `base_url` to the real host and port (its
paging links are built from it), turns its workflow simulator off and, when a token is given, accepts
only that bearer token.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]
LOCK = Path(__file__).with_name("fhir-server-requirements.lock")
VENV = PROJECT_ROOT / ".venv-fhir"
INSTALLED_MARKER = ".installed"

# Loopback only: never let a proxy from the environment carry our test traffic.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class FhirServerError(RuntimeError):
    """The FHIR server could not be installed, started or loaded; the message says why."""


def is_installed(venv: Path = VENV) -> bool:
    return (venv / "bin" / "sekmet").exists() and (venv / INSTALLED_MARKER).exists()


def _uv() -> str | None:
    """uv as `make` found or installed it (UV), on PATH, or bootstrapped into .uv/; None: use pip."""
    candidates = [os.environ.get("UV"), shutil.which("uv"), str(PROJECT_ROOT / ".uv" / "bin" / "uv")]
    return next((c for c in candidates if c and Path(c).is_file() and os.access(c, os.X_OK)), None)


def ensure_installed(venv: Path = VENV) -> Path:
    """Return the `sekmet` executable, creating `venv` and installing the locked sekmet-fhir into it if needed."""
    executable = venv / "bin" / "sekmet"
    if is_installed(venv):
        return executable
    uv = _uv()
    if uv:
        env = os.environ | {"UV_PYTHON_DOWNLOADS": "never"}
        commands = [[uv, "venv", "-q", "--allow-existing", "--python", sys.executable, str(venv)],
                    [uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), "-r", str(LOCK)]]
    else:
        env = dict(os.environ)
        commands = [[sys.executable, "-m", "venv", str(venv)],
                    [str(venv / "bin" / "pip"), "install", "-q", "-r", str(LOCK)]]
    for command in commands:
        subprocess.run(command, check=True, env=env, preexec_fn=die_with_parent)
    (venv / INSTALLED_MARKER).touch()
    return executable


try:  # looked up once here: a child between fork and exec should do as little as it can
    _PRCTL: Any = ctypes.CDLL(None).prctl
except (OSError, AttributeError):
    _PRCTL = None


def die_with_parent() -> None:
    """In a child before exec: get SIGTERM when the thread that started it ends (Linux PR_SET_PDEATHSIG), so
    a killed test run or `make run` leaves no server behind. Does nothing where prctl is missing."""
    if _PRCTL is not None:
        _PRCTL(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that is free on `host` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class FhirServer:
    """One sekmet FHIR server, on 127.0.0.1 unless `host` says otherwise. `with FhirServer(token="t") as server:`."""

    def __init__(self, token: str | None = "test-token", port: int | None = None,
                 data_dir: Path | None = None, venv: Path = VENV, host: str = "127.0.0.1",
                 public_base_url: str | None = None) -> None:
        self.token = token
        self.host = host
        self.port = port or free_port(self.host)
        # The URL clients use (sekmet builds its paging links from it); in a container it names the service
        # (http://fhir:8090/fhir), while loading and the readiness check go to the local address.
        self.base_url = public_base_url or f"http://{self.host}:{self.port}/fhir"
        self.local_url = f"http://127.0.0.1:{self.port}/fhir"
        self._venv = venv
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._data_dir = data_dir
        self._process: subprocess.Popen[bytes] | None = None

    def settings(self, data_dir: Path) -> dict[str, Any]:
        """Return sekmet's settings (written as JSON, which is YAML)."""
        auth = {"types": ["bearer"], "tokens": [self.token]} if self.token else {"types": ["none"]}
        return {
            "base_url": self.base_url,
            "host": self.host,
            "port": self.port,
            "data_dir": str(data_dir),
            "simulator": {"enabled": False},
            "server_auth": auth,
            "log_inbound": False,
        }

    def start(self, timeout_s: float = 60.0) -> FhirServer:
        """Start the server and wait until `GET /metadata` answers 200."""
        executable = ensure_installed(self._venv)
        if self._data_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="sekmet-")
            self._data_dir = Path(self._tmp.name)
        self._data_dir.mkdir(parents=True, exist_ok=True)
        settings_file = self._data_dir / "settings.yaml"
        settings_file.write_text(json.dumps(self.settings(self._data_dir), indent=2))
        log = (self._data_dir / "server.log").open("wb")
        env = {k: v for k, v in os.environ.items() if not k.startswith("SEKMET_")}
        self._process = subprocess.Popen(
            [str(executable), "serve", "--config", str(settings_file)],
            cwd=self._data_dir, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
            preexec_fn=die_with_parent,
        )
        log.close()
        self._wait_ready(timeout_s)
        return self

    def _wait_ready(self, timeout_s: float) -> None:
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            if self._process is not None and self._process.poll() is not None:
                raise FhirServerError(f"the FHIR server exited at start:\n{self.log_tail()}")
            try:
                with _OPENER.open(f"{self.local_url}/metadata", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        self.stop()
        raise FhirServerError(f"the FHIR server was not ready within {timeout_s} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        path = (self._data_dir or Path()) / "server.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """Send one request with the server's token; return (status, parsed JSON body)."""
        headers = {"Accept": "application/fhir+json", "Content-Type": "application/fhir+json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = json.dumps(body).encode() if body is not None else None
        url = path if path.startswith("http") else f"{self.local_url}/{path.lstrip('/')}"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with _OPENER.open(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def load(self, bundle: dict[str, Any]) -> dict[str, Any]:
        """POST a transaction Bundle; return the transaction-response, or raise if any entry failed."""
        status, response = self.request("POST", self.local_url, bundle)
        if status != 200 or not isinstance(response, dict):
            raise FhirServerError(f"loading the bundle failed ({status}): {json.dumps(response)[:2000]}")
        failed = [e for e in response.get("entry", []) if not e.get("response", {}).get("status", "").startswith("2")]
        if failed:
            raise FhirServerError(f"{len(failed)} bundle entries failed: {json.dumps(failed)[:2000]}")
        return response

    def stop(self) -> None:
        """Stop the server process (and only it) and remove its temporary data."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
        self._process = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
            self._data_dir = None

    def __enter__(self) -> FhirServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
