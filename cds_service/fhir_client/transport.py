"""A requests adapter locked to one checked origin and one checked address.

Written by hand because requests and urllib3 have no option for it: urllib3 resolves the host again on
every new connection, so a DNS answer that changed after the policy's check (DNS rebinding) could send
the access token to an internal address. Here every connection goes to the address the policy checked,
while the Host header, TLS SNI and certificate check still use the host name. A request for any other
origin is refused before a connection is made, and no proxy is used (it would bypass the pin).
"""

from __future__ import annotations

import socket
from typing import Any

from requests import PreparedRequest
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util.connection import create_connection

from cds_service.fhir_client.errors import FhirRefused
from cds_service.fhir_client.policy import FhirPolicy, Target


def _pinned(base: type[HTTPConnection], address: str) -> type[HTTPConnection]:
    """Return a subclass of `base` whose sockets connect to `address` instead of resolving the host."""

    class PinnedConnection(base):  # type: ignore[valid-type,misc]
        def _new_conn(self) -> socket.socket:
            try:
                return create_connection(
                    (address, self.port), self.timeout,
                    source_address=self.source_address, socket_options=self.socket_options,
                )
            except TimeoutError as error:
                raise ConnectTimeoutError(self, "connection to the FHIR server timed out") from error
            except OSError as error:
                raise NewConnectionError(self, f"cannot connect to the FHIR server: {error}") from error

    return PinnedConnection


class PinnedAdapter(HTTPAdapter):
    """Send requests only to `target.origin`, over connections to `target.address`."""

    def __init__(self, target: Target, pool_size: int) -> None:
        self._target = target
        self._connection_classes = {
            "http": _pinned(HTTPConnection, target.address),
            "https": _pinned(HTTPSConnection, target.address),
        }
        super().__init__(pool_connections=1, pool_maxsize=pool_size, max_retries=0)

    def get_connection_with_tls_context(
        self, request: PreparedRequest, verify: Any, proxies: Any = None, cert: Any = None
    ) -> HTTPConnectionPool:
        if not FhirPolicy.same_origin(request.url or "", self._target):
            raise FhirRefused("a request to another origin than fhirServer was refused")
        if proxies:
            raise FhirRefused("FHIR requests never go through a proxy")
        pool = super().get_connection_with_tls_context(request, verify, None, cert)
        assert isinstance(pool, HTTPConnectionPool)
        pool.ConnectionCls = self._connection_classes[self._target.origin.scheme]
        return pool
