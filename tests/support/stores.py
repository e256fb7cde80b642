"""Private Redis and Postgres servers that a fault test may stop and restart.

They run the machine's real server programs on free loopback ports with data in a
temporary folder, so stopping them never disturbs the shared test services.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import redis

from polls import gates
from tests.support.processes import free_port, wait_for


class PrivateRedis:
    """redis-server with append-only persistence, as deploy/k8s runs it."""

    def __init__(self, *extra_args: str) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="redis-"))
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.extra_args = extra_args  # e.g. --replicaof 127.0.0.1 PORT
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> PrivateRedis:
        self.proc = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--bind", "127.0.0.1",
                "--port", str(self.port),
                "--dir", str(self.dir),
                "--appendonly", "yes",
                "--save", "",
                "--logfile", str(self.dir / "server.log"),
                *self.extra_args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        wait_for(lambda: _pings(client), timeout=20, what="private redis")
        client.close()
        return self

    def stop(self) -> None:
        """A graceful stop (SIGTERM), as Kubernetes stops a pod: the AOF is flushed."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(20)

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port)

    def hold_admission_states(self) -> None:
        hold_admission_states(self.client())

    @contextlib.contextmanager
    def frozen(self) -> Iterator[None]:
        """Redis hangs (SIGSTOP): connections stay open, nothing is answered."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)
        try:
            yield
        finally:
            self.proc.send_signal(signal.SIGCONT)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


class PrivatePostgres:
    """A throwaway Postgres cluster (initdb) that a test can stop and start."""

    def __init__(self) -> None:
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
        if not bins:
            raise RuntimeError("Postgres server programs not found (apt-get install postgresql)")
        self.bin = Path(bins[-1])
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="pg-"))
        self.data = self.dir / "data"
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/votingsite"
        # Postgres refuses to run as root; run it as the postgres user then.
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.dir, "postgres")

    def _run(self, *argv: str) -> None:
        subprocess.run([*self.as_user, *argv], check=True, capture_output=True)

    def init(self) -> PrivatePostgres:
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust")
        self.start()
        self._run(str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U",
                  "postgres", "votingsite")  # fmt: skip
        return self

    def start(self) -> None:
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "server.log"),
            "-w", "-o", f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir}", "start",
        )  # fmt: skip

    def stop(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    @contextlib.contextmanager
    def frozen(self) -> Iterator[None]:
        """Postgres hangs: the server and every backend stopped (SIGSTOP), so connections
        stay open and the kernel still acknowledges them, but nothing is answered."""
        postmaster = psutil.Process(int((self.data / "postmaster.pid").read_text().split()[0]))
        stopped = [postmaster, *postmaster.children(recursive=True)]
        for proc in stopped:
            proc.suspend()
        try:
            yield
        finally:
            for proc in stopped:
                with contextlib.suppress(psutil.NoSuchProcess):
                    proc.resume()

    def cleanup(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop()
        time.sleep(0.1)
        shutil.rmtree(self.dir, ignore_errors=True)


def hold_admission_states(client: redis.Redis) -> None:
    """Copy what Postgres says is open into this Redis, as a worker's reconciler would (for
    a test whose voting role takes votes where no worker runs, or before one has started)."""
    from polls import openness
    from polls.models import Poll

    last = openness.latest(list(Poll.objects.values_list("pk", flat=True)))
    for poll_id, change in last.items():
        client.set(gates.key(poll_id), openness.gate_of(change).encode())
