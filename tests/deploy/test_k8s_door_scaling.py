"""The door scales on the connections it holds: its own numbers served on the pod's
metrics port (front-door/metrics.conf), scraped by Prometheus, followed by its HPA."""

from __future__ import annotations

import re

from tests.support.k8s import FRONT_DOOR, K8S, PRODUCTION, find, pod_template, the_container
from tests.support.k8s_network import OUTSIDE, allows, pods

METRIC = "nginx_connections_active"


def test_the_doors_autoscaler_follows_the_connections_it_serves() -> None:
    spec = find("HorizontalPodAutoscaler", "front-door")["spec"]
    by_type = {m["type"]: m for m in spec["metrics"]}
    pods_metric = by_type["Pods"]["pods"]
    assert pods_metric["metric"]["name"] == METRIC
    assert pods_metric["target"]["type"] == "AverageValue"
    # Below the 8,000 sockets a pod is sized for (nginx.conf's worker_connections).
    assert 1000 <= int(pods_metric["target"]["averageValue"]) < 8000
    assert by_type["Resource"]["resource"]["name"] == "cpu", "CPU stays as a second metric"
    down = spec["behavior"]["scaleDown"]
    assert down["selectPolicy"] == "Min"
    assert all(p["type"] == "Pods" and p["value"] == 1 for p in down["policies"])
    # The gauge is one the door serves (nginx.conf's metrics server).
    assert f"\n{METRIC} $connections_active\n" in (FRONT_DOOR / "nginx.conf").read_text()


def test_the_doors_numbers_are_on_its_metrics_port_for_prometheus_only() -> None:
    door = find("Deployment", "front-door")
    ports = {p["name"]: p["containerPort"] for p in the_container(door)["ports"]}
    metrics_conf = (FRONT_DOOR / "metrics.conf").read_text()
    assert re.findall(r"^listen (\d+);$", metrics_conf, re.M) == [str(ports["metrics"])]
    annotations = pod_template(door)["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(ports["metrics"])
    assert annotations["prometheus.io/path"] == "/metrics"
    # Not a port of the door's Service: nothing but Prometheus reaches it.
    service_ports = {p["targetPort"] for p in find("Service", "front-door")["spec"]["ports"]}
    assert "metrics" not in service_ports
    (gateway, prometheus) = [p for p in OUTSIDE if p.name in ("gateway", "prometheus")]
    (door_pod,) = [p for p in pods(K8S) if p.name == "front-door"]
    assert allows(K8S, prometheus, door_pod, ports["metrics"])
    assert not allows(K8S, gateway, door_pod, ports["metrics"])


def test_the_production_monitors_scrape_the_doors_metrics_port() -> None:
    monitor = find("PodMonitor", "front-door", PRODUCTION)
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    door = find("Deployment", "front-door", PRODUCTION)
    assert endpoint["port"] in {p["name"] for p in the_container(door)["ports"]}
    assert endpoint["path"] == "/metrics"
