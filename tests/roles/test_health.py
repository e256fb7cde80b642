"""The web roles' probes: /healthz answers whatever the stores do (liveness must not
restart pods during an outage); /readyz answers 503 naming the store that is down, and
200 again once it is back."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
import requests

from tests.support import processes
from tests.support.needs import need
from tests.support.stores import PrivateRedis

pytestmark = [pytest.mark.django_db, pytest.mark.processes]


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound once, then released)."""
    return processes.free_port()


@pytest.fixture
def server_factory() -> Iterator[list[processes.WebServer]]:
    started: list[processes.WebServer] = []
    yield started
    for server in started:
        server.stop()


def start_voting(started: list[processes.WebServer], **env: str) -> processes.WebServer:
    server = processes.voting_server(env=env, workers=1).start()
    started.append(server)
    return server.wait_ready()


def test_readyz_is_ok_when_postgres_and_redis_answer(voting: processes.WebServer) -> None:
    answer = requests.get(f"{voting.url}/readyz", timeout=10)
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}


def test_readyz_names_redis_when_redis_is_down(server_factory, closed_port) -> None:
    server = start_voting(server_factory, REDIS_URL=f"redis://127.0.0.1:{closed_port}/0")
    answer = requests.get(f"{server.url}/readyz", timeout=10)
    assert answer.status_code == 503
    assert answer.json()["down"] == ["redis"]
    assert "redis" in answer.json()["reason"]
    assert requests.get(f"{server.url}/healthz", timeout=10).status_code == 200


def test_voting_role_stays_ready_without_postgres_when_it_requires_only_redis(
    server_factory, closed_port
) -> None:
    """The voting Deployment sets READYZ_REQUIRES=redis: it takes votes while Postgres is
    down, so a Postgres outage must not take it out of its Service."""
    url = processes.database_url().replace(":5432/", f":{closed_port}/")
    server = start_voting(server_factory, DATABASE_URL=url, READYZ_REQUIRES="redis")
    answer = requests.get(f"{server.url}/readyz", timeout=10)
    assert answer.status_code == 200
    assert answer.json()["status"] == "degraded"
    assert answer.json()["down"] == ["postgres"]


def test_readyz_names_postgres_when_postgres_is_down(server_factory, closed_port) -> None:
    url = processes.database_url().replace(":5432/", f":{closed_port}/")
    assert str(closed_port) in url
    server = start_voting(server_factory, DATABASE_URL=url)
    answer = requests.get(f"{server.url}/readyz", timeout=10)
    assert answer.status_code == 503
    assert answer.json()["down"] == ["postgres"]
    assert "postgres" in answer.json()["reason"]
    assert requests.get(f"{server.url}/healthz", timeout=10).status_code == 200


def test_readyz_is_ok_again_when_redis_returns(server_factory) -> None:
    need(shutil.which("redis-server") is not None, "redis-server is not installed")
    store = PrivateRedis()  # its port stays closed until it starts
    server = start_voting(server_factory, REDIS_URL=store.url)
    assert requests.get(f"{server.url}/readyz", timeout=10).status_code == 503
    try:
        store.start()
        answer = requests.get(f"{server.url}/readyz", timeout=10)
        assert answer.status_code == 200, answer.text
    finally:
        store.cleanup()
