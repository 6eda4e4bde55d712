"""The reverse proxy of the deploy files (deploy/k8s/nginx.conf.template), run with Debian's nginx in front of
the service under gunicorn: bodies over CDS_MAX_BODY_BYTES stop at nginx, slow clients are cut after the
read timeouts without ever reaching a gunicorn worker (request buffering), /metrics is not served through
it, and /metrics is served on CDS_METRICS_BIND only. Raw sockets, so no client library hides the timing.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import string
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from cds_service.config import Settings
from tests.deploy.gunicorn_process import Served, gunicorn, wait_for
from tests.deploy.test_deploy_files import K8S
from tests.support.fhir_server import free_port

TEMPLATE = K8S / "nginx.conf.template"
READ_TIMEOUT_S = 10  # client_header_timeout and client_body_timeout in the template


def render(port: int, upstream: str) -> str:
    """Fill in the template as the nginx image's envsubst step does (only these two variables)."""
    return string.Template(TEMPLATE.read_text()).safe_substitute(NGINX_PORT=str(port), NGINX_UPSTREAM=upstream)


def main_config(folder: Path, server_block: Path) -> str:
    """The nginx image's own nginx.conf, reduced to what matters here, with every path in `folder`."""
    user = "user root root;" if os.geteuid() == 0 else ""  # workers must reach the 0700 test folder
    temp = " ".join(f"{kind}_temp_path {folder}/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi",
                                                                      "scgi"))
    return (f"{user} worker_processes 1; daemon off; pid {folder}/nginx.pid; error_log stderr notice;\n"
            f"events {{ worker_connections 64; }}\n"
            f"http {{ access_log off; {temp} include {server_block}; }}\n")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Served, str]]:
    """gunicorn (metrics on their own port) behind nginx; yield (proxy URL, gunicorn, metrics URL)."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    assert Path(nginx).exists(), "the proxy tests need nginx: make nginx (apt-get install nginx-light)"
    folder = tmp_path_factory.mktemp("proxy")
    metrics_port = free_port()
    env = {"CDS_MODE": "development", "CDS_METRICS_BIND": f"127.0.0.1:{metrics_port}"}
    with gunicorn(folder, env) as served:
        port = free_port()
        block = folder / "cds.conf"
        block.write_text(render(port, f"127.0.0.1:{served.port}"))
        (folder / "nginx.conf").write_text(main_config(folder, block))
        log = folder / "nginx.log"
        check = subprocess.run([nginx, "-t", "-e", "stderr", "-p", str(folder), "-c", str(folder / "nginx.conf")],
                               capture_output=True, text=True, timeout=30)
        assert check.returncode == 0, check.stderr
        with log.open("wb") as out:
            process = subprocess.Popen([nginx, "-e", "stderr", "-p", str(folder), "-c", str(folder / "nginx.conf")],
                                       stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_for(f"http://127.0.0.1:{port}/healthz", process, log)  # type: ignore[arg-type]
            yield f"http://127.0.0.1:{port}", served, f"http://127.0.0.1:{metrics_port}"
        finally:
            process.terminate()
            process.wait(timeout=10)


def request_lines(served: Served) -> int:
    """How many requests gunicorn's workers have handled (one JSON request line each)."""
    return len(re.findall(r'"message": "request"', served.log_text()))


def stalled(url: str, data: bytes) -> tuple[float, bytes]:
    """Send `data` and stall; return how long until the proxy closed the connection, and what it answered."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=READ_TIMEOUT_S * 3) as sock:
        started = time.monotonic()
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
        return time.monotonic() - started, answer


def test_the_proxy_passes_a_normal_request_and_the_request_id(stack: tuple[str, Served, str]) -> None:
    proxy, _, _ = stack
    response = requests.get(f"{proxy}/cds-services", timeout=10)
    assert response.status_code == 200
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-Id"])


def test_a_body_over_cds_max_body_bytes_stops_at_the_proxy(stack: tuple[str, Served, str]) -> None:
    proxy, served, _ = stack
    limit = Settings().max_body_bytes
    url = f"{proxy}/cds-services/nxp2-myositis"
    before = request_lines(served)
    too_large = requests.post(url, data=b" " * (limit + 1), headers={"Content-Type": "application/json"}, timeout=30)
    assert too_large.status_code == 413
    assert request_lines(served) == before  # gunicorn never saw it
    at_limit = requests.post(url, data=b" " * limit, headers={"Content-Type": "application/json"}, timeout=30)
    assert at_limit.status_code == 400  # passed on: the service itself answers (no JSON in the body)
    assert at_limit.json()["resourceType"] == "OperationOutcome"
    assert request_lines(served) == before + 1


def test_slow_clients_are_cut_at_the_proxy_and_never_hold_a_worker(stack: tuple[str, Served, str]) -> None:
    proxy, served, _ = stack
    before = request_lines(served)
    slow_headers = b"GET /healthz HTTP/1.1\r\nHost: cds\r\n"  # the blank line never comes
    slow_body = (b"POST /cds-services/nxp2-myositis HTTP/1.1\r\nHost: cds\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 1000\r\n\r\n{\"hook\": ")  # 992 bytes never come
    with ThreadPoolExecutor(2) as pool:
        headers_cut, body_cut = pool.map(lambda data: stalled(proxy, data), [slow_headers, slow_body])
    for elapsed, _ in (headers_cut, body_cut):
        assert READ_TIMEOUT_S - 1 < elapsed < READ_TIMEOUT_S * 2.5
    assert body_cut[1] == b"" or body_cut[1].startswith(b"HTTP/1.1 408")
    assert request_lines(served) == before  # neither request reached a worker
    assert requests.get(f"{proxy}/healthz", timeout=10).status_code == 200  # and the service still answers


def test_metrics_are_served_on_their_own_port_only(stack: tuple[str, Served, str]) -> None:
    proxy, served, metrics = stack
    assert requests.get(f"{proxy}/metrics", timeout=10).status_code == 404  # the proxy refuses it
    assert requests.get(f"{served.base_url}/metrics", timeout=10).status_code == 404  # gunicorn's public port too
    scraped = requests.get(f"{metrics}/metrics", timeout=10)
    assert scraped.status_code == 200
    assert "cds_http_requests_total" in scraped.text
    # The metrics port serves nothing else: not the hooks, not the demo, not the OpenAPI document.
    for path in ("/cds-services", "/openapi.json", "/healthz"):
        assert requests.get(f"{metrics}{path}", timeout=10).status_code == 404, path
