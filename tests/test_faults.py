"""What happens to votes when a worker, Postgres or Redis goes away.

Each test runs the real roles against private stores it may break, streams a bounded
number of votes, and then checks that every vote the voting role accepted (HTTP 202)
is counted exactly once, and that `manage.py recount --check` agrees.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator

import psycopg2
import pytest

from polls.models import Poll, PollCounter, Tally, Vote
from tests import processes
from tests.stores import PrivatePostgres, PrivateRedis
from tests.vote_stream import VoteStream

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.processes]

# Loopback load: one address sends everything, so the per-address limit is off here.
NO_LIMITS = {"RATELIMIT_ENABLE": "0"}


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    store = PrivateRedis().start()
    yield store
    store.cleanup()


def start_roles(
    redis_url: str, database_url: str | None = None
) -> tuple[processes.WebServer, processes.Worker]:
    env = {**NO_LIMITS, "REDIS_URL": redis_url}
    if database_url:
        env["DATABASE_URL"] = database_url
    voting = processes.voting_server(env=env).start()
    worker = processes.Worker(env=env).start()
    return voting.wait_ready(), worker.wait_ready()


def recount_check(database_url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = processes.role_env(**({"DATABASE_URL": database_url} if database_url else {}))
    return processes.manage("recount", "--check", env=env)


def test_worker_killed_mid_stream_loses_and_doubles_nothing(make_poll, private_redis) -> None:
    poll = make_poll(labels=("Cats", "Dogs", "Fish"))
    choice_ids = [c.pk for c in poll.choices.all()]
    voting, worker = start_roles(private_redis.url)
    replacement: processes.Worker | None = None
    try:
        stream = VoteStream(voting.url, poll.slug, choice_ids, voters=2000)
        a_third_sent = threading.Event()
        sender = threading.Thread(target=stream.run, args=(a_third_sent, 700))
        sender.start()
        a_third_sent.wait(120)
        worker.kill(signal.SIGKILL)  # the whole worker: main process and pool children
        replacement = processes.Worker(env={**NO_LIMITS, "REDIS_URL": private_redis.url})
        replacement.start().wait_ready()
        sender.join()

        assert stream.statuses() == Counter({202: len(stream.sent)})
        expected = stream.expected_tallies()
        want = {cid: expected.get(cid, 0) for cid in choice_ids}
        # The killed worker's unacknowledged votes come back after the visibility timeout.
        processes.wait_for(
            lambda: tallies(poll) == want,
            timeout=120,
            interval=0.5,
            what=lambda: (
                f"every accepted vote counted: {tallies(poll)} != {want}\n"
                + replacement.output()[-3000:]
            ),
        )
        assert Vote.objects.filter(poll=poll).count() == 2000
        assert PollCounter.objects.get(poll=poll).total == 2000
        check = recount_check()
        assert check.returncode == 0, check.stdout + check.stderr
    finally:
        voting.stop()
        worker.stop()
        if replacement:
            replacement.stop()


def test_postgres_down_for_ten_seconds_delays_votes_but_loses_none(private_redis) -> None:
    pg = PrivatePostgres().init()
    try:
        migrate = processes.role_env(DATABASE_URL=pg.url)
        for command in (["migrate", "--noinput"], ["seed_demo"]):
            processes.manage(*command, env=migrate, check=True)
        choice_ids = _pg_choice_ids(pg.url)
        voting, worker = start_roles(private_redis.url, pg.url)
        try:
            stream = VoteStream(voting.url, "cats-vs-dogs", choice_ids, voters=600, threads=4,
                                rate=40)  # ~15 s of votes  # fmt: skip
            sender = threading.Thread(target=stream.run)
            sender.start()
            time.sleep(3)
            pg.stop()
            outage_started = len(stream.sent)
            time.sleep(10)
            during_outage = len(stream.sent) - outage_started
            pg.start()
            sender.join()

            # The voting role never needed Postgres to take a vote.
            assert during_outage > 0
            assert stream.statuses() == Counter({202: len(stream.sent)})
            expected = stream.expected_tallies()
            processes.wait_for(
                lambda: _pg_tallies(pg.url) == {cid: expected.get(cid, 0) for cid in choice_ids},
                timeout=90,
                interval=0.5,
                what="votes queued during the outage stored",
            )
            assert "database unavailable" in worker.output()  # it waited and retried
            check = recount_check(pg.url)
            assert check.returncode == 0, check.stdout + check.stderr
        finally:
            voting.stop()
            worker.stop()
    finally:
        pg.cleanup()


def test_redis_restart_answers_503_then_recovers_and_keeps_queued_votes(
    make_poll, private_redis
) -> None:
    poll = make_poll(labels=("Cats", "Dogs"))
    choice_ids = [c.pk for c in poll.choices.all()]
    voting, worker = start_roles(private_redis.url)
    try:
        # Votes wait in Redis while no worker runs...
        worker.stop()
        queued = VoteStream(voting.url, poll.slug, choice_ids, voters=300)
        queued.run()
        assert queued.statuses() == Counter({202: 330})

        # ...and survive a Redis restart (append-only file).
        private_redis.stop()
        refused = VoteStream(voting.url, poll.slug, choice_ids, voters=20, threads=2)
        refused.run()
        assert refused.statuses() == Counter({503: 22})
        for sent in refused.sent:
            assert json.loads(sent.body)["error"].startswith("Votes cannot be taken right now")
            assert sent.retry_after is not None
        private_redis.start()

        after = VoteStream(voting.url, poll.slug, choice_ids, voters=100)
        processes.wait_for(lambda: _accepts_votes(after), timeout=30, what="votes accepted again")
        after.run()
        assert set(after.statuses()) == {202}

        worker = processes.Worker(env={**NO_LIMITS, "REDIS_URL": private_redis.url})
        worker.start().wait_ready()
        expected = queued.expected_tallies() + after.expected_tallies()
        processes.wait_for(
            lambda: tallies(poll) == {cid: expected.get(cid, 0) for cid in choice_ids},
            timeout=60,
            what="queued votes stored after the restart",
        )
        check = recount_check()
        assert check.returncode == 0, check.stdout + check.stderr
    finally:
        voting.stop()
        worker.stop()


def _accepts_votes(stream: VoteStream) -> bool:
    probe = VoteStream(stream.base_url, stream.slug, stream.choice_ids, voters=1, threads=1)
    probe.run()
    if probe.sent[0].status != 202:
        return False
    stream.sent.extend(probe.sent)  # a probe vote that got in counts like any other
    return True


def tallies(poll: Poll) -> dict[int, int]:
    return dict(Tally.objects.filter(poll=poll).values_list("choice_id", "votes"))


def _pg_choice_ids(url: str) -> list[int]:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute("SELECT id FROM polls_choice ORDER BY position, id")
        return [row[0] for row in cur.fetchall()]


def _pg_tallies(url: str) -> dict[int, int] | None:
    try:
        with psycopg2.connect(url, connect_timeout=2) as conn, conn.cursor() as cur:
            cur.execute("SELECT choice_id, votes FROM polls_tally")
            return dict(cur.fetchall())
    except psycopg2.OperationalError:
        return None
