"""The SSRF policy for `fhirServer` (issue 6 item 3): each refusal beside a valid control.

These tests only check and resolve; no traffic is sent (a fake resolver answers for host names, and the
autouse guard fails any connection beyond loopback).
"""

from __future__ import annotations

import pytest

from cds_service.config import Settings, SettingsError
from cds_service.fhir_client.errors import FhirRefused, FhirUnavailable
from cds_service.fhir_client.policy import FhirPolicy, Target
from cds_service.hooks.prefetch import fhir_policy

ISS = "https://ehr.example.org"
PUBLIC = "93.184.215.14"
DNS = {
    "fhir.example.org": [PUBLIC],
    "a.hospital.example.net": [PUBLIC],
    "internal.example.org": ["10.1.2.3"],
    "mixed.example.org": [PUBLIC, "192.168.1.7"],
    "metadata.example.org": ["169.254.169.254"],
    "rebind.example.org": ["::ffff:127.0.0.1"],
}


def resolver(host: str, port: int) -> list[str]:
    if host not in DNS:
        raise OSError("no such host")
    return DNS[host]


def policy(grants: dict[str, object] | None = None, *, open_servers: tuple[str, ...] = (),
           networks: tuple[str, ...] = (), mode: str = "production") -> FhirPolicy:
    import json

    env = {"CDS_MODE": mode, "CDS_FHIR_ALLOWED_SERVERS": json.dumps(grants or {}),
           "CDS_FHIR_OPEN_SERVERS": ",".join(open_servers), "CDS_FHIR_ALLOWED_NETWORKS": ",".join(networks)}
    return fhir_policy(Settings.from_env(env), resolver=resolver)


def check(p: FhirPolicy, url: str, issuer: str | None = ISS, tenant: str | None = None,
          with_token: bool = True) -> Target:
    return p.check(url, issuer=issuer, tenant=tenant, with_token=with_token)


def refusal(p: FhirPolicy, url: str, **kwargs: object) -> str:
    with pytest.raises(FhirRefused) as caught:
        check(p, url, **kwargs)  # type: ignore[arg-type]
    return caught.value.reason


def test_an_allowed_https_server_is_pinned_to_its_checked_address() -> None:
    target = check(policy({ISS: ["https://fhir.example.org/r4"]}), "https://fhir.example.org/r4/")
    assert (target.base_url, target.address, target.origin.url()) == (
        "https://fhir.example.org/r4", PUBLIC, "https://fhir.example.org:443")


def test_plain_http_is_refused_in_production_and_allowed_only_by_an_http_entry() -> None:
    https_only = policy({ISS: ["https://fhir.example.org"]})
    assert "https" in refusal(https_only, "http://fhir.example.org/r4")
    assert check(https_only, "https://fhir.example.org/r4").address == PUBLIC  # control
    assert check(policy({ISS: ["http://fhir.example.org"]}), "http://fhir.example.org/r4").address == PUBLIC


def test_a_server_not_allowed_for_the_issuer_is_refused() -> None:
    p = policy({"https://other-ehr.example.org": ["https://fhir.example.org"]})
    assert "not an allowed" in refusal(p, "https://fhir.example.org")
    assert check(p, "https://fhir.example.org", issuer="https://other-ehr.example.org").address == PUBLIC


def test_tenant_entries_apply_to_their_tenant_only() -> None:
    p = policy({ISS: {"hospital-a": ["https://*.hospital.example.net"], "*": ["https://fhir.example.org"]}})
    assert check(p, "https://a.hospital.example.net/fhir", tenant="hospital-a").address == PUBLIC
    refusal(p, "https://a.hospital.example.net/fhir", tenant="hospital-b")
    refusal(p, "https://a.hospital.example.net/fhir", tenant=None)
    assert check(p, "https://fhir.example.org", tenant="hospital-b").address == PUBLIC


def test_the_path_prefix_port_and_wildcard_must_match() -> None:
    p = policy({ISS: ["https://fhir.example.org/r4", "https://*.hospital.example.net"]})
    assert check(p, "https://fhir.example.org/r4/tenant1").address == PUBLIC
    refusal(p, "https://fhir.example.org/r4x")
    refusal(p, "https://fhir.example.org/other")
    refusal(p, "https://fhir.example.org:8443/r4")
    refusal(p, "https://hospital.example.net")  # the wildcard covers subdomains only
    refusal(p, "https://a.hospital.example.net.evil.org")


def test_the_star_issuer_covers_every_caller_including_unauthenticated_development_calls() -> None:
    p = policy({"*": ["https://fhir.example.org"]}, open_servers=("https://fhir.example.org",))
    assert check(p, "https://fhir.example.org", issuer=None, with_token=False).address == PUBLIC


def test_without_a_token_only_open_servers_are_read() -> None:
    closed = policy({ISS: ["https://fhir.example.org"]})
    assert "open server" in refusal(closed, "https://fhir.example.org", with_token=False)
    assert check(closed, "https://fhir.example.org", with_token=True).address == PUBLIC  # control
    opened = policy({ISS: ["https://fhir.example.org"]}, open_servers=("https://fhir.example.org",))
    assert check(opened, "https://fhir.example.org", with_token=False).address == PUBLIC


