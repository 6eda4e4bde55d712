"""Which FHIR servers we contact, for which caller, and at which address: the SSRF defence for `fhirServer`.

`fhirServer` comes from the caller, so every URL we fetch is checked here before any traffic: it must be
allowed for the caller's JWT issuer and tenant (`CDS_FHIR_ALLOWED_SERVERS`), use https unless an http
entry allows that origin, be an open server when no access token came with it, and resolve only to
public addresses (or to `CDS_FHIR_ALLOWED_NETWORKS`). Cloud metadata addresses are always refused.
The host is resolved once here and the client connects to that checked address (see transport.py), so
a second DNS answer cannot send us elsewhere (DNS rebinding).

Development mode also allows http(s) servers on loopback (any port, with or without a token), so a local
FHIR server works out of the box; production allows only what the settings list.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from cds_service.fhir_client.errors import FhirRefused, FhirUnavailable

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Instance metadata endpoints (AWS, GCP, Azure, Alibaba, ECS) and the Azure wire server: never contacted,
# whatever the allowed networks say, because they hand out cloud credentials.
METADATA_ADDRESSES: frozenset[IpAddress] = frozenset(
    ipaddress.ip_address(text)
    for text in (
        "169.254.169.254", "169.254.169.253", "169.254.170.2", "169.254.170.23",
        "fd00:ec2::254", "fd00:ec2::23", "100.100.100.200", "168.63.129.16",
    )
)
LOOPBACK_NETWORKS: tuple[IpNetwork, ...] = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))
LOOPBACK_NAMES = frozenset({"localhost"})
DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)*$")

# (host, port) -> every address the name resolves to.
Resolver = Callable[[str, int], list[str]]
# (issuer or "*", tenant or "*", allowed server patterns): CDS_FHIR_ALLOWED_SERVERS as config/fhir.py reads it.
ServerGrant = tuple[str, str, tuple[str, ...]]


def system_resolver(host: str, port: int) -> list[str]:
    """Return every address the host resolves to (the system resolver, one lookup)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class Origin:
    """Scheme, host (lower case, IPv6 without brackets) and port, the default port made explicit."""

    scheme: str
    host: str
    port: int

    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


