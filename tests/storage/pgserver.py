"""A throw-away PostgreSQL server for the test suite: initdb into a temporary folder, then postgres on a
free port of 127.0.0.1 (unix socket in that folder too), password authentication over TCP.

The server binaries come from `CDS_TEST_PG_BINDIR`, Debian's /usr/lib/postgresql/<version>/bin, or PATH;
`make postgres-server` installs Debian's package when none is found. initdb refuses to run as root, so as
root every server command runs as the unprivileged `postgres` user (created by the Debian package).
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg

USER = "cds_test"
SERVER_USER = "postgres"
NEEDED = ("initdb", "pg_ctl", "postgres")


class NoPostgres(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


def find_bindir() -> Path:
    """Return the folder holding initdb, pg_ctl and postgres (the newest Debian version first)."""
    candidates: list[Path] = []
    if os.environ.get("CDS_TEST_PG_BINDIR"):
        candidates.append(Path(os.environ["CDS_TEST_PG_BINDIR"]))
    debian = Path("/usr/lib/postgresql").glob("*/bin")
    candidates += sorted(debian, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0, reverse=True)
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for folder in candidates:
        if all((folder / tool).is_file() for tool in NEEDED):
            return folder
    raise NoPostgres(
        "no PostgreSQL server found (initdb, pg_ctl, postgres): run `make postgres-server` "
        "(as root it installs Debian's postgresql package) or set CDS_TEST_PG_BINDIR"
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class PostgresServer:
    bindir: Path
    root: Path
    port: int
    password: str
    run_as: str | None

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.url(), autocommit=True)

    def create_database(self) -> str:
        name = f"cds_{secrets.token_hex(6)}"
        with self.admin() as connection:
            connection.execute(f"CREATE DATABASE {name}")
        return name

    def drop_database(self, name: str) -> None:
        with self.admin() as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def stop(self) -> None:
        _run(self, "pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    # --- outages (tests/storage/test_database_outage.py) ------------------------------------------------

    def halt(self) -> None:
        """Stop the server at once (as a crash would), keeping its data; `start()` brings it back."""
        _run(self, "pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop")

    def start(self) -> None:
        """Start the server again on the same port (after `halt()`); returns when it accepts connections."""
        _run(self, "pg_ctl", "-D", str(self.root / "data"), "-l", str(self.root / "server.log"),
             "-o", _options(self), "-w", "-t", "60", "start")

    def processes(self) -> list[int]:
        """The postmaster and every backend it forked (what SIGSTOP must reach to freeze the server)."""
        postmaster = int((self.root / "data" / "postmaster.pid").read_text().split()[0])
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == postmaster:
                children.append(int(stat.parent.name))
        return [postmaster, *children]


def _run(server: PostgresServer, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    command = [str(server.bindir / tool), *args]
    if server.run_as:
        command = ["runuser", "-u", server.run_as, "--", *command]
    return subprocess.run(command, cwd=server.root, capture_output=True, text=True, check=check, timeout=60)


def _options(server: PostgresServer) -> str:
    # fsync off: a test server never survives a power cut, and commits get several times faster.
    return (f"-c listen_addresses=127.0.0.1 -p {server.port} -k {server.root} -c fsync=off "
            "-c full_page_writes=off -c max_connections=80 -c deadlock_timeout=100ms")


def start_server() -> PostgresServer:
    """Create a cluster in a new temporary folder and start it; the caller must `stop()` it."""
    bindir = find_bindir()
    run_as = None
    root = Path(tempfile.mkdtemp(prefix="cds-pg-"))
    if os.geteuid() == 0:
        try:
            account = pwd.getpwnam(SERVER_USER)
        except KeyError:
            shutil.rmtree(root)
            raise NoPostgres(f"running as root and there is no {SERVER_USER!r} user to run initdb as") from None
        os.chown(root, account.pw_uid, account.pw_gid)
        run_as = SERVER_USER
    server = PostgresServer(bindir=bindir, root=root, port=0, password=secrets.token_urlsafe(16), run_as=run_as)
    password_file = root / "password"
    password_file.write_text(server.password)
    if run_as:
        os.chown(password_file, pwd.getpwnam(run_as).pw_uid, -1)
    try:
        _run(server, "initdb", "-D", str(root / "data"), "-U", USER, f"--pwfile={password_file}",
             "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-locale", "--no-sync")
        password_file.unlink()
        last_error = ""
        for _ in range(3):
            server.port = free_port()
            started = _run(server, "pg_ctl", "-D", str(root / "data"), "-l", str(root / "server.log"),
                           "-o", _options(server), "-w", "-t", "30", "start", check=False)
            if started.returncode == 0:
                return server
            last_error = started.stderr + _tail(root / "server.log")
        raise NoPostgres(f"postgres did not start: {last_error}")
    except (subprocess.SubprocessError, OSError) as error:
        server.stop()
        detail = getattr(error, "stderr", "") or ""
        raise NoPostgres(f"could not create the test cluster: {error} {detail}") from None
    except NoPostgres:
        server.stop()
        raise


def _tail(log: Path) -> str:
    try:
        return "\n".join(log.read_text().splitlines()[-10:])
    except OSError:
        return ""
