"""A quiz question's deadline through the real pipeline (issue 36): gunicorn, the Celery
worker, Postgres and Redis. Answers 1 s before and after the deadline, and a stream of
phones across it: each 202 was sent before Redis's deadline and is stored and scored;
each answer after it is refused at admission (409 time_up), never 202'd then dropped."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.contrib.auth.models import User

from polls import live_sessions, organising, quiz
from polls.models import LiveSession, Poll, Vote
from tests.support import processes
from tests.support.clients import Browser

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.processes]

REFUSED_AFTER_202 = "admitted, then refused"


@pytest.fixture
def quiz_session(worker: processes.Worker) -> LiveSession:
    owner = User.objects.create_user(f"q-{uuid.uuid4().hex[:6]}", password="pw-quiz-12")
    poll = organising.create_poll(
        slug=f"qz-{uuid.uuid4().hex[:8]}", question="2 + 2?", labels=["4", "5"],
        open_now=True, options={"quiz_correct": "1", "quiz_seconds": 5},
    )  # fmt: skip
    made = live_sessions.create_session(title="Deadline", owner=owner, polls=[poll])
    return live_sessions.start(live_sessions.go_live(made))


def answer(base: str, poll: Poll) -> tuple[int, str, int, int]:
    """A fresh phone's answer: (status, code or vote id, Redis's ms before, after)."""
    before = quiz.now_ms()
    reply = Browser(base).vote_api(poll.slug, poll.choices.get(label="4").pk)
    after = quiz.now_ms()
    body: dict[str, Any] = reply.json()
    return reply.status_code, body.get("vote_id") or body.get("code", ""), before, after


def test_answers_across_the_deadline_are_202_and_stored_before_it_refused_after_it(
    quiz_session: LiveSession, worker: processes.Worker, voting: processes.WebServer
) -> None:
    poll = live_sessions.ordered_polls(quiz_session)[0]
    clock = quiz.countdown(poll)
    assert clock is not None
    deadline = clock.closes_ms

    def at(ms: int) -> None:
        time.sleep(max(0.0, (ms - quiz.now_ms()) / 1000))

    at(deadline - 1000)
    early = answer(voting.url, poll)
    assert early[0] == 202, early

    results: list[tuple[int, str, int, int]] = []
    lock = threading.Lock()

    def phone(_: int) -> None:
        got = answer(voting.url, poll)
        with lock:
            results.append(got)

    at(deadline - 600)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(phone, range(120)))  # spread over the deadline
    at(deadline + 1000)
    late = answer(voting.url, poll)
    assert late[:2] == (409, "time_up"), late

    accepted = [r for r in [early, *results] if r[0] == 202]
    refused = [r for r in results if r[0] == 409]
    assert {r[0] for r in results} <= {202, 409}, results
    assert all(r[1] == "time_up" for r in refused)
    assert all(r[2] < deadline for r in accepted), "a 202 only for an answer sent in time"
    assert all(r[3] >= deadline for r in refused), "refused only once the deadline passed"
    print(f"\n{len(accepted)} answers 202 before the deadline, {len(refused)} refused after it")
    assert refused, "the stream reached past the deadline"
    ids = {r[1] for r in accepted}
    processes.wait_for(
        lambda: (
            set(map(str, Vote.objects.filter(vote_id__in=ids).values_list("vote_id", flat=True)))
            == ids
        ),
        timeout=60,
        what="every 202 stored",
    )
    assert REFUSED_AFTER_202 not in worker.output()
    game = quiz.played(poll)
    assert game is not None
    assert len(game[1]) == len(accepted), "every stored answer is within the countdown"
    assert all(500 <= s.score <= 1000 for s in quiz.standings(quiz_session))
