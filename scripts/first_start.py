"""Time a first `make run` as a newcomer meets it: a fresh clone, no package cache, no uv on the machine.

    python3 scripts/first_start.py [--ref HEAD] [--repo .] [--keep]

Clones `--repo` at `--ref` into a temporary folder, points every package cache (pip, uv, XDG) at an empty
folder, and runs `make run` there on free ports (PORT, FHIR_PORT) with `UV=.uv/bin/uv`, so the Makefile
installs uv itself as it must on a fresh machine. It polls the discovery URL and /demo/config and prints:

    first-start: service answered discovery after 41.2 s; demo patients loaded after 63.0 s (ref 1a2b3c4)

then stops `make run` with SIGTERM (as Ctrl-C or a process manager would) and removes the clone. A figure,
not a test: the time depends on the machine's load and the network; `make first-start` runs it.
"""

# git and make with fixed arguments, no shell: S603/S607 do not apply.
# ruff: noqa: S603, S607

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get_json(url: str) -> tuple[int, object]:
    try:
        with _OPENER.open(url, timeout=2) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        with error:
            return error.code, None
    except (OSError, ValueError):
        return 0, None


def _copy_timed(make: subprocess.Popen[bytes], log_path: Path, started: float) -> None:
    """Write each line make prints to the log, after the seconds since `make run` started."""
    assert make.stdout is not None
    with log_path.open("w") as log:
        for line in make.stdout:
            log.write(f"{time.monotonic() - started:6.1f} s  {line.decode(errors='replace')}")
            log.flush()


def fresh_env(tmp: Path) -> dict[str, str]:
    """The caller's environment with empty package caches and no settings of ours."""
    cache = tmp / "empty-cache"
    cache.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CDS_", "UV_", "VIRTUAL_ENV")) and k not in {"FHIR_PORT", "PORT", "MAKEFLAGS"}}
    return env | {"PIP_NO_CACHE_DIR": "1", "UV_CACHE_DIR": str(cache / "uv"), "XDG_CACHE_HOME": str(cache),
                  "PIP_CACHE_DIR": str(cache / "pip")}


def measure(repo: Path, ref: str, keep: bool, timeout_s: float) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="first-start-"))
    clone = tmp / "nxp2-cds"
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(repo), str(clone)], check=True)
    subprocess.run(["git", "-C", str(clone), "checkout", "-q", ref], check=True)
    commit = subprocess.run(["git", "-C", str(clone), "rev-parse", "--short", "HEAD"], check=True,
                            capture_output=True, text=True).stdout.strip()
    port, fhir_port = free_port(), free_port()
    log_path = tmp / "make-run.log"
    log_path.touch()
    print(f"first-start: make run in {clone} (ref {commit}), PORT={port} FHIR_PORT={fhir_port}, "
          f"log {log_path}", flush=True)
    started = time.monotonic()
    # Our own session, so the stop below reaches only what this run started.
    make = subprocess.Popen(["make", "run", f"PORT={port}", f"FHIR_PORT={fhir_port}", "UV=.uv/bin/uv"],
                            cwd=clone, env=fresh_env(tmp), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    threading.Thread(target=_copy_timed, args=(make, log_path, started), daemon=True).start()
    base = f"http://127.0.0.1:{port}"
    discovery = patients = None
    try:
        while time.monotonic() - started < timeout_s and make.poll() is None:
            if discovery is None and get_json(f"{base}/cds-services")[0] == 200:
                discovery = time.monotonic() - started
                print(f"first-start: discovery answered after {discovery:.1f} s", flush=True)
            if patients is None and "patients loaded" in log_path.read_text(errors="replace"):
                patients = time.monotonic() - started  # run_dev.py's line once every fixture is in
            if discovery is not None and patients is not None:
                break
            time.sleep(0.2)
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGTERM)
            try:
                make.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(make.pid, signal.SIGKILL)
                make.wait()
        with_load = os.getloadavg()[0]
    lines = log_path.read_text(errors="replace").splitlines()
    print("\n".join(line for line in lines if '"level"' not in line)[-6000:])  # the steps, not gunicorn's JSON
    print(f"first-start: service answered discovery after {_fmt(discovery)}; demo patients loaded after "
          f"{_fmt(patients)} (ref {commit}, load average {with_load:.1f} on {os.cpu_count()} cores)", flush=True)
    if keep:
        print(f"first-start: clone kept in {clone}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if discovery is not None else 1


def _fmt(seconds: float | None) -> str:
    return "never (timed out)" if seconds is None else f"{seconds:.1f} s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo", type=Path, default=ROOT, help="the repository to clone (default: this one)")
    parser.add_argument("--ref", default="HEAD", help="the commit to check out (default: HEAD)")
    parser.add_argument("--keep", action="store_true", help="keep the clone and its log")
    parser.add_argument("--timeout", type=float, default=600.0, help="give up after this many seconds")
    args = parser.parse_args(argv)
    return measure(args.repo.resolve(), args.ref, args.keep, args.timeout)


if __name__ == "__main__":
    sys.exit(main())
