"""The manifests run: each role's exact command, arguments and environment, taken from
the rendered deploy/k8s, run here as a local process and becomes ready by its own probe;
the front door (Debian's nginx, the rendered ConfigMap's files) in front of them.

Only what cannot be the same outside a cluster is changed: the stores' host names point
at the local Postgres and Redis (through the ConfigMap and Secret values the pods'
$(VAR) expansion composes), 0.0.0.0 binds become 127.0.0.1, container ports become free
ports, /tmp paths (an emptyDir in the pod) become a private temporary folder, a mounted
ConfigMap or Secret becomes a folder of its files, and in those files a Service's name and port
become the local address of the pod behind it.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
import requests
from django.conf import settings
from websockets.exceptions import InvalidStatus

from polls.models import Tally, Vote
from tests.support import processes
from tests.support.clients import Browser, next_results, results_socket
from tests.support.k8s import POD_TMP, find, named, pod_template, the_container
from tests.support.stores import PrivateRedis, hold_admission_states

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.processes]

POD_IP = "127.0.0.1"  # what status.podIP stands for here
Env = dict[str, str]


@pytest.fixture(scope="module")
def static_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The image's static files, collected by the Dockerfile's own RUN line."""
    dockerfile = (processes.ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    (run,) = [line for line in dockerfile.splitlines() if "collectstatic" in line]
    (step,) = [s for s in run.removeprefix("RUN").split("&&") if "collectstatic" in s]
    root = tmp_path_factory.mktemp("staticfiles")
    env = {
        "PATH": f"{processes.BIN}:{os.environ['PATH']}",
        "HOME": str(root),
        "DJANGO_SETTINGS_MODULE": "votingsite.settings",
        "DJANGO_STATIC_ROOT": str(root),
    }
    done = subprocess.run(
        ["sh", "-c", step], check=False, cwd=processes.ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (root / "staticfiles.json").exists(), "WhiteNoise's manifest was written"
    return root


def kubelet_env(container: dict[str, Any], config: Env, secret: Env) -> Env:
    """The container's environment as the kubelet builds it: envFrom first, then env in
    order, each $(VAR) expanded from the variables defined before it."""
    env: Env = {}
    for source in container.get("envFrom", []):
        assert named(find("ConfigMap", "live-votes-config"), source["configMapRef"]["name"])
        env.update(config)
    for var in container.get("env", []):
        if "value" in var:
            value = re.sub(r"\$\((\w+)\)", lambda m: env.get(m[1], m[0]), var["value"])
        else:
            ref = var["valueFrom"]
            if "secretKeyRef" in ref:
                value = secret[ref["secretKeyRef"]["key"]]
            elif "configMapKeyRef" in ref:
                value = config[ref["configMapKeyRef"]["key"]]
            else:
                assert ref["fieldRef"]["fieldPath"] == "status.podIP"
                value = POD_IP
        env[var["name"]] = value
    return env


class LocalPod:
    """One role's container from the manifests, as a local process."""

    def __init__(
        self,
        role: str,
        tmp: Path,
        static_root: Path,
        redis_url: str = settings.REDIS_URL,
        services: dict[str, str] | None = None,
    ) -> None:
        self.deployment = find("Deployment", role)
        self.container = the_container(self.deployment)
        self.ports = {p["containerPort"]: processes.free_port() for p in self.container["ports"]}
        self.tmp = tmp
        self.redis_url = redis_url
        self.services = services or {}
        db = urlsplit(processes.database_url())
        # The Secret made by hand (docs/kubernetes.md), with this machine's values.
        self.secret = {
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DATABASE_PASSWORD": db.password or "",
        }
        self.mounts = {
            m["mountPath"]: tmp / m["name"]
            for m in self.container.get("volumeMounts", [])
            if {"configMap", "secret"} & set(self._volume(m["name"]))
        }
        self.env = self._environment(self.container, static_root)
        # Init containers run first, each to its end, as the kubelet runs them.
        self.init = [
            (
                [self._local(arg) for arg in (*init["command"], *init["args"])],
                processes.role_env(**self._environment(init, static_root)),
            )
            for init in pod_template(self.deployment)["spec"].get("initContainers", [])
        ]
        argv = [self._local(arg) for arg in (*self.container["command"], *self.container["args"])]
        if argv[0] == "nginx":  # the image's is Debian's nginx, as this machine's
            argv[0] = processes.nginx()
        self.process = processes.RoleProcess(role, argv, processes.role_env(**self.env))

    def _volume(self, name: str) -> dict[str, Any]:
        (volume,) = [
            v for v in pod_template(self.deployment)["spec"]["volumes"] if v["name"] == name
        ]
        return volume

    def _write_config_maps(self) -> None:
        """Each mounted ConfigMap as a folder of its files; in them, a listen port is the
        local port, and a Service's host:port the address of the local pod behind it.
        Each mounted Secret as a folder of its keys' files (those of `items`, if named)."""
        for mount in self.container.get("volumeMounts", []):
            volume = self._volume(mount["name"])
            folder = self.mounts.get(mount["mountPath"])
            if "secret" in volume:
                assert volume["secret"]["secretName"] == "live-votes-secrets"
                assert folder is not None
                folder.mkdir(parents=True)
                items = volume["secret"].get("items") or [
                    {"key": k, "path": k} for k in self.secret
                ]
                for item in items:
                    (folder / item["path"]).write_text(self.secret[item["key"]])
                continue
            if "configMap" not in volume:
                continue
            assert folder is not None
            folder.mkdir(parents=True)
            for name, shipped in find("ConfigMap", volume["configMap"]["name"])["data"].items():
                (folder / name).write_text(self._local_config(shipped))

    def _local_config(self, text: str) -> str:
        for pod_port, port in self.ports.items():
            text = re.sub(rf"\blisten {pod_port};", f"listen {POD_IP}:{port};", text)
        for service, address in self.services.items():
            for p in find("Service", service)["spec"]["ports"]:
                text = text.replace(f" {service}:{p['port']};", f" {address};")
        return text

    def _environment(self, container: dict[str, Any], static_root: Path) -> Env:
        db = urlsplit(processes.database_url())
        config = dict(find("ConfigMap", "live-votes-config")["data"])
        config.update(
            DATABASE_HOST=db.hostname or "127.0.0.1",
            DATABASE_PORT=str(db.port or 5432),
            DATABASE_NAME=db.path.lstrip("/"),
            DATABASE_USER=db.username or "",
            REDIS_URL=self.redis_url,
        )
        env = {k: self._local(v) for k, v in kubelet_env(container, config, self.secret).items()}
        # What the image's ENV lines provide (Dockerfile): its virtualenv first on PATH.
        env.update(
            PATH=f"{processes.BIN}:{os.environ['PATH']}",
            DJANGO_SETTINGS_MODULE="votingsite.settings",
            DJANGO_STATIC_ROOT=str(static_root),
            PYTHONUNBUFFERED="1",
        )
        return env

    def _local(self, value: str) -> str:
        value = value.replace("0.0.0.0", POD_IP)  # noqa: S104 (rewriting a bind address)
        for pod_port, port in self.ports.items():
            value = re.sub(rf"(^|:){pod_port}$", rf"\g<1>{port}", value)
        if value.startswith(f"{POD_TMP}/"):
            value = f"{self.tmp}/{value.removeprefix(f'{POD_TMP}/')}"
        for path, folder in self.mounts.items():
            if value.startswith(f"{path}/"):
                value = f"{folder}/{value.removeprefix(f'{path}/')}"
        return value

    def port(self, name_or_number: str | int) -> int:
        for p in self.container["ports"]:
            if name_or_number in (p.get("name"), p["containerPort"], str(p["containerPort"])):
                return self.ports[p["containerPort"]]
        raise AssertionError(f"the probe names port {name_or_number}, which is not declared")

    def http_probe(self, probe: str) -> Callable[[], bool]:
        """The kubelet's httpGet: success is a status from 200 to 399."""
        spec = self.container[probe]["httpGet"]
        url = f"http://{POD_IP}:{self.port(spec['port'])}{spec['path']}"

        def check() -> bool:
            assert self.process.alive(), f"exited:\n{self.process.output()}"
            try:
                return 200 <= requests.get(url, timeout=5, allow_redirects=False).status_code < 400
            except requests.RequestException:
                return False

        return check

    def tcp_probe(self, probe: str) -> Callable[[], bool]:
        """The kubelet's tcpSocket: a connection is accepted."""
        port = self.port(self.container[probe]["tcpSocket"]["port"])

        def check() -> bool:
            assert self.process.alive(), f"exited:\n{self.process.output()}"
            try:
                socket.create_connection((POD_IP, port), timeout=2).close()
            except OSError:
                return False
            return True

        return check

    def exec_probe(self, probe: str, **env: str) -> Callable[[], bool]:
        """The kubelet's exec: the command in the container's environment, exit 0."""
        command = self.container[probe]["exec"]["command"]
        probe_env = {**self.process.env, **env}

        def check() -> bool:
            if self.process.proc is not None:
                assert self.process.alive(), f"exited:\n{self.process.output()}"
            done = subprocess.run(
                command, check=False, env=probe_env, capture_output=True, timeout=30
            )
            return done.returncode == 0

        return check

    def failure(self, probe: str) -> Callable[[], str]:
        return lambda: f"{self.process.name} {probe}, log:\n{self.process.output()}"

    def __enter__(self) -> LocalPod:
        self._write_config_maps()
        for argv, env in self.init:
            done = subprocess.run(
                argv, check=False, cwd=processes.ROOT, env=env, capture_output=True, text=True,
                timeout=120,
            )  # fmt: skip
            assert done.returncode == 0, f"init container {argv}: {done.stdout}{done.stderr}"
        self.process.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.stop()


@pytest.fixture(scope="module")
def pod_redis() -> Iterator[str]:
    """A Redis of the pods' own, so no other test's worker takes their votes."""
    store = PrivateRedis().start()
    yield store.url
    store.cleanup()


@pytest.fixture
def pod(tmp_path: Path, static_root: Path, pod_redis: str) -> Iterator[Callable[[str], LocalPod]]:
    started: list[LocalPod] = []

    def start(role: str, services: dict[str, str] | None = None) -> LocalPod:
        local = LocalPod(role, tmp_path / role, static_root, redis_url=pod_redis, services=services)
        local.tmp.mkdir()
        started.append(local.__enter__())
        return local

    yield start
    for local in started:
        local.__exit__()


@pytest.mark.parametrize("role", ["voting", "results"])
def test_web_role_runs_as_the_manifest_says_and_becomes_ready(pod, role: str) -> None:
    local = pod(role)
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        processes.wait_for(
            local.http_probe(probe),
            timeout=60,
            what=local.failure(probe),
        )
    base = f"http://{POD_IP}:{local.port('http')}"
    # The scrape annotations name a path and port that serve Prometheus' format.
    annotations = find("Deployment", role)["spec"]["template"]["metadata"]["annotations"]
    metrics = requests.get(
        f"http://{POD_IP}:{local.port(annotations['prometheus.io/port'])}"
        f"{annotations['prometheus.io/path']}",
        timeout=10,
    )
    assert metrics.status_code == 200
    assert "django_http_requests_total_by_method_total" in metrics.text
    # DEBUG is off: pages need the image's hashed static files, and strangers' Host
    # headers are refused.
    page = requests.get(f"{base}/", timeout=10)
    assert page.status_code == 200, page.text[:500]
    assert "/static/" in page.text
    assert requests.get(f"{base}/", headers={"Host": "evil.example"}, timeout=10).status_code == 400


def test_worker_runs_as_the_manifest_says_stores_a_vote_and_counts_it(
    pod, make_poll, redis_client
) -> None:
    poll = make_poll(slug="k8s-fidelity", labels=("Cats", "Dogs"))
    worker = pod("worker")
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        processes.wait_for(
            worker.exec_probe(probe),
            timeout=90,
            what=worker.failure(probe),
        )
    annotations = find("Deployment", "worker")["spec"]["template"]["metadata"]["annotations"]
    metrics_url = (
        f"http://{POD_IP}:{worker.port(annotations['prometheus.io/port'])}"
        f"{annotations['prometheus.io/path']}"
    )
    assert 'votes_queue_depth{queue="votes"}' in requests.get(metrics_url, timeout=10).text

    # A vote cast on the manifests' voting role is stored by the manifests' worker, and
    # counted by the worker's main process although a pool child stored it.
    voting = pod("voting")
    processes.wait_for(voting.http_probe("readinessProbe"), timeout=60, what="voting ready")
    base = f"http://{POD_IP}:{voting.port('http')}"
    choice = poll.choices.order_by("position").first()
    assert choice is not None
    cast = Browser(base).vote_api(poll.slug, choice.id)
    assert cast.status_code == 202, cast.text
    vote_id = cast.json()["vote_id"]

    processes.wait_for(
        lambda: Vote.objects.filter(poll=poll).exists(), timeout=30, what="the stored vote"
    )
    stored = Vote.objects.get(poll=poll)
    assert (str(stored.vote_id), stored.choice_id) == (vote_id, choice.id)
    assert stored.voter_key.startswith("anon:")
    assert Tally.objects.get(choice=choice).votes == 1

    def counted() -> bool:
        text = requests.get(metrics_url, timeout=10).text
        return 'votes_stored_total{outcome="created"} 1.0' in text

    processes.wait_for(counted, timeout=30, what="the stored vote in the worker's metrics")
    assert "vote_batch_seconds_count 1.0" in requests.get(metrics_url, timeout=10).text


def test_the_front_door_runs_as_the_manifest_says_in_front_of_the_manifests_roles(
    pod, make_poll, pod_redis
) -> None:
    poll = make_poll(slug="k8s-door", labels=("Cats", "Dogs"))
    hold_admission_states(redis.Redis.from_url(pod_redis))  # no worker in this pod set
    roles = {role: pod(role) for role in ("voting", "results")}
    for local in roles.values():
        processes.wait_for(local.http_probe("readinessProbe"), timeout=60, what="ready")
    door = pod(
        "front-door",
        services={role: f"{POD_IP}:{local.port('http')}" for role, local in roles.items()},
    )
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        processes.wait_for(door.tcp_probe(probe), timeout=30, what=door.failure(probe))
    base = f"http://{POD_IP}:{door.port('http')}"
    assert requests.get(f"{base}/polls/{poll.slug}/", timeout=10).status_code == 200
    page = requests.get(f"{base}/polls/{poll.slug}/results/", timeout=10)
    assert page.status_code == 200
    assert "/static/" in page.text
    assert f"/polls/{poll.slug}/results/" in roles["results"].process.output()
    for kept_in in ("/metrics", "/readyz"):
        assert requests.get(f"{base}{kept_in}", timeout=10).status_code == 404
    too_big = requests.post(f"{base}/api/polls/{poll.slug}/vote", data=b"x" * 2**20, timeout=10)
    assert too_big.status_code == 413
    assert too_big.headers["X-Frame-Options"] == "DENY"

    # The socket of a page from the configured public origin (the Host is this port's,
    # the Origin the one a browser on the site would send).
    public = find("ConfigMap", "live-votes-config")["data"]["DJANGO_PUBLIC_ORIGINS"]
    origin = public.split(",")[0]
    with results_socket(base, poll.slug, origin=origin) as ws:
        assert next_results(ws)["total"] == 0
    with pytest.raises(InvalidStatus) as refused:
        results_socket(base, poll.slug, origin=f"{origin}:6666")
    assert refused.value.response.status_code == 403

    cast = Browser(base).vote_api(poll.slug, poll.choices.get(label="Dogs").pk)
    assert cast.status_code == 202, cast.text


def test_worker_liveness_fails_on_a_stale_or_missing_heartbeat(tmp_path: Path) -> None:
    """The probe can fail: no beat for 30 s, or no heartbeat file at all."""
    worker = LocalPod("worker", tmp_path, tmp_path)
    stale = tmp_path / "stale-heartbeat"
    stale.touch()
    an_hour_ago = time.time() - 3600
    os.utime(stale, (an_hour_ago, an_hour_ago))
    assert not worker.exec_probe("livenessProbe", CELERY_HEARTBEAT_FILE=str(stale))()
    missing = str(tmp_path / "missing")
    assert not worker.exec_probe("livenessProbe", CELERY_HEARTBEAT_FILE=missing)()
    assert not worker.exec_probe("readinessProbe", CELERY_READY_FILE=missing)()
    fresh = tmp_path / "fresh-heartbeat"
    fresh.touch()
    assert worker.exec_probe("livenessProbe", CELERY_HEARTBEAT_FILE=str(fresh))()
