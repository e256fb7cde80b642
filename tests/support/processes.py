"""Start the real roles (gunicorn, daphne, celery) as subprocesses for tests.

Each process gets the test database and the test Redis through the environment, exactly
as a deployment would, and is stopped (and waited for) at the end of its fixture.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import requests
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from tests.support import mutation
from tests.support.needs import need
from votingsite import front_door
from votingsite.procfile import command

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ARTIFACTS = ROOT / "test-artifacts"
# Role logs (and ready files) live here, not in /tmp: a cleanly stopped role's log is
# deleted; a killed or crashed role's stays for a look (test-artifacts/ is git-ignored).
LOGS = ARTIFACTS / "logs"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database_url() -> str:
    """The URL of the database this test run uses (the test database, once created)."""
    db = connection.settings_dict
    auth = db["USER"] or ""
    if db.get("PASSWORD"):
        auth += f":{db['PASSWORD']}"
    host = db["HOST"] or "127.0.0.1"
    port = db["PORT"] or 5432
    return f"postgres://{auth}@{host}:{port}/{db['NAME']}"


def role_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="votingsite.settings",
        DATABASE_URL=database_url(),
        REDIS_URL=settings.REDIS_URL,
        DJANGO_DEBUG="1",
        PYTHONUNBUFFERED="1",
    )
    env.update(mutation.role_env())  # under mutmut: the mutated copy (tests/support/mutation.py)
    env.update(extra)
    return env


def manage(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """manage.py as an operator runs it: on the test stores, or with `env` instead."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=role_env() if env is None else env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=check,
    )


