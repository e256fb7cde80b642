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
from functools import partial
from typing import Any

import psycopg2
import psycopg2.extensions
import pytest
import requests
from django.utils import timezone
from websockets.exceptions import ConnectionClosed

from polls import gates
from polls.models import Poll, PollCounter, Tally, Vote
from polls.pipeline import ledger
from polls.pipeline.message import QueuedVote
from tests.support import processes
from tests.support.clients import Browser, next_results, results_socket
from tests.support.stores import PrivatePostgres, PrivateRedis
from tests.support.vote_stream import VoteStream

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.processes]

# Loopback load: one address sends everything, so the per-address limit is off here.
NO_LIMITS = {"RATELIMIT_ENABLE": "0"}


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    store = PrivateRedis().start()
    yield store
    store.cleanup()


def start_roles(
    redis_url: str, database_url: str | None = None, **extra: str
) -> tuple[processes.WebServer, processes.Worker]:
    env = {**NO_LIMITS, "REDIS_URL": redis_url, **extra}
    if database_url:
        env["DATABASE_URL"] = database_url
    voting = processes.voting_server(env=env).start()
    worker = processes.Worker(env=env).start()
    return voting.wait_ready(), worker.wait_ready()


def recount_check(
    redis_url: str, database_url: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`recount --check` against the stores the test's roles used: its Redis copy of what is
    open is compared too, and the shared test Redis may hold other tests' copies."""
    env = processes.role_env(
        REDIS_URL=redis_url, **({"DATABASE_URL": database_url} if database_url else {})
    )
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
        replaced = time.monotonic()
        sender.join()

        assert stream.statuses() == Counter({202: len(stream.sent)})
        expected = stream.expected_tallies()
        want = {cid: expected.get(cid, 0) for cid in choice_ids}
        # What the killed worker had taken from Redis comes back by the ledger's sweep.
        processes.wait_for(
            lambda: tallies(poll) == want,
            timeout=60,
            interval=0.5,
            what=lambda: (
                f"every accepted vote counted: {tallies(poll)} != {want}\n"
                + replacement.output()[-3000:]
            ),
        )
        print(f"every vote stored {time.monotonic() - replaced:.1f}s after the replacement started")
        assert Vote.objects.filter(poll=poll).count() == 2000
        assert PollCounter.objects.get(poll=poll).total == 2000
        check = recount_check(private_redis.url)
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
    """Late acknowledgement alone (the ledger's sweep off), where kombu's ack emulation is
    turned on (CELERY_ACK_EMULATION; off by default, when the ledger alone redelivers):
    the batch the worker was storing when it was killed stays unacknowledged in Redis and
    comes back to a new worker once the visibility timeout has passed."""
    poll = make_poll(labels=("Cats", "Dogs", "Fish"))
    choice_ids = [c.pk for c in poll.choices.all()]
    env = {**NO_LIMITS, **NO_LEDGER_SWEEP, "REDIS_URL": private_redis.url,
           "CELERY_VISIBILITY_TIMEOUT": "5", "CELERY_ACK_EMULATION": "1"}  # fmt: skip
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
            # (Under load the worker may still be taking the rest: wait for all of it.)
            processes.wait_for(
                lambda: (
                    waiting_on_a_lock(lock) > 0
                    and redis_client.hlen(UNACKED) > 0
                    and redis_client.llen(QUEUE) == 0
                ),
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
        print(f"votes of the killed worker stored {recovered:.1f}s after the kill")
        assert recovered < 60
        assert Vote.objects.filter(poll=poll).count() == 100
        assert PollCounter.objects.get(poll=poll).total == 100
        assert "re-queued" not in replacement.output()  # the ledger's sweep played no part
        check = recount_check(private_redis.url)
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
        private_redis.hold_admission_states()  # no worker yet to write them
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
        check = recount_check(private_redis.url)
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
            returned = time.monotonic()
            sender.join()

            # The voting role never needed Postgres to take a vote.
            assert during_outage > 0
            assert stream.statuses() == Counter({202: len(stream.sent)})
            expected = stream.expected_tallies()
            processes.wait_for(
                lambda: _pg_tallies(pg.url) == {cid: expected.get(cid, 0) for cid in choice_ids},
                timeout=60,
                interval=0.5,
                what="votes queued during the outage stored",
            )
            print(f"every vote stored {time.monotonic() - returned:.1f}s after Postgres returned")
            assert "database unavailable" in worker.output()  # it waited and retried
            check = recount_check(private_redis.url, pg.url)
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
        returned = time.monotonic()

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
        print(f"every vote stored {time.monotonic() - returned:.1f}s after Redis returned")
        check = recount_check(private_redis.url)
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


def _pg_choice_ids(url: str, slug: str = "cats-vs-dogs") -> list[int]:
    """The choices of one poll (seed_demo makes a poll of each kind, with choices of their own)."""
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT c.id FROM polls_choice c JOIN polls_poll p ON p.id = c.poll_id"
            " WHERE p.slug = %s ORDER BY c.position, c.id",
            [slug],
        )
        return [row[0] for row in cur.fetchall()]


def _pg_tallies(url: str, slug: str = "cats-vs-dogs") -> dict[int, int] | None:
    try:
        with psycopg2.connect(url, connect_timeout=2) as conn, conn.cursor() as cur:
            cur.execute(
                "SELECT t.choice_id, t.votes FROM polls_tally t"
                " JOIN polls_poll p ON p.id = t.poll_id WHERE p.slug = %s",
                [slug],
            )
            return dict(cur.fetchall())
    except psycopg2.OperationalError:
        return None


# --- No false promises: every 202 counted, every 503 true, nothing wedged ----------------


def _stored_within(poll: Poll, want: dict[int, int], *, timeout: float, what: str) -> float:
    """Seconds until the poll's tallies are `want` (fails after `timeout`)."""
    began = time.monotonic()
    processes.wait_for(
        lambda: tallies(poll) == want,
        timeout=timeout,
        interval=0.1,
        what=lambda: f"{what}: {tallies(poll)} != {want}",
    )
    return time.monotonic() - began


def _want(poll: Poll, *streams: VoteStream) -> dict[int, int]:
    expected: Counter[int] = Counter()
    for stream in streams:
        expected += stream.expected_tallies()
    return {c.pk: expected.get(c.pk, 0) for c in poll.choices.all()}


def test_after_each_redis_restart_a_quiet_polls_votes_are_stored_within_seconds(
    make_poll, private_redis
) -> None:
    """celery-batches' interval flush is re-armed when the worker reconnects: a few votes
    on a quiet poll do not wait for a full batch (the defect took minutes)."""
    busy = make_poll(slug="busy", labels=("Cats", "Dogs"))
    voting, worker = start_roles(private_redis.url)
    trickles: list[VoteStream] = []
    try:
        for restart in (1, 2):
            trickle = VoteStream(voting.url, busy.slug, [c.pk for c in busy.choices.all()],
                                 voters=100, threads=2, rate=40)  # fmt: skip
            trickles.append(trickle)
            sender = threading.Thread(target=trickle.run)
            sender.start()
            time.sleep(1)
            private_redis.stop()
            time.sleep(3)
            private_redis.start()
            returned = time.monotonic()
            sender.join()

            quiet = make_poll(slug=f"quiet-{restart}", labels=("Cats", "Dogs"))
            votes = VoteStream(voting.url, quiet.slug, [c.pk for c in quiet.choices.all()],
                               voters=10, threads=1)  # fmt: skip
            # The new poll is open once the worker's reconciler has told this Redis so;
            # until then a probe's answer is 503 (and one that times out under load could
            # still be stored, uncounted).
            restated = partial(private_redis.client().exists, gates.key(quiet.pk))
            processes.wait_for(restated, timeout=30, what="the quiet poll's admission state")
            processes.wait_for(partial(_accepts_votes, votes), timeout=30, what="votes taken")
            votes.run()
            assert set(votes.statuses()) == {202}
            _stored_within(quiet, _want(quiet, votes), timeout=30, what="the quiet poll's votes")
            took = time.monotonic() - returned
            print(f"restart {restart}: quiet votes stored {took:.1f}s after Redis returned")
            assert took <= 15
            _stored_within(busy, _want(busy, *trickles), timeout=60, what="the trickle's votes")
        check = recount_check(private_redis.url)
        assert check.returncode == 0, check.stdout + check.stderr
    finally:
        voting.stop()
        worker.stop()


def test_no_vote_answered_503_while_redis_hangs_is_ever_stored(
    make_poll, private_redis, slow
) -> None:
    """A frozen Redis runs the queued admission scripts when it wakes: each refuses a vote
    whose deadline passed, so a voter told "nothing was recorded" was not recorded."""
    poll = make_poll(labels=("Cats", "Dogs"))
    freeze = 40 if slow else 8  # long enough that the voting role answers 503 meanwhile
    voting, worker = start_roles(private_redis.url)
    try:
        stream = VoteStream(voting.url, poll.slug, [c.pk for c in poll.choices.all()],
                            voters=(freeze + 5) * 25, change_every=3, threads=8,
                            rate=30)  # fmt: skip
        sender = threading.Thread(target=stream.run)
        sender.start()
        time.sleep(1.5)
        with private_redis.frozen():
            time.sleep(freeze)
        sender.join()

        statuses = stream.statuses()
        print(f"answers with Redis frozen {freeze}s: {dict(statuses)}")
        assert statuses[503] > 0, "the freeze was felt"
        assert set(statuses) <= {202, 503}, "every vote got an answer"
        for sent in stream.sent:
            if sent.status == 503:
                assert sent.retry_after is not None
                assert "nothing was recorded" in json.loads(sent.body)["error"]
        # Exactly the accepted votes are stored: none answered 503, and no change of a
        # voter whose change was refused.
        want = _want(poll, stream)
        _stored_within(poll, want, timeout=60, what="the accepted votes, and only those")
        voters_accepted = {s.voter for s in stream.sent if s.status == 202}
        time.sleep(2)  # anything the thawed Redis still had would be stored by now
        assert tallies(poll) == want
        assert Vote.objects.filter(poll=poll).count() == len(voters_accepted)
    finally:
        voting.stop()
        worker.stop()


def test_a_process_holding_thousands_of_descriptors_still_reaches_postgres() -> None:
    """A results process with thousands of sockets opens its database connection on a
    descriptor above 1023; waiting for Postgres's answer there must work (select() refused
    it: a 500 to viewers connecting past ~1,000)."""
    import os
    import resource

    from django.db import connection

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < 1200:
        pytest.skip(f"this machine allows {hard} descriptors per process")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
    connection.close()
    # The lowest descriptors taken: the next query connects on one above 1023.
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            assert cursor.fetchone() == (1,)
        assert connection.connection.fileno() > 1023
    finally:
        for fd in held:
            os.close(fd)
        connection.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_hung_postgres_does_not_stall_voting(private_redis, slow) -> None:
    """The vote path never waits on Postgres: poll copies are read again off the request
    path, and every Postgres call is bounded by the client, so a server that accepts
    connections and answers nothing leaves intake as it was."""
    pg = PrivatePostgres().init()
    try:
        env = processes.role_env(DATABASE_URL=pg.url)
        for command in (["migrate", "--noinput"], ["seed_demo"]):
            processes.manage(*command, env=env, check=True)
        choice_ids = _pg_choice_ids(pg.url)
        hang = 60 if slow else 6
        voting, worker = start_roles(private_redis.url, pg.url, READYZ_REQUIRES="redis")
        try:
            for _ in range(8):  # each gunicorn process holds its copy of the poll
                requests.get(f"{voting.url}/api/polls/cats-vs-dogs", timeout=10)
            stream = VoteStream(voting.url, "cats-vs-dogs", choice_ids, voters=(hang + 10) * 36,
                                threads=8, rate=40)  # votes until after the hang  # fmt: skip
            sender = threading.Thread(target=stream.run)
            began = time.monotonic()
            sender.start()
            time.sleep(4)
            with pg.frozen():
                hung_at = time.monotonic()
                ready = requests.get(f"{voting.url}/readyz", timeout=10)
                time.sleep(hang)
                thawed_at = time.monotonic()
            sender.join()

            def rate(start: float, end: float) -> float:
                done = [s for s in stream.sent if start <= s.answered_at < end and s.status == 202]
                return len(done) / (end - start)

            before, during = rate(began + 1, hung_at), rate(hung_at, thawed_at)
            print(f"intake: {before:.1f} votes/s before, {during:.1f} votes/s while Postgres hung")
            assert during >= before / 2
            assert stream.statuses() == Counter({202: len(stream.sent)})
            assert ready.status_code == 200
            assert ready.json()["status"] == "degraded"
            assert ready.json()["down"] == ["postgres"]

            expected = stream.expected_tallies()
            want = {cid: expected.get(cid, 0) for cid in choice_ids}
            processes.wait_for(lambda: _pg_tallies(pg.url) == want, timeout=60, interval=0.2,
                               what="votes taken during the hang stored")  # fmt: skip
            print(f"stored {time.monotonic() - thawed_at:.1f}s after Postgres answered again")
            check = recount_check(private_redis.url, pg.url)
            assert check.returncode == 0, check.stdout + check.stderr
        finally:
            voting.stop()
            worker.stop()
    finally:
        pg.cleanup()


def test_an_open_results_socket_is_closed_once_its_poll_hides_its_results(
    make_poll, results
) -> None:
    """A change of the visibility rule reaches sockets already open, as it does the page,
    the API and new sockets."""
    poll = make_poll(slug=f"watched-{uuid.uuid4().hex[:8]}", labels=("Cats", "Dogs"))
    with results_socket(results.url, poll.slug) as ws:
        assert next_results(ws)["total"] == 0
        changed = time.monotonic()
        poll.results_visibility = Poll.ResultsVisibility.HIDDEN
        poll.save()  # as the admin's form does
        with pytest.raises(ConnectionClosed) as closed:
            _read_until_closed(ws)
        print(f"closed {time.monotonic() - changed:.2f}s after the change")
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4403


def _read_until_closed(ws: Any) -> None:
    while True:
        next_results(ws, timeout=15)


def test_a_presenter_action_while_redis_is_frozen_fails_whole_and_its_late_write_is_undone(
    private_redis,
) -> None:
    """`next` while Redis hangs: the action gives up (nothing changed in Postgres), Redis
    then wakes and runs the buffered refusing write; the reconciler restates what Postgres
    says within its bound, and the current poll takes votes again. The command says so
    plainly."""
    import redis
    from django.contrib.auth.models import User
    from django.test import override_settings

    from polls import live_sessions, openness, organising

    owner = User.objects.create_user("frozen-presenter", password="pw-presenter-1")
    polls = [
        organising.create_poll(slug=f"fz{n}", question="Q?", labels=["Yes", "No"], open_now=True)
        for n in (1, 2)
    ]
    session = live_sessions.go_live(
        live_sessions.create_session(title="Frozen", owner=owner, polls=polls)
    )
    private_redis.hold_admission_states()
    voting, worker = start_roles(private_redis.url)
    client = private_redis.client()
    yes = polls[0].choices.get(label="Yes").pk

    def use_private_redis() -> None:
        gates._client.cache_clear()
        gates._script.cache_clear()

    try:
        assert Browser(voting.url).vote_api(polls[0].slug, yes).status_code == 202
        with private_redis.frozen():
            result = processes.manage(
                "session_next", str(session.pk), env=processes.role_env(REDIS_URL=private_redis.url)
            )
        assert result.returncode == 2, result.stderr
        assert "nothing changed" in result.stderr
        assert "Traceback" not in result.stderr

        # The presenter's process has a connection open, as a serving process does.
        with override_settings(REDIS_URL=private_redis.url):
            use_private_redis()
            gates.write({})
            gates.read([polls[0].pk])
            with private_redis.frozen():
                began = time.monotonic()
                with pytest.raises(redis.TimeoutError):
                    live_sessions.move(session, step=1)
                gave_up = time.monotonic() - began
            use_private_redis()
        print(f"next gave up after {gave_up:.1f} s")
        session.refresh_from_db()
        assert session.current_poll_id == polls[0].pk  # nothing changed in Postgres
        woken = gates.Gate.decode(client.get(gates.key(polls[0].pk)))
        print(f"the first poll's copy once Redis woke: {woken}")

        began = time.monotonic()
        processes.wait_for(
            lambda: Browser(voting.url).vote_api(polls[0].slug, yes).status_code == 202,
            timeout=20,
            what="the current poll taking votes again",
        )
        print(f"votes taken again {time.monotonic() - began:.1f} s after Redis woke")
        last = openness.latest([p.pk for p in polls])
        for poll in polls:
            held = gates.Gate.decode(client.get(gates.key(poll.pk)))
            assert held == openness.gate_of(last[poll.pk])
        assert "admitted, then refused" not in worker.output()
    finally:
        use_private_redis()
        voting.stop()
        worker.stop()
