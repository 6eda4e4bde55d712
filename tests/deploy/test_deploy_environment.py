"""The environment each deploy file gives the service's container, run through the service's own checks.

For Kubernetes: the image's ENV, then the ConfigMap, the Secret and the Deployment's env, with the mounted
ConfigMaps (the issuers' JWK Sets) written where the container would see them. For compose: the image's ENV
and the `cds` service's environment. Each is handed to `nxp2-cds settings` (the check gunicorn.conf.py and
the app run at start) in a subprocess: it must pass with the example values, the values the operator must
replace must be exactly those docs/deploy.md lists, and the controls show the check would catch the
mistakes issue 20 found (no issuer, an http public URL, a FHIR server outside the allowed networks).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cds_service.auth.demo import DEMO_ISSUER
from cds_service.config import PROJECT_ROOT, Settings
from cds_service.fhir_client.errors import FhirRefused
from cds_service.hooks.prefetch import fhir_policy
from tests.deploy.test_deploy_files import DEPLOY, load_all, manifest

NXP2_CDS = Path(sys.executable).parent / "nxp2-cds"
PLACEHOLDER = re.compile(r"example\.(org|net|com)|CHANGE-ME")


def image_environment(dockerfile: Path = DEPLOY / "Dockerfile") -> tuple[dict[str, str], str]:
    """Return the final stage's ENV values and its WORKDIR, as the container starts with them."""
    text = re.sub(r"\\\n\s*", " ", dockerfile.read_text())
    final = text.split("\nFROM ")[-1]
    env: dict[str, str] = {}
    for line in final.splitlines():
        if line.startswith("ENV "):
            env.update(dict(pair.split("=", 1) for pair in line[4:].split()))
    (workdir,) = re.findall(r"^WORKDIR (\S+)", final, re.MULTILINE)
    return {k: v for k, v in env.items() if k.startswith("CDS_")}, workdir


def _on_this_machine(env: dict[str, str], folders: dict[str, Path]) -> dict[str, str]:
    """Point the container's paths at local folders holding the same files (one pass, longest path first)."""
    inside = "|".join(re.escape(path) for path in sorted(folders, key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w/.])({inside})(?=/|\"|$)")
    return {name: pattern.sub(lambda match: str(folders[match.group(1)]), value) for name, value in env.items()}


