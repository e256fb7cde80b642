"""Q&A upvotes through the real roles (voting under gunicorn, a real Celery worker, a
private Redis), one run through two faults: upvote actions streamed while the worker is
killed, then upvotes across a Redis restart. Every 202 is counted exactly once, the latest
action of each voter on each question wins, a 503 records nothing, and `recount --check`
(which covers upvotes) agrees. The board's Redis copy starts missing (a fresh Redis): the
first admission writes it again from Postgres."""

from __future__ import annotations

import random
import secrets
import signal
import threading
import uuid
from collections import Counter
from collections.abc import Iterator

import pytest
import requests
from django.conf import settings
from django.contrib.auth.models import User
from django.utils import timezone

from polls import live_sessions, qna_reads
from polls.models import LiveSession, QnaBoard, Question
from polls.voters import signed_voter_cookie
from tests.support import processes
from tests.support.stores import PrivateRedis

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.processes]

NO_LIMITS = {"RATELIMIT_ENABLE": "0"}  # one loopback address sends everything
CSRF = "q" * 32
# The worker-kill run: 960 actions with --slow, 240 in CI (the same path: a third sent,
# the worker killed, the rest sent to its replacement). Then the Redis restart: 120
# actions each side of it with --slow, 40 in CI, and 3 while it is away.
SLOW_RUN, CI_RUN = (120, 8), (40, 6)
SLOW_RESTART, CI_RESTART = 120, 40
# A killed worker's actions come back by the ledger's sweep: sooner than by default.
FAST_SWEEP = {"VOTE_LEDGER_GRACE_SECONDS": "3", "VOTE_LEDGER_SWEEP_SECONDS": "0.5"}


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    store = PrivateRedis().start()
    yield store
    store.cleanup()


@pytest.fixture
def board() -> QnaBoard:
    owner = User.objects.create_user(f"qna-roles-{uuid.uuid4().hex[:6]}")
    session = live_sessions.go_live(
        live_sessions.create_session(title="Roles", owner=owner, polls=[], qna=True)
    )
    found = qna_reads.board_of(session)
    assert found is not None
    for n in range(3):
        Question.objects.create(board=found, uuid=uuid.uuid4(), voter_key=f"anon:asker{n}",
                                text=f"Question {n}?", asked_at=timezone.now(),
                                admitted_ms=n)  # fmt: skip
    return found


def send_upvotes(url: str, code: str, actions: list[tuple[str, str, bool]]) -> list[int]:
    """Each action in turn (a voter's in the order given); the statuses answered (0: no
    answer)."""
    http = requests.Session()
    statuses = []
    for voter, question, up in actions:
        cookies = f"{settings.VOTER_COOKIE_NAME}={signed_voter_cookie(voter)}; csrftoken={CSRF}"
        try:
            answer = http.post(
                f"{url}/api/sessions/{code}/questions/{question}/upvote",
                json={"up": up}, headers={"Cookie": cookies, "X-CSRFToken": CSRF}, timeout=15,
            )  # fmt: skip
            statuses.append(answer.status_code)
        except requests.RequestException:
            statuses.append(0)
    return statuses


def last_actions_counted(
    accepted: list[tuple[str, str, bool]], questions: list[str]
) -> dict[str, int]:
    """Per question, the voters whose latest accepted action on it is up."""
    last: dict[tuple[str, str], bool] = {}
    for voter, question, up in accepted:
        last[(voter, question)] = up
    return {q: sum(1 for (_v, qq), up in last.items() if qq == q and up) for q in questions}


def test_upvotes_count_once_each_last_action_winning_across_a_killed_worker_and_a_redis_restart(
    board: QnaBoard, private_redis: PrivateRedis, slow: bool
) -> None:
    session: LiveSession = board.session
    questions = [str(q.uuid) for q in board.questions.all()]
    voters_n, each = SLOW_RUN if slow else CI_RUN
    env = {**NO_LIMITS, **FAST_SWEEP, "REDIS_URL": private_redis.url}
    # One web process: a process that has never queued a message waits out kombu's connect
    # retries (seconds) when Redis is away; here it has, by the time Redis stops.
    voting = processes.voting_server(env=env, workers=1).start().wait_ready()
    worker = processes.Worker(env=env).start().wait_ready()
    replacement: processes.Worker | None = None
    accepted: list[tuple[str, str, bool]] = []  # per voter in the order each one sent
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    a_third = threading.Event()
    rng = random.Random(35)
    plans = {
        secrets.token_urlsafe(9): [(rng.choice(questions), rng.random() < 0.7) for _ in range(each)]
        for _ in range(voters_n)
    }
    voters = list(plans)

    def send(chunk: list[str]) -> None:
        for voter in chunk:
            for question, up in plans[voter]:
                status = send_upvotes(voting.url, session.code, [(voter, question, up)])[0]
                with lock:
                    statuses[status] += 1
                    if status == 202:
                        accepted.append((voter, question, up))
                    if len(accepted) >= voters_n * each // 3:
                        a_third.set()

    def counted() -> dict[str, int]:
        return {str(q.uuid): q.upvotes for q in board.questions.all()}

    def all_counted(what: str) -> None:
        want = last_actions_counted(accepted, questions)
        processes.wait_for(lambda: counted() == want, timeout=90, interval=0.5,
                           what=lambda: f"{what}: counted {counted()} != {want}")  # fmt: skip

    try:
        # 1. The worker is SIGKILLed a third of the way through the stream.
        senders = [threading.Thread(target=send, args=(voters[i::6],)) for i in range(6)]
        for thread in senders:
            thread.start()
        assert a_third.wait(120)
        worker.kill(signal.SIGKILL)
        replacement = processes.Worker(env=env).start().wait_ready()
        for thread in senders:
            thread.join()
        assert statuses == Counter({202: voters_n * each})
        all_counted("after the worker was killed")

        # 2. Redis restarts, actions waiting in it (no worker): they survive in its
        # append-only file; while it is away an action is a 503, and nothing is recorded.
        replacement.stop()
        size = SLOW_RESTART if slow else CI_RESTART

        def batch(n: int) -> list[tuple[str, str, bool]]:
            return [(rng.choice(voters), rng.choice(questions), rng.random() < 0.7)
                    for _ in range(n)]  # fmt: skip

        before = batch(size)
        assert set(send_upvotes(voting.url, session.code, before)) == {202}
        accepted += before
        private_redis.stop()
        assert set(send_upvotes(voting.url, session.code, batch(3))) == {503}
        private_redis.start()
        after = batch(size)
        processes.wait_for(lambda: send_upvotes(voting.url, session.code, after[:1]) == [202],
                           timeout=30, what="upvotes taken again")  # fmt: skip
        assert set(send_upvotes(voting.url, session.code, after[1:])) == {202}
        accepted += after
        worker = processes.Worker(env=env).start().wait_ready()
        all_counted("after the Redis restart")
        check = processes.manage(
            "recount", "--check", env=processes.role_env(REDIS_URL=private_redis.url)
        )
        assert check.returncode == 0, check.stdout + check.stderr
    finally:
        voting.stop()
        worker.stop()
        if replacement:
            replacement.stop()
