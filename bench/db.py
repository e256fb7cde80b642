"""The bench's own database and Redis, and the Django set-up of the bench process itself."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

import psycopg2
import redis

from . import roles


def recreate_database() -> None:
    """A fresh `votingsite_bench` every run: no rows left over from an earlier run."""
    conn = psycopg2.connect(f"{roles.PG_SERVER}/postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {roles.BENCH_DB} WITH (FORCE)")
        cur.execute(f"CREATE DATABASE {roles.BENCH_DB}")
    conn.close()
    env = roles.role_env()
    for command in (["migrate", "--noinput"], ["collectstatic", "--noinput", "--verbosity", "0"]):
        done = subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=roles.ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {command[0]} failed:\n{done.stdout}\n{done.stderr}")


def flush_redis() -> redis.Redis:
    client = redis.Redis.from_url(roles.REDIS_URL)
    client.flushdb()
    return client


def setup_django() -> None:
    """Point this process at the bench database and Redis, then set Django up."""
    os.environ.update(roles.role_env())
    import django

    django.setup()


@dataclass
class BenchPoll:
    id: int
    slug: str
    choice_ids: list[int]


def make_poll(slug: str, labels: tuple[str, ...] = ("Cats", "Dogs")) -> BenchPoll:
    from polls.models import Choice, Poll

    poll = Poll.objects.create(slug=slug, question=f"Bench {slug}?", status=Poll.Status.OPEN)
    choices = [
        Choice.objects.create(poll=poll, label=label, position=i) for i, label in enumerate(labels)
    ]
    return BenchPoll(poll.pk, slug, [c.pk for c in choices])


def stored(poll_id: int) -> dict[str, Any]:
    """What the worker has stored for a poll: rows, counter total and per-choice tallies."""
    from polls.models import PollCounter, Tally, Vote

    row = PollCounter.objects.filter(poll_id=poll_id).values_list("total", "seq").first()
    counter = {"total": row[0], "seq": row[1]} if row else {}
    return {
        "votes": Vote.objects.filter(poll_id=poll_id).count(),
        "total": counter.get("total", 0),
        "seq": counter.get("seq", 0),
        "tallies": dict(Tally.objects.filter(poll_id=poll_id).values_list("choice_id", "votes")),
    }


def counter_total(poll_id: int) -> int:
    from polls.models import PollCounter

    return int(
        PollCounter.objects.filter(poll_id=poll_id).values_list("total", flat=True).first() or 0
    )


def messages_queued(client: redis.Redis) -> int:
    """Vote messages waiting in Redis (plus any held unacknowledged, with ack emulation)."""
    from polls.pipeline.ledger import queued_messages

    return queued_messages(client)


def queue_length(client: redis.Redis) -> int:
    """Messages waiting in Redis plus those a worker holds unacknowledged (kept in Redis
    only with ack emulation on), plus votes in the ledger not yet handled: a worker may
    hold many messages it has taken, found in Redis only as ledger entries."""
    from polls.pipeline.ledger import PENDING_KEY

    return messages_queued(client) + int(client.zcard(PENDING_KEY))


def wait_drained(
    client: redis.Redis, poll_totals: dict[int, int], *, timeout: float, interval: float = 0.2
) -> tuple[bool, float]:
    """Wait until every poll's counter reaches its expected total.

    Gives up early once the queue is empty and the counters have not moved for 5 s:
    whatever is missing then is not coming.
    """
    start = time.monotonic()
    last: list[int] = []
    still_since = start
    while time.monotonic() - start < timeout:
        totals = [counter_total(pid) for pid in poll_totals]
        if all(got >= want for got, want in zip(totals, poll_totals.values(), strict=True)):
            return True, time.monotonic() - start
        if totals != last:
            last, still_since = totals, time.monotonic()
        elif time.monotonic() - still_since > 5 and queue_length(client) == 0:
            break
        time.sleep(interval)
    return False, time.monotonic() - start
