"""New code never serves an old schema: each app pod's init container runs
`manage.py wait_for_migrations` (deploy/k8s), which returns only once the release's
migrate Job has applied every migration the image has. Here on real Postgres databases of
their own: a migrated one, an empty one, and one migrated while the command waits."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import pytest

from tests.support import processes

pytestmark = pytest.mark.django_db


@pytest.fixture
def empty_database() -> Iterator[str]:
    """A database of its own with no tables at all: a cluster before its first migrate."""
    url = urlsplit(processes.database_url())
    name = f"wt_empty_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(urlunsplit(url._replace(path="/postgres")))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(url._replace(path=f"/{name}"))
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def test_on_a_migrated_database_it_returns_at_once() -> None:
    started = time.monotonic()
    done = processes.manage("wait_for_migrations", "--timeout", "10")
    assert done.returncode == 0, done.stderr
    assert "Every migration is applied." in done.stdout
    assert time.monotonic() - started < 10


def test_on_an_old_schema_it_waits_then_fails_naming_what_is_missing(empty_database) -> None:
    done = processes.manage(
        "wait_for_migrations",
        "--timeout",
        "2",
        "--interval",
        "0.5",
        env=processes.role_env(DATABASE_URL=empty_database),
    )
    assert done.returncode == 1
    assert "Gave up after 2 s:" in done.stderr
    assert "migrations are not applied yet" in done.stderr
    assert "Traceback" not in done.stderr


def test_without_a_database_it_says_so_instead_of_a_traceback() -> None:
    url = f"postgres://postgres@127.0.0.1:{processes.free_port()}/nothing"
    done = processes.manage(
        "wait_for_migrations", "--timeout", "1", env=processes.role_env(DATABASE_URL=url)
    )
    assert done.returncode == 1
    assert "the database is unavailable (OperationalError)" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_pod_waits_until_the_release_migrates_then_starts(empty_database) -> None:
    """The two steps of a release in order: the init container waits while the schema is
    old, the migrate Job runs, the init container lets the role start."""
    env = processes.role_env(DATABASE_URL=empty_database)
    waiting = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "wait_for_migrations",
            "--timeout",
            "240",
            "--interval",
            "0.5",
        ],
        cwd=processes.ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(2)
        assert waiting.poll() is None, "it waits while migrations are missing"
        migrated = processes.manage("migrate", "--noinput", env=env, timeout=240)
        assert migrated.returncode == 0, migrated.stderr
        out, err = waiting.communicate(timeout=30)
    finally:
        waiting.kill()
    assert waiting.returncode == 0, err
    assert "Waiting:" in out
    assert out.rstrip().endswith("Every migration is applied.")
