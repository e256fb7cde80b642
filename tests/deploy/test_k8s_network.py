"""The network policies, evaluated as Kubernetes does (no cluster here): default deny, and
exactly the connections the site needs. Every pair of pods on every port the site uses is
checked against one list, so a connection nobody asked for fails as surely as a missing
one. The pods are the rendered workloads' plus the few outside pods that talk to them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.k8s import K8S, PRODUCTION, of_kind
from tests.support.k8s_network import NAMESPACE, OUTSIDE, PORTS, Pod, allows, pods

APP = ("front-door", "voting", "results", "worker", "migrate")
BASE_ALLOWED = {
    ("gateway", "front-door", 8080),
    ("front-door", "voting", 8000),
    ("front-door", "results", 8001),
    ("prometheus", "voting", 8000),
    ("prometheus", "results", 8001),
    ("prometheus", "worker", 9808),
    ("prometheus", "front-door", 9113),
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
