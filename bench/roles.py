"""The roles under test, started on loopback with the Procfile's command lines.

Every process is started in its own session (process group), registered in `STARTED`,
and stopped by `stop_all()`, which the bench calls in a `finally` block and from its
SIGTERM/SIGINT handling, so a crashed or interrupted run leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import IO, Self

import psutil

from votingsite.procfile import command

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
OUT = ROOT / "bench-results"
LOGS = OUT / "logs"

# BENCH_DATABASE_NAME and BENCH_REDIS_URL let two people on one machine bench apart.
BENCH_DB = os.environ.get("BENCH_DATABASE_NAME", "votingsite_bench")
if not re.fullmatch(r"[a-z_][a-z0-9_]*", BENCH_DB):  # it goes into DROP DATABASE as is
    raise SystemExit(f"BENCH_DATABASE_NAME: {BENCH_DB!r} is not a plain database name")
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
DATABASE_URL = f"{PG_SERVER}/{BENCH_DB}"
# A Redis database of its own: flushing it at start touches nobody else's queues.
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
# The roles run as in production (DEBUG off), so they need a key; the bench signs
# voter cookies with the same one.
SECRET_KEY = "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"  # noqa: S105
CSRF_TOKEN = "BenchCsrfToken0123456789abcdefgh"  # noqa: S105 (32 chars: an unmasked CSRF secret)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def raise_nofile_limit() -> int:
    """Thousands of WebSockets need thousands of descriptors; children inherit this."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def role_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="votingsite.settings",
        DATABASE_URL=DATABASE_URL,
        REDIS_URL=REDIS_URL,
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=SECRET_KEY,
        DJANGO_STATIC_ROOT=str(OUT / "static"),
        DJANGO_LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
        # Production sits behind a TLS proxy; the bench speaks plain HTTP to the roles.
        DJANGO_SECURE_SSL_REDIRECT="0",
        DJANGO_BEHIND_TLS_PROXY="0",
        # All bench load comes from 127.0.0.1: keep the per-address limit (and its Redis
        # round trip) but high enough never to trip. Voters are distinct, so the
        # per-voter limit stays as configured.
        VOTE_RATE_PER_IP="1000000000/m",
        # The same for the sockets: every viewer of the fan-out phases is 127.0.0.1.
        WS_SOCKETS_PER_ADDRESS="1000000",
    )
    env.pop("DJANGO_TEST_DATABASE_NAME", None)
    env.update(extra)
    return env


def wait_for(condition: Callable[[], object], *, timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.05)


class Role:
    """One role's process group, its log file, and its memory."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = LOGS / f"{name}.log"

    def start(self) -> Self:
        LOGS.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.argv,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        STARTED.append(self)
        return self

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise RuntimeError(f"{self.name} was not started")
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def processes(self) -> list[psutil.Process]:
        if not self.alive():
            return []
        try:
            parent = psutil.Process(self.pid)
            return [parent, *parent.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def rss(self) -> tuple[int, int]:
        """(sum over the process tree, largest single process) in bytes."""
        sizes = []
        for proc in self.processes():
            try:
                sizes.append(proc.memory_info().rss)
            except psutil.NoSuchProcess:
                continue
        return sum(sizes), max(sizes, default=0)

    def cpu_seconds(self) -> float:
        """User + system CPU of the process tree so far (reaped children included)."""
        total = 0.0
        for proc in self.processes():
            try:
                t = proc.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += t.user + t.system + t.children_user + t.children_system
        return total

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 15) -> None:
        if self.proc is None:
            return
        if self.alive():
            try:
                os.killpg(self.pid, signal.SIGTERM)
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.pid, signal.SIGKILL)
                self.proc.wait(5)
            except ProcessLookupError:
                pass
        # A prefork child that outlived its parent is still in the group: kill it too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        if self in STARTED:
            STARTED.remove(self)


STARTED: list[Role] = []


def stop_all() -> None:
    for role in list(reversed(STARTED)):
        try:
            role.stop()
        except Exception as exc:  # keep stopping the others
            print(f"could not stop {role.name}: {exc!r}", file=sys.stderr)


class WebRole(Role):
    def __init__(self, name: str, argv: list[str], port: int, env: dict[str, str]) -> None:
        super().__init__(name, argv, env)
        self.port = port
        self.url = f"http://127.0.0.1:{port}"

    def wait_ready(self, path: str = "/healthz", timeout: float = 60) -> WebRole:
        def up() -> bool:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}{path}", timeout=2) as resp:  # noqa: S310
                    return bool(200 <= resp.status < 300)
            except OSError:
                return False

        wait_for(up, timeout=timeout, what=f"{self.name} on {self.url}")
        return self


def procfile_argv(role: str, **values: str) -> list[str]:
    """The role's Procfile line (votingsite.procfile), its program from this virtualenv."""
    program, *args = command(role, {**os.environ, **values})
    return [str(BIN / program), *args]


def voting(*, name: str = "voting", wsgi: str = "votingsite.wsgi", **env: str) -> WebRole:
    """The Procfile's gunicorn line, serving `wsgi` (the bare reference serves its own)."""
    port = free_port()
    values = {"VOTING_PORT": str(port)}
    for knob in ("GUNICORN_WORKERS", "GUNICORN_THREADS"):
        if knob in env:
            values[knob] = env.pop(knob)
    argv = [wsgi if arg == "votingsite.wsgi" else arg for arg in procfile_argv("voting", **values)]
    return WebRole(name, argv, port, role_env(**env))


def results(*, name: str = "results", **env: str) -> WebRole:
    """The Procfile's daphne line; its sockets open from pages of its own address."""
    port = free_port()
    env.setdefault("DJANGO_PUBLIC_ORIGINS", f"http://127.0.0.1:{port}")
    return WebRole(name, procfile_argv("results", RESULTS_PORT=str(port)), port, role_env(**env))


class WorkerRole(Role):
    def __init__(self, **env: str) -> None:
        self.ready_file = OUT / f"worker-ready-{os.getpid()}"
        self.ready_file.unlink(missing_ok=True)
        argv = [
            *procfile_argv("worker", CELERY_CONCURRENCY=env.pop("CELERY_CONCURRENCY", "2")),
            "--hostname",
            f"bench-{os.getpid()}@%h",
        ]
        # The metrics server on its own free port: the default (9808) may be taken.
        env.setdefault("CELERY_METRICS_PORT", str(free_port()))
        super().__init__("worker", argv, role_env(CELERY_READY_FILE=str(self.ready_file), **env))

    def wait_ready(self, timeout: float = 60) -> WorkerRole:
        def ready() -> bool:
            if not self.alive():
                raise RuntimeError(f"worker exited:\n{self.log_tail()}")
            return self.ready_file.exists()

        wait_for(ready, timeout=timeout, what="worker ready file")
        return self


def pipe(stream: IO[str] | None) -> IO[str]:
    """A child's stdin/stdout, which exists because it was started with PIPE."""
    if stream is None:
        raise RuntimeError("the child was not started with a pipe")
    return stream