def _ip(host: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def split_url(url: str) -> tuple[Origin, str]:
    """Return the origin and path of an absolute http(s) URL; raise FhirRefused for anything else."""
    if any(ch.isspace() or ord(ch) < 0x20 or ch == "\\" for ch in url) or not url.isascii():
        raise FhirRefused("the URL has characters a FHIR base URL cannot have")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise FhirRefused("the URL is malformed") from None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if scheme not in DEFAULT_PORTS:
        raise FhirRefused("the URL must use https")
    if not host or "@" in parts.netloc:
        raise FhirRefused("the URL must name a host and hold no user name or password")
    if _ip(host) is None and not _HOST.match(host):
        raise FhirRefused("the URL's host name is malformed")
    return Origin(scheme, host, port or DEFAULT_PORTS[scheme]), parts.path


@dataclass(frozen=True)
class ServerPattern:
    """One allowed server: a base URL (the path is a prefix) or `https://*.domain` for every subdomain."""

    scheme: str
    host: str
    wildcard: bool
    port: int
    path: str

    @classmethod
    def parse(cls, text: str) -> ServerPattern:
        wildcard = "://*." in text
        origin, path = split_url(text.replace("://*.", "://", 1))
        return cls(origin.scheme, origin.host, wildcard, origin.port, path.rstrip("/"))

    def matches(self, origin: Origin, path: str) -> bool:
        if (origin.scheme, origin.port) != (self.scheme, self.port):
            return False
        if self.wildcard:
            return origin.host.endswith("." + self.host)
        if origin.host != self.host:
            return False
        return not self.path or path.rstrip("/") == self.path or path.startswith(self.path + "/")


@dataclass(frozen=True)
class Target:
    """A checked FHIR server: its base URL, its origin and the one address we connect to."""

    base_url: str
    origin: Origin
    address: str


def _is_loopback_origin(origin: Origin) -> bool:
    address = _ip(origin.host)
    return origin.host in LOOPBACK_NAMES or (address is not None and address.is_loopback)


class FhirPolicy:
    """Decide whether a `fhirServer` may be contacted for a caller, and pin the address to use."""

    def __init__(
        self,
        grants: Iterable[ServerGrant] = (),
        open_servers: Iterable[str] = (),
        allowed_networks: Iterable[str] = (),
        *,
        development: bool = False,
        resolver: Resolver = system_resolver,
    ) -> None:
        self._grants = [(issuer, tenant, [ServerPattern.parse(p) for p in patterns])
                        for issuer, tenant, patterns in grants]
        self._open = [ServerPattern.parse(p) for p in open_servers]
        networks = [ipaddress.ip_network(n, strict=False) for n in allowed_networks]
        self._networks = networks + list(LOOPBACK_NETWORKS) if development else networks
        self._development = development
        self._resolve = resolver

    def _caller_patterns(self, issuer: str | None, tenant: str | None) -> list[ServerPattern]:
        return [
            pattern
            for grant_issuer, grant_tenant, patterns in self._grants
            if grant_issuer in ("*", issuer) and grant_tenant in ("*", tenant)
            for pattern in patterns
        ]

    def check(self, fhir_server: str, *, issuer: str | None, tenant: str | None, with_token: bool) -> Target:
        """Return the checked target for `fhir_server`, or raise FhirRefused before any traffic.

        Raises:
            FhirRefused: the server is not allowed for this caller, or resolves to a refused address.
            FhirUnavailable: the host name cannot be resolved.
        """
        origin, path = split_url(fhir_server)
        dev_loopback = self._development and _is_loopback_origin(origin)
        if not dev_loopback:
            patterns = self._caller_patterns(issuer, tenant)
            if not any(p.matches(origin, path) for p in patterns):
                as_https = Origin("https", origin.host, DEFAULT_PORTS["https"] if origin.port == 80 else origin.port)
                if origin.scheme == "http" and any(p.matches(as_https, path) for p in patterns):
                    raise FhirRefused("fhirServer must use https (plain http only for servers allowed in settings)")
                raise FhirRefused("fhirServer is not an allowed FHIR server for this caller")
            if not with_token and not any(p.matches(origin, path) for p in self._open):
                raise FhirRefused("no fhirAuthorization was sent and fhirServer is not an open server in settings")
        address = self._checked_address(origin)
        return Target(base_url=fhir_server.rstrip("/"), origin=origin, address=address)

    def _checked_address(self, origin: Origin) -> str:
        literal = _ip(origin.host)
        if literal is not None:
            candidates = [str(literal)]
        elif origin.host in LOOPBACK_NAMES:
            candidates = ["127.0.0.1"]  # never ask DNS what localhost is
        else:
            try:
                candidates = self._resolve(origin.host, origin.port)
            except OSError:
                raise FhirUnavailable("the FHIR server's host name cannot be resolved") from None
        if not candidates:
            raise FhirUnavailable("the FHIR server's host name cannot be resolved")
        # Every answer must pass: one bad address among good ones is how rebinding attacks start.
        for candidate in candidates:
            self._check_address(candidate)
        return candidates[0]

    def _check_address(self, text: str) -> None:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if address in METADATA_ADDRESSES:
            raise FhirRefused("fhirServer resolves to a cloud metadata address")
        if any(address in network for network in self._networks):
            return
        if not address.is_global or address.is_multicast or address.is_reserved or address.is_unspecified:
            raise FhirRefused("fhirServer resolves to a loopback, private or link-local address")

    @staticmethod
    def same_origin(url: str, target: Target) -> bool:
        """Tell whether `url` is on the target's origin (the only origin that gets the token)."""
        try:
            origin, _ = split_url(url)
        except FhirRefused:
            return False
        return origin == target.origin
