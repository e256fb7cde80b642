"""deploy/k8s/overlays/production: the base with a CloudNativePG cluster in place of the
single Postgres, continuous WAL archiving and nightly backups, DATABASE_URL from the
operator's secret, the security settings on, the image from a registry and Prometheus
Operator monitors. Custom resources are checked against their documented API fields
(tests/support/custom_resources.py names the versions)."""

from __future__ import annotations

import copy

import jsonschema
import pytest

from tests.support import custom_resources
from tests.support.k8s import (
    APP_ROLES,
    K8S,
    PRODUCTION,
    all_containers,
    find,
    of_kind,
    pod_template,
    selects,
    the_container,
    workloads,
)

CNPG_PLUGIN = "barman-cloud.cloudnative-pg.io"


def test_the_single_postgres_is_replaced_by_a_three_instance_cluster() -> None:
    names = {(o["kind"], o["metadata"]["name"]) for o in of_kind("StatefulSet", PRODUCTION)}
    assert names == {("StatefulSet", "redis")}
    services = {s["metadata"]["name"] for s in of_kind("Service", PRODUCTION)}
    assert not {"postgres", "postgres-headless"} & services
    cluster = find("Cluster", "live-votes-db", PRODUCTION)["spec"]
    assert cluster["instances"] == 3
    # One instance per node, and a commit waits for a replica: a failover loses no vote
    # the worker has stored.
    assert cluster["affinity"]["enablePodAntiAffinity"] is True
    assert cluster["affinity"]["podAntiAffinityType"] == "required"
    assert cluster["affinity"]["topologyKey"] == "kubernetes.io/hostname"
    assert cluster["postgresql"]["synchronous"]["number"] >= 1
    assert cluster["resources"]["requests"] == cluster["resources"]["limits"]
    assert cluster["bootstrap"]["initdb"] == {"database": "votingsite", "owner": "votingsite"}


def test_wal_is_archived_and_a_base_backup_is_taken_every_night() -> None:
    cluster = find("Cluster", "live-votes-db", PRODUCTION)
    (plugin,) = cluster["spec"]["plugins"]
    assert plugin["name"] == CNPG_PLUGIN
    assert plugin["isWALArchiver"] is True
    store = find("ObjectStore", plugin["parameters"]["barmanObjectName"], PRODUCTION)
    configuration = store["spec"]["configuration"]
    assert configuration["destinationPath"].startswith("s3://")
    assert configuration["wal"]["compression"]
    assert store["spec"]["retentionPolicy"] == "30d"
    for key in ("accessKeyId", "secretAccessKey"):
        assert configuration["s3Credentials"][key]["name"] == "live-votes-backup-credentials"
    (backup,) = of_kind("ScheduledBackup", PRODUCTION)
    spec = backup["spec"]
    assert spec["cluster"] == {"name": cluster["metadata"]["name"]}
    assert spec["method"] == "plugin"
    assert spec["pluginConfiguration"] == {"name": CNPG_PLUGIN}
    seconds, minutes, hours, *rest = spec["schedule"].split()
    assert (seconds, minutes, rest) == ("0", "0", ["*", "*", "*"]), "once a day"
    assert 0 <= int(hours) <= 23


def test_every_app_container_reads_the_database_url_from_the_operators_secret() -> None:
    """As a file: the secret's key uri mounted, named by DATABASE_URL_FILE."""
    seen = 0
    for w in workloads(PRODUCTION):
        if w["metadata"]["labels"]["app.kubernetes.io/name"] != "live-votes":
            continue
        volumes = {v["name"]: v for v in pod_template(w)["spec"].get("volumes", [])}
        for c in all_containers(w):
            env = {e["name"]: e for e in c.get("env", [])}
            if w["metadata"]["name"] == "front-door":
                assert not {"DATABASE_URL", "DATABASE_URL_FILE"} & set(env)
                continue
            where = (w["metadata"]["name"], c["name"])
            path = env["DATABASE_URL_FILE"]["value"]
            (mount,) = [m for m in c["volumeMounts"] if path.startswith(m["mountPath"] + "/")]
            secret = volumes[mount["name"]]["secret"]
            assert secret["secretName"] == "live-votes-db-app", where
            assert {"key": "uri", "path": path.removeprefix(mount["mountPath"] + "/")} in secret[
                "items"
            ], where
            assert not {"DATABASE_URL", "DATABASE_PASSWORD", "DATABASE_PASSWORD_FILE"} & set(env)
            seen += 1
    assert seen == 2 * len(APP_ROLES) + 1, "each role and its init container, and the Job"


