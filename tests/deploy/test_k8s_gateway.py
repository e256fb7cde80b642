"""The Gateway API routes (deploy/k8s/base/gateway.yaml and the production overlay's): valid
against Gateway API v1.2's documented fields, every route attached to a listener that
exists and sending to the front door, and, matched as the API's rules say (exact paths
before prefixes, the longest prefix first, hostnames), each of the site's URLs either
public or deliberately kept in: /admin only on the admin host, /metrics and /readyz
nowhere. WebSocket-friendly timeouts on the live-results route only."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern

from tests.support import custom_resources
from tests.support.k8s import K8S, PRODUCTION, find, of_kind

Manifest = dict[str, Any]

# Each URL the site's URLconf serves (a sample of each pattern), public or not.
PUBLIC = {
    "/",
    "/polls/x/",
    "/polls/x/vote/",
    "/polls/x/results/",
    "/api/polls/x",
    "/api/polls/x/vote",
    "/api/polls/x/results",
    "/api/polls/x/votes/x",
    "/api/polls/x/results/rctab.json",  # a ranked count as RCTab's summary
    "/api/polls/x/board",  # receipts: the board and the check
    "/api/polls/x/receipts/x",
    "/api/polls/x/terms",  # a word cloud's or open answers' pages beyond the snapshot
    "/api/polls/x/entries",
    "/polls/x/board/",
    "/polls/x/receipt/",
    "/api/openapi.json",
    "/api/x",  # the API's catch-all (a regex route: a path under it)
    "/healthz",
    "/join",
    "/s/x/",
    "/s/x/nickname",  # a quiz player's nickname
    "/present/x/",
    "/present/x/control",
    "/s/x/qna/ask",  # a session's Q&A board: the audience's forms
    "/s/x/qna/upvote",
    "/s/x/qna/withdraw",
    "/present/x/qna",  # the presenter's board controls and exports
    "/present/x/qna.csv",
    "/present/x/qna.json",
    "/api/sessions/x/questions",
    "/api/sessions/x/questions/ask",
    "/api/sessions/x/questions/x/upvote",
    "/moderate/polls/x/",  # moderators' pages (log-in required)
    "/moderate/polls/x/act",
    "/moderate/s/x/",
    "/moderate/s/x/qna",
    "/embed/polls/x/",
    "/embed/s/x/",
    "/favicon.ico",
    "/accounts/login/",
    "/accounts/logout/",
    "/i18n/",  # the language switcher (Django's set_language)
    "/jsi18n/",  # the scripts' translations (JavaScriptCatalog)
}
KEPT_IN = {"/readyz", "/metrics", "/admin/", "/admin/login/"}
ADMIN = {"/admin/", "/admin/login/", "/static/admin/css/base.css"}
STATIC = "/static/polls/app.css"  # WhiteNoise, before the URLconf


def url_samples() -> set[str]:
    """One path per pattern of the URLconf; an include under a prefix counts as its prefix."""
    found: set[str] = set()

    def walk(patterns: list[Any], prefix: str) -> None:
        for p in patterns:
            route = prefix + str(p.pattern)
            if isinstance(p, URLResolver) and str(p.pattern) == "":
                walk(p.url_patterns, route)
            elif isinstance(p.pattern, RegexPattern):  # "^api/": a sample path under it
                found.add("/" + prefix + str(p.pattern).lstrip("^") + "x")
            elif isinstance(p, URLResolver | URLPattern):
                found.add("/" + re.sub(r"<[^>]+>", "x", route))

    walk(get_resolver().url_patterns, "")
    return found


def routes(target: Path) -> list[Manifest]:
    return of_kind("HTTPRoute", target)


def path_matches(match: Manifest, path: str) -> int | None:
    """How specifically a match takes `path` (higher wins), or None."""
    rule = match.get("path", {"type": "PathPrefix", "value": "/"})
    value = rule["value"]
    if rule["type"] == "Exact":
        return 10_000 if path == value else None
    assert rule["type"] == "PathPrefix", "only portable match types"
    stem = value.rstrip("/")
    if path in (value, stem) or path.startswith(stem + "/") or value == "/":
        return len(value)
    return None


def route_for(target: Path, listener: str, host: str, path: str) -> Manifest | None:
    """The rule the Gateway applies to a request, or None for its 404."""
    best: tuple[int, Manifest] | None = None
    for route in routes(target):
        if not any(p.get("sectionName") == listener for p in route["spec"]["parentRefs"]):
            continue
        hostnames = route["spec"].get("hostnames")
        if hostnames and host not in hostnames:
            continue
        for rule in route["spec"]["rules"]:
            for match in rule.get("matches", [{}]):
                score = path_matches(match, path)
                if score is not None and (best is None or score > best[0]):
                    best = (score, rule)
    return best[1] if best else None


def test_every_url_of_the_site_is_either_public_or_kept_in() -> None:
    """A new URL pattern fails here until someone decides who may reach it."""
    assert url_samples() == PUBLIC | KEPT_IN


@pytest.mark.parametrize(
    ("target", "listener", "host", "admin_host"),
    [
        (K8S, "http", "localhost", "admin.localhost"),
        (PRODUCTION, "https", "votes.example.org", "admin.votes.example.org"),
    ],
    ids=["base", "production"],
)
def test_public_urls_reach_the_door_and_the_rest_only_where_the_operator_says(
    target: Path, listener: str, host: str, admin_host: str
) -> None:
    for path in (*PUBLIC, STATIC, "/ws/polls/x/"):
        rule = route_for(target, listener, host, path)
        assert rule is not None, f"{path} is public"
        assert rule["backendRefs"] == [{"name": "front-door", "port": 80}]
    for path in KEPT_IN:
        assert route_for(target, listener, host, path) is None, f"{path} is not public"
    for path in ADMIN:
        assert route_for(target, listener, admin_host, path) is not None, f"{path} on {admin_host}"
    for path in ("/metrics", "/readyz"):
        assert route_for(target, listener, admin_host, path) is None


@pytest.mark.parametrize("target", [K8S, PRODUCTION], ids=["base", "production"])
def test_only_the_live_results_route_holds_requests_open(target: Path) -> None:
    listener = "http" if target == K8S else "https"
    sockets = route_for(target, listener, "votes.example.org", "/ws/polls/x/")
    assert sockets is not None
    assert sockets["timeouts"] == {"request": "0s"}, "a WebSocket lasts as long as its page"
    for route in routes(target):
        for rule in route["spec"]["rules"]:
            if rule is not sockets and "backendRefs" in rule:
                seconds = int(rule["timeouts"]["request"].removesuffix("s"))
                assert 0 < seconds <= 60, rule


def test_production_serves_tls_and_plain_http_only_redirects() -> None:
    gateway = find("Gateway", "live-votes", PRODUCTION)
    listeners = {listener["name"]: listener for listener in gateway["spec"]["listeners"]}
    assert listeners["https"]["protocol"] == "HTTPS"
    assert listeners["https"]["tls"]["mode"] == "Terminate"
    assert listeners["https"]["tls"]["certificateRefs"]
    for path in (*PUBLIC, *KEPT_IN, "/ws/polls/x/"):
        rule = route_for(PRODUCTION, "http", "votes.example.org", path)
        assert rule is not None
        assert rule["filters"] == [
            {"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}
        ]
        assert "backendRefs" not in rule


@pytest.mark.parametrize("target", [K8S, PRODUCTION], ids=["base", "production"])
def test_every_route_attaches_to_a_listener_and_sends_to_a_service_port(target: Path) -> None:
    (gateway,) = of_kind("Gateway", target)
    listeners = {listener["name"] for listener in gateway["spec"]["listeners"]}
    for route in routes(target):
        for parent in route["spec"]["parentRefs"]:
            assert parent["name"] == gateway["metadata"]["name"]
            assert parent["sectionName"] in listeners
        for rule in route["spec"]["rules"]:
            for backend in rule.get("backendRefs", []):
                service = find("Service", backend["name"], target)
                assert backend["port"] in {p["port"] for p in service["spec"]["ports"]}


@pytest.mark.parametrize("target", [K8S, PRODUCTION], ids=["base", "production"])
def test_the_admin_host_is_a_host_the_site_serves(target: Path) -> None:
    config = find("ConfigMap", "live-votes-config", target)["data"]
    (admin,) = [r for r in routes(target) if r["metadata"]["name"] == "live-votes-admin"]
    for host in admin["spec"]["hostnames"]:
        assert host in config["DJANGO_PUBLIC_HOSTS"].split(",")
        assert any(
            o.endswith(f"//{host}") for o in config["DJANGO_CSRF_TRUSTED_ORIGINS"].split(",")
        )


# --- Against the API reference (Gateway API v1.2, standard channel) -------------------------


@pytest.mark.parametrize("target", [K8S, PRODUCTION], ids=["base", "production"])
def test_gateway_resources_use_only_documented_fields(target: Path) -> None:
    for kind in ("Gateway", "HTTPRoute"):
        for manifest in of_kind(kind, target):
            custom_resources.check(manifest)


def first_rule(route: Manifest) -> Manifest:
    return route["spec"]["rules"][0]


@pytest.mark.parametrize(
    ("kind", "name", "break_it"),
    [
        ("HTTPRoute", "live-votes", lambda m: m["spec"]["rules"][0].update(timeout={})),
        ("HTTPRoute", "live-votes", lambda m: first_rule(m)["timeouts"].update(request="1 hour")),
        ("HTTPRoute", "live-votes", lambda m: first_rule(m)["matches"][0].update(path={"x": 1})),
        ("Gateway", "live-votes", lambda m: m["spec"].pop("gatewayClassName")),
        ("Gateway", "live-votes", lambda m: m["spec"]["listeners"][0].pop("port")),
    ],
)  # fmt: skip
def test_the_reference_check_refuses_what_the_api_would(kind: str, name: str, break_it) -> None:
    broken = copy.deepcopy(find(kind, name))
    break_it(broken)
    with pytest.raises(jsonschema.ValidationError):
        custom_resources.check(broken)
