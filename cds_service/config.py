"""Settings: one typed, frozen object read from `CDS_*` environment variables and checked at start-up.

Imports only the standard library. Every variable is documented in `deploy/.env.example` and the README.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# The public CDS Hooks sandbox and pages served from this machine are the development defaults.
DEV_CORS_ORIGINS = (
    "https://sandbox.cds-hooks.org",
    r"^https?://localhost(:\d+)?$",
    r"^https?://127\.0\.0\.1(:\d+)?$",
)


# Asymmetric JWS algorithms a CDS Client may use. `none` and every HS* (HMAC) are never accepted (spec 8.2).
ASYMMETRIC_ALGORITHMS = ("ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512")


class SettingsError(ValueError):
    """A `CDS_*` variable is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class IssuerConfig:
    """One trusted CDS Client (JWT `iss`): where its public keys are and which tenants it may name.

    `jku` lists the JWK Set URLs this issuer may name in a token header (and that we may fetch);
    `tenants` None accepts any tenant or none; `fetch_jku` False uses the file only.
    """

    issuer: str
    jwks_file: Path | None = None
    jku: tuple[str, ...] = ()
    tenants: tuple[str, ...] | None = None
    fetch_jku: bool = True


def _boolean(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError("expected true or false")


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError("expected a positive whole number")
    return value


def _positive_float(raw: str) -> float:
    value = float(raw)
    if not value > 0:
        raise ValueError("expected a positive number")
    return value


def _words(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _mode(raw: str) -> str:
    if raw not in {"production", "development"}:
        raise ValueError("expected production or development")
    return raw


def _log_level(raw: str) -> str:
    upper = raw.upper()
    if upper not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ValueError("expected DEBUG, INFO, WARNING or ERROR")
    return upper


def _base_url(raw: str) -> str:
    if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", raw):
        raise ValueError("expected an absolute http(s) URL without query or fragment")
    return raw.rstrip("/")


def _directory(raw: str) -> Path:
    return Path(raw).expanduser()


def redact_url(url: str) -> str:
    """Return `url` with every password (user part, `password=` item or keyword) replaced by ***."""
    try:
        parts = urlsplit(url)
        if parts.password is not None:
            host = parts.netloc.rpartition("@")[2]
            url = url.replace(f"//{parts.netloc}", f"//{parts.username or ''}:***@{host}", 1)
    except ValueError:
        return "<unreadable URL>"
    return re.sub(r"(?i)(password\s*=\s*)('[^']*'|[^&#\s]*)", r"\1***", url)


def _database_url(raw: str) -> str:
    # The message never repeats the URL: it may hold a password.
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018  (raises ValueError on a malformed port)
    except ValueError:
        raise ValueError("expected postgresql://user:password@host:port/database") from None
    if parts.scheme not in {"postgresql", "postgres"}:
        raise ValueError("expected postgresql://user:password@host:port/database")
    return raw


def _non_negative_int(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError("expected zero or a positive whole number")
    return value


_ABSOLUTE_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\s]+")
_JKU_URL = re.compile(r"https?://[^\s/?#]+(/[^\s#]*)?")
_ISSUER_KEYS = {"jwks_file", "jku", "tenants", "fetch_jku"}


def _string_list(value: Any, what: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) and item.strip() for item in items):
        raise ValueError(f"{what} must be a string or a list of non-empty strings")
    return tuple(items)


def _issuer(issuer: str, spec: Any) -> IssuerConfig:
    if not _ABSOLUTE_URI.fullmatch(issuer) or len(issuer) > 512:
        raise ValueError(f"issuer {issuer!r} is not an absolute URI")
    if not isinstance(spec, dict):
        raise ValueError(f"issuer {issuer!r}: expected an object with jwks_file and/or jku")
    unknown = set(spec) - _ISSUER_KEYS
    if unknown:
        raise ValueError(f"issuer {issuer!r}: unknown keys {sorted(unknown)} (allowed: {sorted(_ISSUER_KEYS)})")
    jwks_file = spec.get("jwks_file")
    if jwks_file is not None and (not isinstance(jwks_file, str) or not jwks_file.strip()):
        raise ValueError(f"issuer {issuer!r}: jwks_file must be a path")
    jku = _string_list(spec.get("jku", []), f"issuer {issuer!r}: jku")
    for url in jku:
        if not _JKU_URL.fullmatch(url):
            raise ValueError(f"issuer {issuer!r}: jku {url!r} is not an absolute http(s) URL")
    if jwks_file is None and not jku:
        raise ValueError(f"issuer {issuer!r}: give jwks_file, jku or both")
    tenants = spec.get("tenants")
    fetch_jku = spec.get("fetch_jku", True)
    if not isinstance(fetch_jku, bool):
        raise ValueError(f"issuer {issuer!r}: fetch_jku must be true or false")
    return IssuerConfig(
        issuer=issuer,
        jwks_file=Path(jwks_file).expanduser() if jwks_file else None,
        jku=jku,
        tenants=None if tenants is None else _string_list(tenants, f"issuer {issuer!r}: tenants"),
        fetch_jku=fetch_jku,
    )


def _issuers(raw: str) -> tuple[IssuerConfig, ...]:
    """Parse `{"<iss>": {"jwks_file": ..., "jku": [...], "tenants": [...]}, ...}`."""
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValueError(f"not JSON ({error.msg})") from None
    if not isinstance(parsed, dict):
        raise ValueError('expected a JSON object {"<issuer>": {"jwks_file": "...", "jku": ["..."]}}')
    return tuple(_issuer(issuer, spec) for issuer, spec in parsed.items())


def _algorithms(raw: str) -> tuple[str, ...]:
    names = _words(raw)
    refused = [name for name in names if name not in ASYMMETRIC_ALGORITHMS]
    if refused or not names:
        what = f"{', '.join(refused)} refused" if refused else "no algorithm given"
        raise ValueError(f"{what}; accepted: the asymmetric {', '.join(ASYMMETRIC_ALGORITHMS)}")
    return names


def _cors_origins(raw: str) -> tuple[str, ...]:
    """Parse exact origins (`https://host[:port]`) or anchored regexes (`^...$`); never a wildcard."""
    origins = _words(raw)
    for origin in origins:
        if origin.startswith("^"):
            if not origin.endswith("$"):
                raise ValueError(f"the pattern {origin!r} must end with $")
            try:
                re.compile(origin)
            except re.error as error:
                raise ValueError(f"the pattern {origin!r} is not a regular expression: {error}") from None
        elif "*" in origin:
            raise ValueError("a wildcard origin is not allowed: list the EHR origins")
        elif not re.fullmatch(r"https?://[A-Za-z0-9.\-]+(:\d+)?", origin):
            raise ValueError(f"{origin!r} is not an origin (scheme://host[:port], no path)")
    return origins


def _env_field(
    name: str, parse: Callable[[str], Any], default: Any, doc: str, show: Callable[[str], str] | None = None
) -> Any:
    """Declare a setting read from `name`; the metadata drives parsing and the documentation table.

    `show` turns a value into text for the settings banner and error messages (it hides secrets).
    """
    metadata = {"env": name, "parse": parse, "doc": doc} | ({"show": show} if show else {})
    return field(default=default, metadata=metadata)


# A FHIR server allowed in settings: a base URL (scheme, host, optional port, optional path prefix), or a
# host pattern `https://*.example.org` for every subdomain. fhir_client/policy.py gives the meaning.
_SERVER_PATTERN = re.compile(
    r"^(https?)://(\*\.)?([a-z0-9-]+(\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(:\d{1,5})?(/[^\s?#]*)?$", re.IGNORECASE
)

# (issuer or "*", tenant or "*", allowed server patterns)
ServerGrant = tuple[str, str, tuple[str, ...]]


def _server_patterns(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"{where}: expected a list of server URLs")
    for item in value:
        after_scheme = item.split("://", 1)[-1].removeprefix("*.")
        if not _SERVER_PATTERN.match(item) or "*" in after_scheme:
            raise ValueError(f"{where}: {item!r} is not a base URL like https://fhir.example.org/r4 "
                             "or a host pattern like https://*.example.org")
    return tuple(item.rstrip("/") for item in value)


def _fhir_servers(raw: str) -> tuple[ServerGrant, ...]:
    """Parse {"issuer": [servers], "issuer": {"tenant": [servers], "*": [servers]}, "*": [servers]}."""
    try:
        document = json.loads(raw)
    except json.JSONDecodeError:
        raise ValueError("expected a JSON object mapping issuer to a list of FHIR server URLs") from None
    if not isinstance(document, dict):
        raise ValueError("expected a JSON object mapping issuer to a list of FHIR server URLs")
    grants: list[ServerGrant] = []
    for issuer, value in document.items():
        if not issuer:
            raise ValueError("an issuer key is empty")
        tenants = value if isinstance(value, dict) else {"*": value}
        for tenant, servers in tenants.items():
            if not tenant:
                raise ValueError(f"{issuer}: a tenant key is empty")
            grants.append((issuer, tenant, _server_patterns(servers, f"{issuer} / {tenant}")))
    return tuple(grants)


def _server_list(raw: str) -> tuple[str, ...]:
    return _server_patterns(list(_words(raw)), "list")


def _networks(raw: str) -> tuple[str, ...]:
    return tuple(str(ipaddress.ip_network(part, strict=False)) for part in _words(raw))


def _bind(raw: str) -> str:
    if not re.fullmatch(r"(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}", raw) or int(raw.rsplit(":", 1)[1]) > 65535:
        raise ValueError("expected HOST:PORT, e.g. 127.0.0.1:8080")
    return raw


@dataclass(frozen=True)
class Settings:
    """Every setting of the service. Build it with `Settings.from_env()`, or directly in tests."""

    mode: str = _env_field(
        "CDS_MODE", _mode, "production",
        "production (JWT required on every call) or development (calls without a JWT accepted).",
    )
    public_base_url: str = _env_field(
        "CDS_PUBLIC_BASE_URL", _base_url, "http://127.0.0.1:8080",
        "The URL clients use to reach this service; JWT `aud` is checked against it, never against Host.",
    )
    catalogue_dir: Path = _env_field(
        "CDS_CATALOGUE_DIR", _directory, PROJECT_ROOT / "cards",
        "Folder holding services/, rules/ and valuesets/ (the card catalogue).",
    )
    data_dir: Path = _env_field(
        "CDS_DATA_DIR", _directory, PROJECT_ROOT / "var",
        "Folder for the embedded SQLite stores (feedback, JWT replay cache) and the gunicorn workers' shared "
        "Prometheus files (prometheus/, emptied at each start).",
    )
    max_body_bytes: int = _env_field(
        "CDS_MAX_BODY_BYTES", _positive_int, 5_000_000, "Largest request body accepted (413 above it).",
    )
    cors_origins: tuple[str, ...] = _env_field(
        "CDS_CORS_ORIGINS", _cors_origins, (),
        "Comma-separated browser origins (scheme://host[:port]) or anchored patterns (^...$) allowed by "
        "CORS; never `*`. Empty: none in production, the public sandbox and localhost in development.",
    )
    fhir_timeout_s: float = _env_field(
        "CDS_FHIR_TIMEOUT_S", _positive_float, 2.0, "Total time budget for fetching missing prefetch data.",
    )
    jwt_issuers: tuple[IssuerConfig, ...] = _env_field(
        "CDS_JWT_ISSUERS", _issuers, (),
        'Trusted CDS Clients as JSON: {"<iss>": {"jwks_file": "<path>", "jku": ["https://..."], '
        '"tenants": ["..."], "fetch_jku": true}}. jwks_file and/or jku required; tenants optional. '
        "Production refuses to start without one.",
    )
    jwt_algorithms: tuple[str, ...] = _env_field(
        "CDS_JWT_ALGORITHMS", _algorithms, ("ES384", "RS384"),
        "Comma-separated JWS algorithms accepted (ES256/384/512, RS256/384/512, PS256/384/512); "
        "none and HS* are always refused.",
    )
    jwt_leeway_s: int = _env_field(
        "CDS_JWT_LEEWAY_S", _non_negative_int, 30, "Clock skew allowed on JWT exp, iat and nbf, in seconds.",
    )
    jwt_max_lifetime_s: int = _env_field(
        "CDS_JWT_MAX_LIFETIME_S", _positive_int, 3600,
        "Longest JWT lifetime (exp - iat) accepted, in seconds; the jti is remembered that long.",
    )
    auth_header_max_bytes: int = _env_field(
        "CDS_AUTH_HEADER_MAX_BYTES", _positive_int, 4096, "Longest Authorization header accepted (401 above it).",
    )
    trust_sandbox: bool = _env_field(
        "CDS_TRUST_SANDBOX", _boolean, False,
        "Trust the public CDS Hooks sandbox (https://sandbox.cds-hooks.org, ES384). Its private key is "
        "public, so this is refused in production.",
    )
    sandbox_jwks_file: Path = _env_field(
        "CDS_SANDBOX_JWKS_FILE", _directory, PROJECT_ROOT / "cds_service" / "auth" / "keys" / "sandbox-jwks.json",
        "The sandbox's public JWK Set (shipped; from the cds-hooks/sandbox repository, .well-known/jwks.json).",
    )
    jwks_timeout_s: float = _env_field(
        "CDS_JWKS_TIMEOUT_S", _positive_float, 3.0, "Time budget for fetching one JWK Set from a jku URL.",
    )
    jwks_cache_s: int = _env_field(
        "CDS_JWKS_CACHE_S", _positive_int, 3600, "How long a fetched JWK Set is used before it is fetched again.",
    )
    jwks_min_refetch_s: int = _env_field(
        "CDS_JWKS_MIN_REFETCH_S", _non_negative_int, 60,
        "Least time between two fetches of the same jku URL (an unknown kid cannot force more).",
    )
    jwks_allow_http_loopback: bool = _env_field(
        "CDS_JWKS_ALLOW_HTTP_LOOPBACK", _boolean, False,
        "Development and tests only: allow http:// jku URLs on 127.0.0.1/localhost (production needs https).",
    )
    max_json_depth: int = _env_field(
        "CDS_MAX_JSON_DEPTH", _positive_int, 64, "Deepest JSON nesting accepted in a request body (400 above it).",
    )
    max_prefetch_keys: int = _env_field(
        "CDS_MAX_PREFETCH_KEYS", _positive_int, 32, "Most prefetch keys accepted in one request (413 above it).",
    )
    max_prefetch_resources: int = _env_field(
        "CDS_MAX_PREFETCH_RESOURCES", _positive_int, 10_000,
        "Most FHIR resources accepted in one request's prefetch, Bundle entries counted (413 above it).",
    )
    fhir_connect_timeout_s: float = _env_field(
        "CDS_FHIR_CONNECT_TIMEOUT_S", _positive_float, 1.0,
        "Longest wait for a TCP connection to the FHIR server (always cut to what is left of the budget).",
    )
    fhir_allowed_servers: tuple[ServerGrant, ...] = _env_field(
        "CDS_FHIR_ALLOWED_SERVERS", _fhir_servers, (),
        'JSON: the FHIR servers each JWT issuer may send as fhirServer, e.g. {"https://ehr.example.org": '
        '["https://fhir.example.org/r4", "https://*.example.net"], "https://multi.example.com": {"tenant-a": '
        '["https://a.example.com/fhir"]}}. Key "*" = every caller (also unauthenticated development calls); '
        'tenant "*" = every tenant. Entries are base URLs (path prefix) or https://*.domain host patterns; '
        "an http:// entry allows plain http to that origin. Empty: no fetching (development still allows "
        "http(s) on loopback).",
    )
    fhir_open_servers: tuple[str, ...] = _env_field(
        "CDS_FHIR_OPEN_SERVERS", _server_list, (),
        "Comma-separated FHIR servers (same entry syntax) that may be read without fhirAuthorization, such "
        "as an open sandbox server. They must also be allowed for the caller in CDS_FHIR_ALLOWED_SERVERS.",
    )
    fhir_allowed_networks: tuple[str, ...] = _env_field(
        "CDS_FHIR_ALLOWED_NETWORKS", _networks, (),
        "Comma-separated CIDRs that FHIR servers may resolve to although they are loopback, private or "
        "link-local (e.g. an EHR on 10.20.0.0/16). Cloud metadata addresses stay refused.",
    )
    fhir_max_pages: int = _env_field(
        "CDS_FHIR_MAX_PAGES", _positive_int, 10, "Most searchset pages read for one prefetch key.",
    )
    fhir_max_entries: int = _env_field(
        "CDS_FHIR_MAX_ENTRIES", _positive_int, 5000, "Most Bundle entries read for one prefetch key.",
    )
    fhir_max_response_bytes: int = _env_field(
        "CDS_FHIR_MAX_RESPONSE_BYTES", _positive_int, 10_000_000,
        "Largest FHIR response body read (decoded); reading stops past it.",
    )
    fhir_workers: int = _env_field(
        "CDS_FHIR_WORKERS", _positive_int, 4, "Threads fetching prefetch keys at once, per request.",
    )
    log_level: str = _env_field("CDS_LOG_LEVEL", _log_level, "INFO", "Log level of the JSON logs.")
    metrics_enabled: bool = _env_field(
        "CDS_METRICS", _boolean, True, "Serve Prometheus metrics on /metrics.",
    )
    metrics_bind: str = _env_field(
        "CDS_METRICS_BIND", _bind, "",
        "HOST:PORT where gunicorn also listens to serve /metrics, and only /metrics (404 on the public port), "
        "e.g. 0.0.0.0:9100 for Prometheus inside the cluster. Empty: /metrics on the public port.",
    )
    database_url: str = _env_field(
        "CDS_DATABASE_URL", _database_url, "",
        "PostgreSQL URL (postgresql://user:password@host:5432/db) for feedback, the JWT replay cache and the "
        "card audit log. Empty: one embedded SQLite file in CDS_DATA_DIR. The password is never printed.",
        show=redact_url,
    )
    database_pool_size: int = _env_field(
        "CDS_DATABASE_POOL_SIZE", _positive_int, 4, "Most PostgreSQL connections one worker process opens.",
    )
    database_timeout_s: float = _env_field(
        "CDS_DATABASE_TIMEOUT_S", _positive_float, 5.0,
        "Longest wait for a database connection, lock or statement before the store reports failure.",
    )
    demo_fhir_url: str = _env_field(
        "CDS_DEMO_FHIR_URL", _base_url, "",
        "Development only: base URL of the demo FHIR server (`make run` starts one on loopback and sets this); "
        "the /demo page reads its patients through /demo/fhir. Refused in production.",
    )
    card_audit: bool = _env_field(
        "CDS_CARD_AUDIT", _boolean, False,
        "Keep an audit log of the cards shown for each hookInstance (card ids and indicators, no patient values).",
    )
    bind: str = _env_field(
        "CDS_BIND", _bind, "127.0.0.1:8080",
        "HOST:PORT gunicorn listens on (deploy/gunicorn.conf.py); use 0.0.0.0:8080 inside a container. "
        "`make run HOST=... PORT=...` sets it.",
    )
    workers: int = _env_field(
        "CDS_WORKERS", _positive_int, 2,
        "Number of gunicorn worker processes (deploy/gunicorn.conf.py); `make run WORKERS=n` sets it.",
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every `CDS_*` variable; raise SettingsError naming the first malformed one."""
        env = os.environ if environ is None else environ
        known = {setting.metadata["env"] for setting in fields(cls)}
        # A misspelt variable would otherwise be ignored silently and its default used. CDS_TEST_* belong
        # to the test suite, not to the service.
        unknown = sorted(
            name for name in env
            if name.startswith("CDS_") and not name.startswith("CDS_TEST_") and name not in known
        )
        if unknown:
            raise SettingsError(f"{unknown[0]} is not a known setting; the known ones are in deploy/.env.example")
        values: dict[str, Any] = {}
        for setting in fields(cls):
            name = setting.metadata["env"]
            raw = env.get(name)
            if raw is None or raw == "":
                continue
            try:
                values[setting.name] = setting.metadata["parse"](raw)
            except ValueError as error:
                shown = setting.metadata.get("show", str)(raw)
                raise SettingsError(f"{name}={shown!r} is not valid: {error}") from None
        return cls(**values)

    @property
    def development(self) -> bool:
        return self.mode == "development"

    @property
    def effective_cors_origins(self) -> tuple[str, ...]:
        if self.cors_origins:
            return self.cors_origins
        return DEV_CORS_ORIGINS if self.development else ()

    @property
    def feedback_db(self) -> Path:
        return self.data_dir / "feedback.sqlite3"

    @property
    def metrics_dir(self) -> Path:
        """Where gunicorn workers share their Prometheus counters (multiprocess mode)."""
        return self.data_dir / "prometheus"

    def describe(self) -> dict[str, str]:
        """Return every setting as text for the start-up banner, secrets hidden."""
        shown: dict[str, str] = {}
        for setting in fields(self):
            text = _show(getattr(self, setting.name))
            hide = setting.metadata.get("show")
            shown[setting.metadata["env"]] = hide(text) if hide else text
        return shown


def _show(value: Any) -> str:
    if isinstance(value, tuple) and value and isinstance(value[0], IssuerConfig):
        return ", ".join(issuer.issuer for issuer in value)
    return str(value)


def _as_text(value: Any) -> str:
    """Render a default as it would be written in the environment (paths relative to the checkout)."""
    if isinstance(value, Path):
        return str(value.relative_to(PROJECT_ROOT)) if value.is_relative_to(PROJECT_ROOT) else str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(str(part) for part in value)
    return str(value)


def documented_settings() -> list[tuple[str, str, str]]:
    """Return (variable, default, description) for every setting, for docs and the .env.example test."""
    return [
        (s.metadata["env"], _as_text(s.default), s.metadata["doc"]) for s in fields(Settings)
    ]