def test_loopback_is_refused_in_production_unless_its_network_is_allowed() -> None:
    grants = {ISS: ["http://127.0.0.1:8090", "http://localhost:8090"]}
    assert "loopback" in refusal(policy(grants), "http://127.0.0.1:8090/fhir")
    assert "loopback" in refusal(policy(grants), "http://localhost:8090/fhir")
    allowed = policy(grants, networks=("127.0.0.1/32",))
    assert check(allowed, "http://127.0.0.1:8090/fhir").address == "127.0.0.1"  # control


@pytest.mark.parametrize("host", ["10.0.0.5", "192.168.1.10", "172.16.3.4", "100.64.0.1", "[fd12::1]",
                                  "[fe80::1]", "0.0.0.0", "[::]", "224.0.0.1"])
def test_private_link_local_and_special_addresses_are_refused(host: str) -> None:
    p = policy({ISS: [f"https://{host}"]})
    assert "private" in refusal(p, f"https://{host}/fhir")


def test_a_private_address_is_allowed_when_its_network_is_configured() -> None:
    p = policy({ISS: ["https://10.0.0.5", "https://internal.example.org"]}, networks=("10.0.0.0/8",))
    assert check(p, "https://10.0.0.5/fhir").address == "10.0.0.5"
    assert check(p, "https://internal.example.org/fhir").address == "10.1.2.3"
    refusal(policy({ISS: ["https://internal.example.org"]}), "https://internal.example.org")


@pytest.mark.parametrize("host", ["169.254.169.254", "[fd00:ec2::254]", "100.100.100.200", "168.63.129.16"])
def test_metadata_addresses_are_refused_even_inside_allowed_networks(host: str) -> None:
    p = policy({ISS: [f"http://{host}"]}, networks=("169.254.0.0/16", "fd00::/8", "100.64.0.0/10", "168.63.0.0/16"))
    assert "metadata" in refusal(p, f"http://{host}/latest/meta-data")


def test_link_local_other_than_metadata_follows_the_allowed_networks() -> None:
    grants = {ISS: ["https://169.254.10.10"]}
    refusal(policy(grants), "https://169.254.10.10")
    assert check(policy(grants, networks=("169.254.0.0/16",)), "https://169.254.10.10").address == "169.254.10.10"


def test_names_are_checked_after_resolution_and_every_answer_must_pass() -> None:
    p = policy({ISS: ["https://*.example.org"]})
    assert "private" in refusal(p, "https://internal.example.org")
    assert "private" in refusal(p, "https://mixed.example.org")  # one bad answer among good ones
    assert "metadata" in refusal(p, "https://metadata.example.org")
    assert "private" in refusal(p, "https://rebind.example.org")  # IPv4-mapped IPv6 loopback
    assert check(p, "https://fhir.example.org").address == PUBLIC  # control


def test_an_unresolvable_host_is_unavailable_not_refused() -> None:
    with pytest.raises(FhirUnavailable):
        check(policy({ISS: ["https://*.example.org"]}), "https://nowhere.example.org")


def test_a_numeric_host_that_hides_loopback_is_refused() -> None:
    p = FhirPolicy([(ISS, "*", ("http://2130706433",))])  # the system resolver reads it as 127.0.0.1
    assert "private" in refusal(p, "http://2130706433/fhir")


@pytest.mark.parametrize("url", [
    "https://user:pw@fhir.example.org/r4", "ftp://fhir.example.org", "https:///r4", "https://fhir.example.org:99999",
    "https://fhir.example.org\\@evil.org", "https://fhir.example.org /x", "https://fhír.example.org",
    "file:///etc/passwd", "gopher://fhir.example.org",
])
def test_malformed_or_odd_urls_are_refused(url: str) -> None:
    refusal(policy({ISS: ["https://fhir.example.org"]}), url)


def test_development_allows_loopback_http_on_any_port_with_or_without_token() -> None:
    p = policy(mode="development")
    for url in ("http://127.0.0.1:8090/fhir", "http://localhost:1234/fhir", "https://[::1]:9/fhir"):
        check(p, url, issuer=None, with_token=False)
    refusal(p, "http://fhir.example.org", issuer=None)  # only loopback
    refusal(p, "http://10.0.0.5:8090/fhir", issuer=None)


@pytest.mark.parametrize("raw", ['{"iss": "https://x.org"}', '["https://x.org"]', '{"iss": ["https://x.org/*"]}',
                                 '{"iss": ["https://u@x.org"]}', '{"": ["https://x.org"]}', "not json",
                                 '{"iss": {"": ["https://x.org"]}}', '{"iss": ["https://x.org?q=1"]}'])
def test_a_malformed_allowed_servers_setting_stops_start_up(raw: str) -> None:
    with pytest.raises(SettingsError, match="CDS_FHIR_ALLOWED_SERVERS"):
        Settings.from_env({"CDS_FHIR_ALLOWED_SERVERS": raw})


def test_a_malformed_network_stops_start_up() -> None:
    with pytest.raises(SettingsError, match="CDS_FHIR_ALLOWED_NETWORKS"):
        Settings.from_env({"CDS_FHIR_ALLOWED_NETWORKS": "10.0.0.0/33"})