def wait_for(
    condition: Callable[[], object],
    *,
    timeout: float = 30,
    interval: float = 0.05,
    what: str | Callable[[], str] = "",
) -> object:
    """Poll until condition() is truthy; fail the test with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            described = what() if callable(what) else what
            raise AssertionError(f"timed out after {timeout}s waiting for {described or condition}")
        time.sleep(interval)


class RoleProcess:
    """One role's process with its log in test-artifacts/logs (printed if it fails).

    The log is deleted when the process stops cleanly (it exits on SIGTERM); a process
    that was killed, crashed or had to be killed leaves its log behind.
    """

    def __init__(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self._stopped_output: str | None = None

    def start(self) -> Self:
        LOGS.mkdir(parents=True, exist_ok=True)
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 (kept open for the process)
            prefix=f"{self.name}-", suffix=".log", dir=LOGS, delete=False
        )
        self.proc = subprocess.Popen(
            self.argv,
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        mutation.started(self.proc.pid)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def output(self) -> str:
        if self._stopped_output is not None:
            return self._stopped_output
        return Path(self.log.name).read_text(errors="replace")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group (a prefork worker's children too)."""
        if self.alive():
            os.killpg(self.pid, sig)

    def stop(self, timeout: float = 20) -> None:
        if self.proc is None:
            return
        clean = False
        if self.alive():
            os.killpg(self.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
                clean = True
            except subprocess.TimeoutExpired:
                os.killpg(self.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.log.close()
        if clean:
            self._stopped_output = self.output()
            Path(self.log.name).unlink(missing_ok=True)


class Worker(RoleProcess):
    def __init__(self, *, concurrency: int = 2, env: dict[str, str] | None = None) -> None:
        LOGS.mkdir(parents=True, exist_ok=True)
        self.ready_file = Path(tempfile.mktemp(prefix="celery-ready-", dir=LOGS))  # noqa: S306
        argv = [
            *procfile_argv("worker", CELERY_CONCURRENCY=str(concurrency)),
            "--without-mingle",
            "--without-gossip",
            "--hostname",
            f"test-{self.ready_file.name}@%h",
        ]
        super().__init__(
            "worker", argv, role_env(CELERY_READY_FILE=str(self.ready_file), **(env or {}))
        )

    def wait_ready(self, timeout: float = 60) -> Worker:
        wait_for(
            lambda: self.ready_file.exists() or not self.alive(), timeout=timeout, what="worker"
        )
        assert self.alive(), f"worker exited:\n{self.output()}"
        return self

    def stop(self, timeout: float = 20) -> None:
        super().stop(timeout)
        self.ready_file.unlink(missing_ok=True)  # a killed worker could not remove it


class WebServer(RoleProcess):
    def __init__(self, name: str, argv: list[str], port: int, env: dict[str, str]) -> None:
        super().__init__(name, argv, env)
        self.port = port
        self.url = f"http://127.0.0.1:{port}"

    def wait_ready(self, timeout: float = 60) -> WebServer:
        def up() -> bool:
            assert self.alive(), f"{self.name} exited:\n{self.output()}"
            try:
                return requests.get(f"{self.url}/healthz", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        wait_for(up, timeout=timeout, what=f"{self.name} on {self.url}")
        return self


def procfile_argv(role: str, **values: str) -> list[str]:
    """The role's Procfile line, its program taken from this virtualenv."""
    program, *args = command(role, values)
    return [str(BIN / program), *args]


def voting_server(*, env: dict[str, str] | None = None, workers: int = 2) -> WebServer:
    port = free_port()
    argv = procfile_argv(
        "voting", VOTING_PORT=str(port), GUNICORN_WORKERS=str(workers), GUNICORN_THREADS="8"
    )
    # The Procfile writes no access log (the front door does); tests read the role's own
    # to see which role answered a request.
    env = {"GUNICORN_CMD_ARGS": "--access-logfile -", **(env or {})}
    return WebServer("voting", argv, port, role_env(**env))


def results_server(*, env: dict[str, str] | None = None, port: int | None = None) -> WebServer:
    """The results role; pages of its own address and of the session's site (the door in
    front of it, `site_url()`) may open its WebSockets."""
    port = port or free_port()
    argv = procfile_argv("results", RESULTS_PORT=str(port))
    origins = f"http://127.0.0.1:{port},{site_url()}"
    return WebServer("results", argv, port, role_env(DJANGO_PUBLIC_ORIGINS=origins, **(env or {})))


@functools.cache
def site_url() -> str:
    """The origin of the session's site: the front door's address, chosen once, so the
    roles started before the door already know it."""
    return f"http://127.0.0.1:{free_port()}"


def nginx() -> str:
    found = shutil.which("nginx", path=f"{os.environ.get('PATH', '')}:/usr/sbin")
    need(found is not None, "nginx is not installed (apt-get install nginx)")
    assert found is not None
    return found


class FrontDoor(WebServer):
    """Debian's nginx with the shipped front-door configuration (deploy/k8s/base/front-door),
    started by the Procfile's `door` line, in front of a voting and a results role."""

    def __init__(
        self, *, voting: str, results: str, url: str | None = None, static: Path | None = None
    ) -> None:
        url = url or f"http://127.0.0.1:{free_port()}"
        LOGS.mkdir(parents=True, exist_ok=True)
        self.directory = Path(tempfile.mkdtemp(prefix="front-door-", dir=LOGS))
        # The door's pages for people, as the image and scripts/run write them, where
        # nginx's workers may read them (they drop to another user when run as root).
        self.directory.chmod(0o755)
        call_command("door_pages", self.directory / "pages")
        front_door.prepare(
            self.directory,
            listen=url.removeprefix("http://"),
            voting=voting.removeprefix("http://"),
            results=results.removeprefix("http://"),
            static=static,
            pages=self.directory / "pages",
        )
        program, *args = command("door", {"FRONT_DOOR_DIR": str(self.directory)})
        assert program == "nginx"
        port = int(url.rpartition(":")[2])
        super().__init__("door", [nginx(), *args], port, dict(os.environ))

    def stop(self, timeout: float = 20) -> None:
        super().stop(timeout)
        shutil.rmtree(self.directory, ignore_errors=True)


@dataclass
class Site:
    """The whole site on one origin: the door at `url`, the three roles behind it."""

    url: str
    door: FrontDoor
    voting: WebServer
    results: WebServer
    worker: Worker
