"""deploy/k8s rendered and read as Kubernetes would (no cluster): kustomize's output, the
objects in it by kind and name, their pod templates and containers, label selectors.
Shared by tests/deploy/test_k8s_*.py."""

from __future__ import annotations

import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes_validate import utils as kv

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
BASE = K8S / "base"
PRODUCTION = K8S / "overlays" / "production"
APP_ROLES = ("voting", "results", "worker")
WEB_ROLES = {"voting": 8000, "results": 8001}
# Every Deployment of the app: the roles and the front door in front of the web roles.
SERVING = (*APP_ROLES, "front-door")
FRONT_DOOR = BASE / "front-door"
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job", "DaemonSet", "CronJob")
# The oldest Kubernetes the manifests promise (kubectl here is 1.32) and the newest the
# validator knows.
K8S_VERSIONS = ("1.32.0", kv.latest_version())
POD_TMP = "/tmp"  # noqa: S108 (a path inside the pods, not on this machine)
STD_LABELS = ("app.kubernetes.io/name", "app.kubernetes.io/component")
# Kinds whose schema the validator does not ship (custom resources): checked against
# their documented API fields instead (deploy/test_k8s_gateway.py, deploy/test_k8s_production.py).
CUSTOM_KINDS = {
    "Gateway",
    "HTTPRoute",
    "Cluster",
    "ScheduledBackup",
    "ObjectStore",
    "ServiceMonitor",
    "PodMonitor",
}

Manifest = dict[str, Any]


def kustomize(target: Path) -> tuple[Manifest, ...]:
    """`kubectl kustomize TARGET`, parsed: what `kubectl apply -k` would send."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.fail(
            "kubectl is not installed: these tests render deploy/k8s with "
            "`kubectl kustomize` (install kubectl 1.32+, which includes kustomize)"
        )
    done = subprocess.run(
        [kubectl, "kustomize", str(target)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"kubectl kustomize {target} failed:\n{done.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(done.stdout) if doc)


@cache
def render(target: Path = K8S) -> tuple[Manifest, ...]:
    return kustomize(target)


def named(manifest: Manifest, name: str) -> bool:
    """The object's name, or a generated ConfigMap's name with kustomize's hash after it."""
    actual = manifest["metadata"]["name"]
    if manifest["kind"] == "ConfigMap":
        return (
            actual == name or re.fullmatch(rf"{re.escape(name)}-[a-z0-9]{{10}}", actual) is not None
        )
    return actual == name


def find(kind: str, name: str, target: Path = K8S) -> Manifest:
    found = [o for o in render(target) if o["kind"] == kind and named(o, name)]
    assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}"
    return found[0]


def of_kind(kind: str, target: Path = K8S) -> list[Manifest]:
    return [o for o in render(target) if o["kind"] == kind]


def workloads(target: Path = K8S) -> list[Manifest]:
    return [o for o in render(target) if o["kind"] in WORKLOAD_KINDS]


def pod_template(workload: Manifest) -> Manifest:
    return workload["spec"]["template"]


def the_container(workload: Manifest) -> Manifest:
    containers = pod_template(workload)["spec"]["containers"]
    assert len(containers) == 1, f"{workload['metadata']['name']}: one container per pod"
    return containers[0]


def all_containers(workload: Manifest) -> list[Manifest]:
    spec = pod_template(workload)["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


def app_image() -> str:
    entry = yaml.safe_load((BASE / "kustomization.yaml").read_text())["images"]
    (image,) = [e for e in entry if e["name"] == "live-votes"]
    return f"{image['newName']}:{image['newTag']}"


def secret_template() -> Manifest:
    return yaml.safe_load((BASE / "secret.example.yaml").read_text())


def selects(selector: Manifest, labels: dict[str, str]) -> bool:
    """Kubernetes' label selector semantics (matchLabels and matchExpressions)."""
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions", []):
        present = expr["key"] in labels
        value = labels.get(expr["key"])
        if expr["operator"] == "In" and value not in expr["values"]:
            return False
        if expr["operator"] == "NotIn" and value in expr["values"]:
            return False
        if expr["operator"] == "Exists" and not present:
            return False
        if expr["operator"] == "DoesNotExist" and present:
            return False
    return True


def pods_selected(selector: Manifest, target: Path = K8S) -> set[str]:
    return {
        w["metadata"]["name"]
        for w in workloads(target)
        if selects(selector, pod_template(w)["metadata"]["labels"])
    }


# --- It renders and is valid --------------------------------------------------------
