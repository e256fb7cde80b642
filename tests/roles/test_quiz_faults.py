"""A quiz question when a part fails during its countdown (issue 36), with the real roles
(gunicorn, the Celery worker) against a private Redis they may break and the test
Postgres: a worker killed mid-question loses and doubles no answer (every 202 stored and
scored exactly once after a new worker starts), and a Redis restart neither extends nor
shortens the countdown (answers meanwhile refused with a clear 503, never a 202 later
dropped; after it the same deadline). `recount --check` agrees after each."""

from __future__ import annotations

import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth.models import User

from polls import gates, live_sessions, organising, quiz
from polls.models import LiveSession, Poll, PollCounter, Vote
from tests.roles.test_faults import NO_LIMITS, recount_check, start_roles
from tests.support import processes
from tests.support.clients import Browser
from tests.support.stores import PrivateRedis

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.processes]


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    store = PrivateRedis().start()
    yield store
    store.cleanup()


def quiz_session(seconds: int) -> LiveSession:
    owner = User.objects.create_user(f"q-{uuid.uuid4().hex[:6]}", password="pw-quiz-12")
    poll = organising.create_poll(
        slug=f"qf-{uuid.uuid4().hex[:8]}", question="2 + 2?", labels=["4", "5"],
        open_now=True, options={"quiz_correct": "1", "quiz_seconds": seconds},
    )  # fmt: skip
    made = live_sessions.create_session(title="Faults", owner=owner, polls=[poll])
    return live_sessions.go_live(made)


def start_countdown(session: LiveSession, redis_url: str) -> tuple[Poll, quiz.Countdown]:
    """The presenter's start, written to the Redis the roles use (the command, as an
    operator would run it)."""
    env = processes.role_env(REDIS_URL=redis_url)
    started = processes.manage("session_countdown", session.code, env=env)
    assert started.returncode == 0, started.stdout + started.stderr
    poll = live_sessions.ordered_polls(session)[0]
    clock = quiz.countdown(poll)
    assert clock is not None
    return poll, clock


def phone(base: str, poll: Poll) -> Browser:
    """A fresh phone that has loaded the question (its CSRF cookie), ready to answer."""
    browser = Browser(base)
    browser.http.get(f"{base}/api/polls/{poll.slug}", timeout=10)
    return browser


def answer(browser: Browser, poll: Poll, label: str = "4") -> tuple[int, str]:
    """A phone's answer: (status, its vote id, else the refusal's code)."""
    reply = browser.vote_api(poll.slug, poll.choices.get(label=label).pk)
    body = reply.json()
    return reply.status_code, body.get("vote_id") or body.get("code", "")


def answers(base: str, poll: Poll, count: int) -> list[tuple[int, str]]:
    with ThreadPoolExecutor(6) as pool:
        return list(pool.map(lambda _: answer(phone(base, poll), poll), range(count)))


def stored(ids: set[str]) -> set[str]:
    return {str(v) for v in Vote.objects.filter(vote_id__in=ids).values_list("vote_id", flat=True)}


def test_a_worker_killed_mid_question_loses_and_doubles_no_answer(private_redis, slow) -> None:
    """About 45 s (two workers start): --slow only; CI has test_faults' killed worker and
    the Redis restart below."""
    if not slow:
        pytest.skip("a long fault run: --slow")
    session = quiz_session(seconds=60)
    voting, worker = start_roles(private_redis.url)
    replacement: processes.Worker | None = None
    try:
        poll, clock = start_countdown(session, private_redis.url)
        sent: list[tuple[int, str]] = []
        a_third = threading.Event()

        def phones() -> None:
            for n in range(6):
                sent.extend(answers(voting.url, poll, 50))
                if n == 1:
                    a_third.set()

        sender = threading.Thread(target=phones)
        sender.start()
        assert a_third.wait(120)
        worker.kill(signal.SIGKILL)  # mid-question: main process and pool children
        replacement = processes.Worker(env={**NO_LIMITS, "REDIS_URL": private_redis.url})
        replacement.start().wait_ready()
        sender.join()
        assert quiz.now_ms() < clock.closes_ms, "all sent within the countdown"

        assert Counter(status for status, _ in sent) == Counter({202: 300})
        ids = {vote_id for _, vote_id in sent}
        processes.wait_for(lambda: stored(ids) == ids, timeout=90, what="every 202 stored")
        # Exactly once: one row per phone, the counter and the scores agree.
        assert Vote.objects.filter(poll=poll).count() == 300
        assert PollCounter.objects.get(poll=poll).total == 300
        table = quiz.standings(LiveSession.objects.get(pk=session.pk))
        assert len(table) == 300, "every answer scored, none twice"
        assert all(500 <= row.score <= 1000 for row in table), "each right, in time"
        check = recount_check(private_redis.url)
        assert check.returncode == 0, check.stdout + check.stderr
        assert "300 answers scored, 0 admitted after the deadline" in check.stdout
    finally:
        voting.stop()
        worker.stop()
        if replacement:
            replacement.stop()


def test_a_redis_restart_mid_countdown_keeps_its_deadline_and_tells_phones_the_truth(
    private_redis,
) -> None:
    """Redis stops (gracefully, its append-only file kept) a few seconds into a 20 s
    countdown: answers meanwhile get 503 votes_unavailable (nothing recorded, the phone may try
    again); after the restart Redis holds the same deadline, answers before it are 202 and
    stored, answers after it 409 time_up. Every 202 is stored and scored."""
    session = quiz_session(seconds=20)
    voting, worker = start_roles(private_redis.url)
    try:
        poll, clock = start_countdown(session, private_redis.url)
        before = answers(voting.url, poll, 20)
        waiting = [phone(voting.url, poll) for _ in range(6)]  # their page loaded
        deadline_copy = private_redis.client().get(gates.key(poll.pk))
        private_redis.stop()
        with ThreadPoolExecutor(6) as pool:
            down = list(pool.map(lambda browser: answer(browser, poll), waiting))
        private_redis.start()
        assert private_redis.client().get(gates.key(poll.pk)) == deadline_copy, (
            "the restart neither extends nor shortens the countdown"
        )
        processes.wait_for(
            lambda: answer(phone(voting.url, poll), poll)[0] == 202,
            timeout=30,
            what="answers taken again",
        )
        after = answers(voting.url, poll, 20)
        time.sleep(max(0.0, (clock.closes_ms - quiz.now_ms()) / 1000 + 0.2))
        late = answers(voting.url, poll, 5)

        assert Counter(s for s, _ in before) == Counter({202: 20})
        assert {s for s, _ in down} == {503}, down
        assert {code for _, code in down} == {"votes_unavailable"}
        assert Counter(s for s, _ in after) == Counter({202: 20})
        assert late == [(409, "time_up")] * 5
        ids = {v for s, v in before + after if s == 202}
        processes.wait_for(lambda: stored(ids) == ids, timeout=60, what="every 202 stored")
        game = quiz.played(poll)
        assert game is not None
        assert len(game[1]) == Vote.objects.filter(poll=poll).count(), "all within the time"
        check = recount_check(private_redis.url)
        assert check.returncode == 0, check.stdout + check.stderr
    finally:
        voting.stop()
        worker.stop()
