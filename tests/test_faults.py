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
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2
import psycopg2.extensions
import pytest
from django.utils import timezone

from polls.models import Poll, PollCounter, Tally, Vote
from polls.pipeline import ledger
from polls.pipeline.message import QueuedVote
from tests import processes
from tests.clients import Browser
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


# --- Each recovery path on its own --------------------------------------------------------
# The test above passes if either path brings the killed worker's votes back. Each test
# below leaves only one path working: a fault only that path can repair.

QUEUE = "votes"  # settings.CELERY_TASK_DEFAULT_QUEUE
UNACKED = "unacked"  # kombu's Redis transport: messages delivered, not yet acknowledged
# The ledger's sweep, effectively off: no vote is ever old enough for it.
NO_LEDGER_SWEEP = {"VOTE_LEDGER_GRACE_SECONDS": "1000000"}


@contextmanager
def tallies_locked(poll: Poll) -> Iterator[psycopg2.extensions.connection]:
    """A transaction holding the poll's tally and counter rows (SELECT ... FOR UPDATE):
    a worker storing the poll's votes waits for it, its batch in flight. Rolled back at
    the end (or earlier by the test, to let the worker's statement go on)."""
    conn = psycopg2.connect(processes.database_url())
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM polls_tally WHERE poll_id = %s FOR UPDATE", [poll.pk])
            cur.execute("SELECT 1 FROM polls_pollcounter WHERE poll_id = %s FOR UPDATE", [poll.pk])
        yield conn
    finally:
        conn.rollback()
        conn.close()


def waiting_on_a_lock(conn: psycopg2.extensions.connection) -> int:
    """Other sessions of the test database waiting for a row lock."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        row = cur.fetchone()
    return int(row[0]) if row else 0


def test_a_batch_in_flight_when_its_worker_is_killed_is_redelivered_after_the_visibility_timeout(
    make_poll, private_redis
) -> None:
    """Late acknowledgement alone (the ledger's sweep off): the batch the worker was storing
    when it was killed stays unacknowledged in Redis and comes back to a new worker once
    the visibility timeout has passed."""
    poll = make_poll(labels=("Cats", "Dogs", "Fish"))
    choice_ids = [c.pk for c in poll.choices.all()]
    env = {**NO_LIMITS, **NO_LEDGER_SWEEP, "REDIS_URL": private_redis.url,
           "CELERY_VISIBILITY_TIMEOUT": "5"}  # fmt: skip
    redis_client = private_redis.client()
    voting = processes.voting_server(env=env).start()
    worker = processes.Worker(env=env).start()
    replacement = processes.Worker(env=env)
    try:
        voting.wait_ready()
        worker.wait_ready()
        with tallies_locked(poll) as lock:
            stream = VoteStream(voting.url, poll.slug, choice_ids, voters=100)
            stream.run()
            assert stream.statuses() == Counter({202: 110})
            # The worker is storing a batch (its statement waits for our lock), and what
            # it took from the queue is held unacknowledged.
            processes.wait_for(
                lambda: waiting_on_a_lock(lock) > 0 and redis_client.hlen(UNACKED) > 0,
                timeout=30,
                what=lambda: f"a batch in flight, unacknowledged:\n{worker.output()[-3000:]}",
            )
            assert redis_client.llen(QUEUE) == 0  # nothing left for another worker to take
            worker.kill(signal.SIGKILL)
            killed_at = time.monotonic()
        # The killed worker's transaction rolls back: nothing of it was stored.
        assert tallies(poll) == dict.fromkeys(choice_ids, 0)

        replacement.start().wait_ready()
        expected = stream.expected_tallies()
        processes.wait_for(
            lambda: tallies(poll) == {cid: expected.get(cid, 0) for cid in choice_ids},
            timeout=60,
            interval=0.2,
            what=lambda: (
                f"the unacknowledged votes redelivered: {tallies(poll)} != {dict(expected)}\n"
                + replacement.output()[-3000:]
            ),
        )
        recovered = time.monotonic() - killed_at
        print(f"votes of the killed worker stored {recovered:.1f}s after the kill")  # noqa: T201
        assert recovered < 60
        assert Vote.objects.filter(poll=poll).count() == 100
        assert PollCounter.objects.get(poll=poll).total == 100
        assert "re-queued" not in replacement.output()  # the ledger's sweep played no part
        check = recount_check()
        assert check.returncode == 0, check.stdout + check.stderr
    finally:
        voting.stop()
        worker.stop()
        replacement.stop()
        redis_client.close()


LEDGER_GRACE_SECONDS = 2


def test_a_vote_lost_from_the_queue_is_requeued_by_the_ledger_sweep_once_past_its_grace(
    make_poll, private_redis
) -> None:
    """The ledger alone: a vote that was admitted (in the ledger) but whose message is
    gone from the queue, as when a worker dies between the broker's pop and its record of
    the message, is queued again by a worker's sweep once older than the grace period,
    and stored once; a vote still within its grace is left alone."""
    poll = make_poll(labels=("Cats", "Dogs"))
    cats, dogs = poll.choices.all()
    redis_client = private_redis.client()
    voting = processes.voting_server(env={**NO_LIMITS, "REDIS_URL": private_redis.url})
    sweeping = {"VOTE_LEDGER_GRACE_SECONDS": str(LEDGER_GRACE_SECONDS),
                "VOTE_LEDGER_SWEEP_SECONDS": "0.5"}  # fmt: skip
    worker = processes.Worker(env={**NO_LIMITS, **sweeping, "REDIS_URL": private_redis.url})
    try:
        voting.start().wait_ready()
        assert Browser(voting.url).vote_api(poll.slug, cats.pk).status_code == 202
        assert redis_client.zcard(ledger.PENDING_KEY) == 1
        assert redis_client.delete(QUEUE) == 1  # the message is lost; its ledger entry stays

        worker.start().wait_ready()
        processes.wait_for(
            lambda: redis_client.zcard(ledger.PENDING_KEY) == 0,
            timeout=30,
            what=lambda: f"the lost vote re-queued and handled:\n{worker.output()[-3000:]}",
        )
        assert tallies(poll) == {cats.pk: 1, dogs.pk: 0}
        assert PollCounter.objects.get(poll=poll).total == 1
        assert "re-queued 1 votes" in worker.output()

        # Within its grace a vote in the ledger only waits: it may still be in the queue or
        # in a worker's hands. Here its message is gone too (entered as admission does,
        # never pushed); it is queued again only once the grace has passed.
        vote = QueuedVote(uuid.uuid4(), poll.pk, dogs.pk, "anon:late", timezone.now())
        redis_client.zadd(ledger.PENDING_KEY, {ledger.member(vote): vote.cast_at.timestamp()})
        processes.wait_for(
            lambda: Vote.objects.filter(poll=poll, voter_key="anon:late").exists(),
            timeout=30,
            what="the second lost vote re-queued",
        )
        stored = Vote.objects.get(poll=poll, voter_key="anon:late")
        waited = (stored.stored_at - vote.cast_at).total_seconds()
        assert waited >= LEDGER_GRACE_SECONDS, f"re-queued after {waited:.2f}s, within its grace"
        assert tallies(poll) == {cats.pk: 1, dogs.pk: 1}
        check = recount_check()
        assert check.returncode == 0, check.stdout + check.stderr
    finally:
        voting.stop()
        worker.stop()
        redis_client.close()


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
