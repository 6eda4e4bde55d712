"""The deploy files, checked without Docker or a cluster: each validator the registries ship (yamllint,
kubernetes-validate with its bundled schemas, check-jsonschema with its vendored compose spec, hadolint),
each shown to reject a broken file, and the facts that tie the files to the service and to each other."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
import yaml

from cds_service.config import PROJECT_ROOT, Settings

BIN = Path(sys.executable).parent
DEPLOY = PROJECT_ROOT / "deploy"
K8S = DEPLOY / "k8s"
MANIFESTS = sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")  # the oldest with the preStop sleep action on by default; the newest shipped


def run(tool: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / tool), *map(str, args)], capture_output=True, text=True, timeout=120)


def load_all(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def manifest(kind: str, name: str = "nxp2-cds") -> dict[str, Any]:
    found = [doc for path in MANIFESTS for doc in load_all(path)
             if doc["kind"] == kind and doc["metadata"]["name"] == name]
    assert len(found) == 1, (kind, name)
    return found[0]


# --- validators -------------------------------------------------------------------------------------------

def test_yamllint_passes() -> None:
    result = run("yamllint", "--strict", "-c", DEPLOY / ".yamllint.yaml", DEPLOY)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_manifests_match_the_kubernetes_schemas(version: str) -> None:
    result = run("kubernetes-validate", "--strict", "-k", version, *MANIFESTS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("passed for resource") == len(MANIFESTS), result.stdout


def test_compose_matches_the_compose_specification() -> None:
    result = run("check-jsonschema", "--builtin-schema", "vendor.compose-spec", DEPLOY / "compose.yaml")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("dockerfile", ["Dockerfile", "Dockerfile.fhir"])
def test_hadolint_passes(dockerfile: str) -> None:
    result = run("hadolint", DEPLOY / dockerfile)
    assert result.returncode == 0, result.stdout + result.stderr


def test_each_validator_rejects_a_broken_file(tmp_path: Path) -> None:
    """Controls: a validator that cannot fail would make the four tests above worthless."""
    deployment = (K8S / "deployment.yaml").read_text().replace("replicas: 2", "replicas: two")
    (tmp_path / "deployment.yaml").write_text(deployment)
    assert run("kubernetes-validate", "--strict", tmp_path / "deployment.yaml").returncode != 0
    unknown_field = (K8S / "service.yaml").read_text().replace("  type: ClusterIP", "  typo: ClusterIP")
    (tmp_path / "service.yaml").write_text(unknown_field)
    assert run("kubernetes-validate", "--strict", tmp_path / "service.yaml").returncode != 0

    compose = (DEPLOY / "compose.yaml").read_text().replace("restart: unless-stopped", "restart: [sometimes]", 1)
    (tmp_path / "compose.yaml").write_text(compose)
    assert run("check-jsonschema", "--builtin-schema", "vendor.compose-spec", tmp_path / "compose.yaml").returncode != 0

    (tmp_path / "Dockerfile").write_text("FROM python:latest\nRUN apt-get update && apt-get install -y curl\n")
    assert run("hadolint", tmp_path / "Dockerfile").returncode != 0

    (tmp_path / "dup.yaml").write_text("a: 1\na: 2\n")
    assert run("yamllint", "-c", DEPLOY / ".yamllint.yaml", tmp_path / "dup.yaml").returncode != 0


# --- the Dockerfile -----------------------------------------------------------------------------------------

DOCKERFILE = (DEPLOY / "Dockerfile").read_text()


def instructions(name: str, text: str = DOCKERFILE) -> list[str]:
    joined = re.sub(r"\\\n\s*", " ", text)  # continuation lines
    return [line.split(None, 1)[1] for line in joined.splitlines() if line.startswith(f"{name} ")]


def test_the_image_is_slim_python_3_11_running_as_a_non_root_uid() -> None:
    assert all(base.startswith("python:3.11-slim") for base in instructions("FROM"))
    (user,) = instructions("USER")
    uid = int(user.split(":")[0])
    assert uid != 0
    deployment_uid = manifest("Deployment")["spec"]["template"]["spec"]["securityContext"]["runAsUser"]
    assert deployment_uid == uid


def test_the_image_installs_the_package_and_its_catalogue_and_runs_gunicorn() -> None:
    assert any("pip install --no-cache-dir ." in run_ for run_ in instructions("RUN"))
    assert "COPY cards ./cards" in DOCKERFILE
    assert "CDS_CATALOGUE_DIR=/app/cards" in DOCKERFILE
    (command,) = instructions("CMD")
    assert command == '["gunicorn", "--config", "/app/gunicorn.conf.py", "cds_service.wsgi:app"]'
    (check,) = instructions("HEALTHCHECK")
    assert check.endswith('CMD ["python", "/app/healthcheck.py"]')


@pytest.mark.parametrize("dockerfile", ["Dockerfile", "Dockerfile.fhir"])
def test_every_file_the_image_copies_exists_and_is_in_the_build_context(dockerfile: str) -> None:
    ignore = (DEPLOY / f"{dockerfile}.dockerignore").read_text().splitlines()
    included = {line[1:] for line in ignore if line.startswith("!")}
    for copy in instructions("COPY", (DEPLOY / dockerfile).read_text()):
        if copy.startswith("--from="):
            continue
        for source in copy.split()[:-1]:
            assert (PROJECT_ROOT / source).exists(), source
            assert source.rstrip("/") in included, f"{source} is excluded by Dockerfile.dockerignore"


# --- Kubernetes ---------------------------------------------------------------------------------------------

def test_kustomization_lists_every_manifest() -> None:
    kustomization = load_all(K8S / "kustomization.yaml")[0]
    assert sorted(kustomization["resources"]) == sorted(p.name for p in MANIFESTS)
    for generator in kustomization["configMapGenerator"]:
        for file in generator["files"]:
            assert (K8S / file).exists(), file


def pod_spec() -> dict[str, Any]:
    spec: dict[str, Any] = manifest("Deployment")["spec"]["template"]["spec"]
    return spec


def container(name: str) -> dict[str, Any]:
    (found,) = [c for c in pod_spec()["containers"] if c["name"] == name]
    return found


LOCKED_DOWN = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "privileged": False,
               "capabilities": {"drop": ["ALL"]}}


def test_the_pod_runs_the_service_behind_its_proxy_locked_down() -> None:
    pod, cds, proxy = pod_spec(), container("cds"), container("proxy")
    assert pod["securityContext"]["runAsNonRoot"] is True
    # gunicorn listens on the pod's loopback: every request from outside passes the proxy first.
    (bind,) = [e["value"] for e in cds["env"] if e["name"] == "CDS_BIND"]
    assert bind.startswith("127.0.0.1:")
    proxy_env = {e["name"]: e["value"] for e in proxy["env"]}
    assert proxy_env["NGINX_UPSTREAM"] == bind
    (http,) = [p for p in proxy["ports"] if p["name"] == "http"]
    assert str(http["containerPort"]) == proxy_env["NGINX_PORT"]
    assert cds["securityContext"] == LOCKED_DOWN
    assert {k: v for k, v in proxy["securityContext"].items() if k in LOCKED_DOWN} == LOCKED_DOWN
    for each in (cds, proxy):
        assert set(each["resources"]["requests"]) == {"cpu", "memory"}
        assert "memory" in each["resources"]["limits"]
    # A read-only root file system: gunicorn's heartbeat files and CDS_DATA_DIR need writable mounts, nginx
    # its rendered configuration and /tmp.
    assert {"/tmp", manifest("ConfigMap")["data"]["CDS_DATA_DIR"]} <= {m["mountPath"] for m in cds["volumeMounts"]}
    assert {"/tmp", "/etc/nginx/conf.d"} <= {m["mountPath"] for m in proxy["volumeMounts"]}


def test_liveness_is_healthz_and_readiness_is_readyz() -> None:
    proxy = container("proxy")
    assert proxy["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert proxy["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert proxy["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}


def test_metrics_stay_off_the_public_port() -> None:
    config = manifest("ConfigMap")["data"]
    metrics_port = int(config["CDS_METRICS_BIND"].rsplit(":", 1)[1])
    assert [p["containerPort"] for p in container("cds")["ports"]] == [metrics_port]
    annotations = manifest("Deployment")["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(metrics_port)
    assert [p["targetPort"] for p in manifest("Service")["spec"]["ports"]] == ["http"]  # the proxy only
    assert "location = /metrics {\n        return 404;" in (K8S / "nginx.conf.template").read_text()


def test_the_objects_refer_to_each_other() -> None:
    deployment, service = manifest("Deployment"), manifest("Service")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert service["spec"]["selector"].items() <= labels.items()
    assert manifest("PodDisruptionBudget")["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    target = manifest("HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    hpa_min = manifest("HorizontalPodAutoscaler")["spec"]["minReplicas"]
    assert manifest("PodDisruptionBudget")["spec"]["minAvailable"] < hpa_min  # a drain can always evict one
    sources = container("cds")["envFrom"]
    assert {s.get("configMapRef", s.get("secretRef"))["name"] for s in sources} == {
        manifest("ConfigMap")["metadata"]["name"], manifest("Secret")["metadata"]["name"],
    }
    generated = {g["name"] for g in load_all(K8S / "kustomization.yaml")[0]["configMapGenerator"]}
    for volume in pod_spec()["volumes"]:
        if "configMap" in volume:
            name = volume["configMap"]["name"]
            assert name in generated or manifest("ConfigMap", name), name
    mounts = {m["name"] for c in pod_spec()["containers"] for m in c["volumeMounts"]}
    assert mounts == {v["name"] for v in pod_spec()["volumes"]}


def test_the_secret_holds_placeholders_only() -> None:
    secret = manifest("Secret")
    assert "data" not in secret  # stringData only: nothing base64-encoded to hide a real value
    for name, value in secret["stringData"].items():
        assert "CHANGE-ME" in value, name


# --- settings named in the deploy files ---------------------------------------------------------------------

GUNICORN_VARIABLES = set(re.findall(r"os\.environ\.get\(\"(CDS_\w+)\"", (DEPLOY / "gunicorn.conf.py").read_text()))
SETTING_VARIABLES = {f.metadata["env"] for f in fields(Settings)}


def compose_environment(service: str) -> dict[str, str]:
    return {k: str(v) for k, v in load_all(DEPLOY / "compose.yaml")[0]["services"][service]["environment"].items()}


@pytest.mark.parametrize("source", ["configmap", "secret", "compose"])
def test_every_variable_set_is_a_known_setting_with_a_valid_value(source: str) -> None:
    values = {
        "configmap": lambda: manifest("ConfigMap")["data"],
        "secret": lambda: manifest("Secret")["stringData"],
        "compose": lambda: {k: v.replace("${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}", "pw")
                            for k, v in compose_environment("cds").items()},
    }[source]()
    assert set(values) <= SETTING_VARIABLES | GUNICORN_VARIABLES
    Settings.from_env({k: v for k, v in values.items() if k in SETTING_VARIABLES})  # raises if one is malformed


def test_production_settings_in_kubernetes() -> None:
    config = manifest("ConfigMap")["data"]
    assert config["CDS_MODE"] == "production"
    assert config["CDS_PUBLIC_BASE_URL"].startswith("https://")
    # Several replicas need the shared database: the embedded SQLite file would be per pod.
    assert manifest("Secret")["stringData"]["CDS_DATABASE_URL"].startswith("postgresql://")


def test_the_compose_stack_runs_the_service_behind_its_proxy_on_postgres_beside_the_demo_fhir_server() -> None:
    services = load_all(DEPLOY / "compose.yaml")[0]["services"]
    assert set(services) == {"proxy", "cds", "postgres", "fhir"}
    assert services["cds"]["depends_on"] == {"postgres": {"condition": "service_healthy"},
                                             "fhir": {"condition": "service_healthy"}}
    assert "@postgres:5432/" in compose_environment("cds")["CDS_DATABASE_URL"]
    assert services["fhir"]["build"]["dockerfile"] == "deploy/Dockerfile.fhir"
    # The same proxy configuration as the Kubernetes sidecar, in front of the service's port.
    proxy = services["proxy"]
    assert proxy["image"] == container("proxy")["image"]
    (template,) = proxy["volumes"]
    assert template.startswith("./k8s/nginx.conf.template:/etc/nginx/templates/")
    assert proxy["environment"]["NGINX_UPSTREAM"] == "cds:" + compose_environment("cds")["CDS_BIND"].rsplit(":", 1)[1]
    assert "ports" not in services["cds"]  # reached through the proxy only
    for service in services.values():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), port  # published on the host's loopback only
