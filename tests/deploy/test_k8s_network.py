"""The network policies, evaluated as Kubernetes does (no cluster here): default deny, and
exactly the connections the site needs. Every pair of pods on every port the site uses is
checked against one list, so a connection nobody asked for fails as surely as a missing
one. The pods are the rendered workloads' plus the few outside pods that talk to them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.k8s import (
    K8S,
    PRODUCTION,
    of_kind,
    pod_template,
    selects,
    workloads,
)

NAMESPACE = "live-votes"
PORTS = (80, 443, 5432, 6379, 8000, 8001, 8080, 9187, 9808, 53)


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


APP = ("front-door", "voting", "results", "worker", "migrate")
BASE_ALLOWED = {
    ("gateway", "front-door", 8080),
    ("front-door", "voting", 8000),
    ("front-door", "results", 8001),
    ("prometheus", "voting", 8000),
    ("prometheus", "results", 8001),
    ("prometheus", "worker", 9808),
    *{(role, "redis", 6379) for role in ("voting", "results", "worker")},
    *{(role, "postgres", 5432) for role in ("voting", "results", "worker", "migrate")},
    *{(role, "kube-dns", 53) for role in APP},
}
PRODUCTION_ALLOWED = {
    *(c for c in BASE_ALLOWED if "postgres" not in c),
    *{(role, "live-votes-db-1", 5432) for role in ("voting", "results", "worker", "migrate")},
    ("live-votes-db-1", "live-votes-db-1", 5432),
    ("live-votes-db-1", "live-votes-db-1", 8000),
    ("cnpg-operator", "live-votes-db-1", 5432),
    ("cnpg-operator", "live-votes-db-1", 8000),
    ("prometheus", "live-votes-db-1", 9187),
    ("live-votes-db-1", "kube-dns", 53),
}


def outside_to_outside(source: Pod, destination: Pod) -> bool:
    return NAMESPACE not in (source.namespace, destination.namespace)


@pytest.mark.parametrize(
    ("target", "allowed"),
    [(K8S, BASE_ALLOWED), (PRODUCTION, PRODUCTION_ALLOWED)],
    ids=["base", "production"],
)
def test_exactly_the_connections_the_site_needs_are_allowed(target: Path, allowed: set) -> None:
    unexpected, missing = [], []
    for source in pods(target):
        for destination in pods(target):
            if outside_to_outside(source, destination):
                continue  # not the site's policies to decide
            for port in PORTS:
                is_allowed = allows(target, source, destination, port)
                if port == 53:
                    assert is_allowed == allows(target, source, destination, port, "UDP")
                wanted = (source.name, destination.name, port) in allowed
                # The database instances also call HTTPS (the Kubernetes API, the object
                # store) and the operator's namespace: addresses, not the site's pods.
                if source.name == "live-votes-db-1" and (
                    port in (443, 6443) or destination.namespace == "cnpg-system"
                ):
                    continue
                if is_allowed and not wanted:
                    unexpected.append((source.name, destination.name, port))
                if wanted and not is_allowed:
                    missing.append((source.name, destination.name, port))
    assert not unexpected, f"allowed, but nobody needs it: {unexpected}"
    assert not missing, f"needed, but refused: {missing}"


def test_the_namespace_denies_by_default() -> None:
    (deny,) = [p for p in of_kind("NetworkPolicy") if p["metadata"]["name"] == "default-deny"]
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    newcomer = Pod("newcomer", NAMESPACE, {"app.kubernetes.io/name": "something-new"})
    assert not allows(K8S, newcomer, Pod("kube-dns", "kube-system", {"k8s-app": "kube-dns"}), 53)
    assert not allows(K8S, OUTSIDE[0], newcomer, 8080)


def test_the_evaluation_can_tell_allowed_from_refused() -> None:
    """The check above can fail: without the default deny a stranger reaches the stores."""
    by_name = {p.name: p for p in pods(K8S)}
    assert allows(K8S, by_name["front-door"], by_name["voting"], 8000)
    assert not allows(K8S, by_name["front-door"], by_name["redis"], 6379)
    assert not allows(K8S, by_name["results"], by_name["worker"], 9808), "metrics are private"
    assert not allows(K8S, by_name["stranger"], by_name["voting"], 8000)
    assert not allows(K8S, by_name["gateway"], by_name["voting"], 8000), "only via the door"
