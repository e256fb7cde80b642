"""Network policies evaluated as Kubernetes does (no cluster here): the pods that take part
and whether a policy set lets one reach another on a port (tests/deploy)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.k8s import of_kind, pod_template, selects, workloads

NAMESPACE = "live-votes"
PORTS = (80, 443, 5432, 6379, 8000, 8001, 8080, 9113, 9187, 9808, 53)


@dataclass(frozen=True)
class Pod:
    name: str
    namespace: str
    labels: dict[str, str] = field(hash=False)


# Pods outside the site's namespace that take part (their namespaces named as in
# base/network-policies.yaml), and one that should reach nothing.
OUTSIDE = (
    Pod("gateway", "envoy-gateway-system", {"app.kubernetes.io/name": "envoy"}),
    Pod("prometheus", "monitoring", {"app.kubernetes.io/name": "prometheus"}),
    Pod("kube-dns", "kube-system", {"k8s-app": "kube-dns"}),
    Pod("stranger", "other", {"app": "stranger"}),
    Pod("cnpg-operator", "cnpg-system", {"app.kubernetes.io/name": "cloudnative-pg"}),
)
# The CloudNativePG instances the production overlay's Cluster makes.
DATABASE = Pod("live-votes-db-1", NAMESPACE, {"cnpg.io/cluster": "live-votes-db"})


def pods(target: Path) -> list[Pod]:
    inside = [
        Pod(
            w["metadata"]["name"].split("-0")[0],  # migrate-0.1.0: migrate
            NAMESPACE,
            pod_template(w)["metadata"]["labels"],
        )
        for w in workloads(target)
    ]
    if of_kind("Cluster", target):
        inside.append(DATABASE)
    return [*inside, *OUTSIDE]


def _namespace_labels(namespace: str) -> dict[str, str]:
    return {"kubernetes.io/metadata.name": namespace}


def _peer_matches(peer: dict[str, Any], pod: Pod, policy_namespace: str) -> bool:
    if "ipBlock" in peer:
        return False  # addresses outside the cluster's pods
    if "namespaceSelector" in peer:
        if not selects(peer["namespaceSelector"], _namespace_labels(pod.namespace)):
            return False
    elif pod.namespace != policy_namespace:
        return False  # a podSelector alone means the policy's own namespace
    return "podSelector" not in peer or selects(peer["podSelector"], pod.labels)


def _port_matches(rule: dict[str, Any], port: int, protocol: str) -> bool:
    ports = rule.get("ports")
    if not ports:
        return True
    return any(p.get("port", port) == port and p.get("protocol", "TCP") == protocol for p in ports)


def _side_allows(
    policies: list[dict[str, Any]], pod: Pod, other: Pod, port: int, protocol: str, kind: str
) -> bool:
    """Whether the policies selecting `pod` for `kind` (Ingress or Egress) let `other`
    through: a pod no such policy selects is not isolated."""
    key, peers = ("ingress", "from") if kind == "Ingress" else ("egress", "to")
    selecting = [
        p
        for p in policies
        if p["metadata"].get("namespace", NAMESPACE) == pod.namespace
        and kind in p["spec"].get("policyTypes", ["Ingress"])
        and selects(p["spec"]["podSelector"], pod.labels)
    ]
    if not selecting:
        return True
    for policy in selecting:
        for rule in policy["spec"].get(key, []):
            peer_list = rule.get(peers)
            peer_ok = peer_list is None or any(
                _peer_matches(q, other, pod.namespace) for q in peer_list
            )
            if peer_ok and _port_matches(rule, port, protocol):
                return True
    return False


def allows(target: Path, source: Pod, destination: Pod, port: int, protocol: str = "TCP") -> bool:
    policies = of_kind("NetworkPolicy", target)
    return _side_allows(policies, source, destination, port, protocol, "Egress") and _side_allows(
        policies, destination, source, port, protocol, "Ingress"
    )