def test_production_turns_the_security_settings_on() -> None:
    config = find("ConfigMap", "live-votes-config", PRODUCTION)["data"]
    assert config["DJANGO_SECURE_SSL_REDIRECT"] == "1"
    assert config["DJANGO_SECURE_COOKIES"] == "1"
    assert int(config["DJANGO_HSTS_SECONDS"]) >= 31_536_000
    assert all(o.startswith("https://") for o in config["DJANGO_PUBLIC_ORIGINS"].split(","))
    assert all(o.startswith("https://") for o in config["DJANGO_CSRF_TRUSTED_ORIGINS"].split(","))
    base = find("ConfigMap", "live-votes-config", K8S)
    assert (
        base["metadata"]["name"]
        != find("ConfigMap", "live-votes-config", PRODUCTION)["metadata"]["name"]
    ), "another hash: the pods roll"


def test_the_image_comes_from_a_registry() -> None:
    image = the_container(find("Deployment", "voting", PRODUCTION))["image"]
    assert image.split("/")[0].count(".") >= 1, image


def test_monitors_scrape_each_role_where_its_metrics_are() -> None:
    assert not of_kind("ServiceMonitor"), "the base needs no Prometheus Operator"
    for role in ("voting", "results"):
        monitor = find("ServiceMonitor", role, PRODUCTION)
        service = find("Service", role, PRODUCTION)
        assert selects(monitor["spec"]["selector"], service["metadata"]["labels"])
        (endpoint,) = monitor["spec"]["endpoints"]
        assert endpoint["path"] == "/metrics"
        assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
    monitor = find("PodMonitor", "worker", PRODUCTION)
    worker = find("Deployment", "worker", PRODUCTION)
    assert selects(monitor["spec"]["selector"], pod_template(worker)["metadata"]["labels"])
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["port"] in {p["name"] for p in the_container(worker)["ports"]}


# --- Against the API references --------------------------------------------------------------


def test_custom_resources_use_only_documented_fields() -> None:
    kinds = set()
    for manifest in of_kind("Cluster", PRODUCTION) + of_kind("ScheduledBackup", PRODUCTION) + \
            of_kind("ObjectStore", PRODUCTION) + of_kind("ServiceMonitor", PRODUCTION) + \
            of_kind("PodMonitor", PRODUCTION):  # fmt: skip
        custom_resources.check(manifest)
        kinds.add(manifest["kind"])
    assert kinds == {"Cluster", "ScheduledBackup", "ObjectStore", "ServiceMonitor", "PodMonitor"}


@pytest.mark.parametrize(
    ("kind", "name", "break_it"),
    [
        ("Cluster", "live-votes-db", lambda s: s.update(replicas=3)),
        ("Cluster", "live-votes-db", lambda s: s["plugins"][0].pop("name")),
        ("Cluster", "live-votes-db", lambda s: s["affinity"].update(podAntiAffinityType="strict")),
        ("ScheduledBackup", "live-votes-db-nightly", lambda s: s.update(schedule="0 3 * * *")),
        ("ScheduledBackup", "live-votes-db-nightly", lambda s: s.pop("cluster")),
        ("ScheduledBackup", "live-votes-db-nightly", lambda s: s.update(method="barman")),
        ("ObjectStore", "live-votes-backups", lambda s: s.update(retentionPolicy="30 days")),
        ("ObjectStore", "live-votes-backups", lambda s: s["configuration"].pop("destinationPath")),
        ("ServiceMonitor", "voting", lambda s: s.pop("selector")),
    ],
)  # fmt: skip
def test_the_reference_check_refuses_what_the_api_would(kind: str, name: str, break_it) -> None:
    broken = copy.deepcopy(find(kind, name, PRODUCTION))
    break_it(broken["spec"])
    with pytest.raises(jsonschema.ValidationError):
        custom_resources.check(broken)