def kubernetes_environment(tmp_path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Return (the cds container's environment as written, the same with local paths)."""
    image, workdir = image_environment()
    pod = manifest("Deployment")["spec"]["template"]["spec"]
    (container,) = [c for c in pod["containers"] if c["name"] == "cds"]
    env = dict(image)
    for source in container["envFrom"]:
        if "configMapRef" in source:
            env.update(manifest("ConfigMap", source["configMapRef"]["name"])["data"])
        else:
            env.update(manifest("Secret", source["secretRef"]["name"])["stringData"])
    env.update({item["name"]: item["value"] for item in container.get("env", [])})
    folders = {f"{workdir}/cards": PROJECT_ROOT / "cards"}  # COPY cards ./cards
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    for mount in container["volumeMounts"]:
        local = tmp_path / mount["name"]
        local.mkdir()
        if "configMap" in volumes[mount["name"]]:  # write the ConfigMap's keys as the files the pod sees
            for key, content in manifest("ConfigMap", volumes[mount["name"]]["configMap"]["name"])["data"].items():
                (local / key).write_text(content)
        folders[mount["mountPath"]] = local
    return env, _on_this_machine(env, folders)


def compose_environment(tmp_path: Path) -> tuple[dict[str, str], dict[str, str]]:
    image, workdir = image_environment()
    service = load_all(DEPLOY / "compose.yaml")[0]["services"]["cds"]
    written = {k: re.sub(r"\$\{POSTGRES_PASSWORD:\?[^}]*\}", "example-password", str(v))
               for k, v in service["environment"].items()}
    env = image | written
    folders = {f"{workdir}/cards": PROJECT_ROOT / "cards", env["CDS_DATA_DIR"]: tmp_path / "data"}
    return env, _on_this_machine(env, folders)


def settings_check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run `nxp2-cds settings` with exactly these CDS_* variables (and none from the test's own environment)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CDS_")} | env
    return subprocess.run([str(NXP2_CDS), "settings"], env=clean, capture_output=True, text=True, timeout=60,
                          cwd=PROJECT_ROOT)


def documented_replacements() -> set[str]:
    """The names docs/deploy.md lists under "Before you apply" (first backticked word of each item)."""
    text = (PROJECT_ROOT / "docs" / "deploy.md").read_text()
    section = text.split("### Before you apply", 1)[1].split("\n#", 1)[0]
    return set(re.findall(r"^- `([^`]+)`", section, re.MULTILINE))


# --- Kubernetes ---------------------------------------------------------------------------------------------

def test_the_kubernetes_environment_passes_the_services_own_check(tmp_path: Path) -> None:
    _, env = kubernetes_environment(tmp_path)
    result = settings_check(env)
    assert result.returncode == 0, result.stderr
    assert "nxp2-cds settings (production mode):" in result.stdout
    assert "trusted JWT issuers: https://ehr.example.org" in result.stdout
    settings = Settings.from_env(env)
    assert settings.public_base_url.startswith("https://")
    assert settings.jwt_issuers[0].jwks_file == tmp_path / "issuers" / "ehr-example-jwks.json"
    assert settings.fhir_allowed_servers and settings.fhir_allowed_networks


def test_what_the_operator_must_replace_is_named_in_docs_deploy(tmp_path: Path) -> None:
    written, _ = kubernetes_environment(tmp_path)
    placeholders = {name for name, value in written.items() if PLACEHOLDER.search(value)}
    issuers = manifest("ConfigMap", "nxp2-cds-issuers")["data"]
    placeholders |= {f"issuers.yaml: {key}" for key, value in issuers.items() if PLACEHOLDER.search(value)}
    images = {c["image"] for c in manifest("Deployment")["spec"]["template"]["spec"]["containers"]}
    placeholders |= {"image" for image in images if PLACEHOLDER.search(image)}
    assert {"CDS_PUBLIC_BASE_URL", "CDS_JWT_ISSUERS", "CDS_DATABASE_URL", "image"} <= placeholders  # control
    assert placeholders == documented_replacements()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param({"CDS_JWT_ISSUERS": None}, "production mode needs at least one trusted issuer", id="no-issuer"),
        pytest.param({"CDS_PUBLIC_BASE_URL": None}, "CDS_PUBLIC_BASE_URL", id="no-public-url"),
        pytest.param({"CDS_PUBLIC_BASE_URL": "http://cds.example.org"}, "https", id="http-public-url"),
    ],
)
def test_the_check_refuses_what_issue_20_found(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    _, env = kubernetes_environment(tmp_path)
    env = {k: v for k, v in (env | change).items() if v is not None}
    result = settings_check(env)
    assert result.returncode == 2
    assert message in result.stderr


# --- compose ------------------------------------------------------------------------------------------------

def test_the_compose_environment_passes_the_services_own_check(tmp_path: Path) -> None:
    _, env = compose_environment(tmp_path)
    result = settings_check(env)
    assert result.returncode == 0, result.stderr
    assert "DEVELOPMENT MODE" in result.stdout
    assert Settings.from_env(env).demo_fhir_url == "http://fhir:8090/fhir"


def test_the_compose_service_may_fetch_from_the_demo_fhir_server_on_the_stacks_network(tmp_path: Path) -> None:
    _, env = compose_environment(tmp_path)
    settings = Settings.from_env(env)
    stack = load_all(DEPLOY / "compose.yaml")[0]
    (subnet,) = [c["subnet"] for c in stack["networks"]["default"]["ipam"]["config"]]
    assert env["CDS_FHIR_ALLOWED_NETWORKS"] == subnet
    inside = fhir_policy(settings, resolver=lambda host, port: ["172.28.0.7"])
    # What the demo page sends (fhirServer, no fhirAuthorization), for the demo EHR and for a call without a JWT.
    for issuer in (DEMO_ISSUER, None):
        target = inside.check(settings.demo_fhir_url, issuer=issuer, tenant=None, with_token=False)
        assert target.address == "172.28.0.7"
    outside = fhir_policy(settings, resolver=lambda host, port: ["10.1.2.3"])
    with pytest.raises(FhirRefused):  # control: another private network stays refused
        outside.check(settings.demo_fhir_url, issuer=DEMO_ISSUER, tenant=None, with_token=False)


def test_compose_installs_nothing_at_start() -> None:
    services = load_all(DEPLOY / "compose.yaml")[0]["services"]
    for name, service in services.items():
        command = " ".join(map(str, service.get("command", []) or []))
        assert "pip install" not in command and "apt-get" not in command, name
        assert "image" in service, name  # a pinned image, or one built by `--build` before anything starts
