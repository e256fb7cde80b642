"""One truth for what is open: a 202 is never later dropped, after a close, a session's end,
a presenter action that failed half-way, or presenter actions racing each other.

Real gunicorn, Celery worker, Postgres and Redis. Each test says what it measured.
"""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg2
import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import OperationalError, connection

from polls import gates, live_sessions, openness, organising
from polls.models import AdmissionChange, LiveSession, Poll, Vote
from tests.support import processes
from tests.support.clients import Browser

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.processes]

REFUSED_AFTER_202 = "admitted, then refused"


def new_poll(n: int = 0) -> Poll:
    return organising.create_poll(
        slug=f"i{n}-{uuid.uuid4().hex[:8]}", question=f"Q{n}?", labels=["Yes", "No"],
        open_now=True,
    )  # fmt: skip


def vote(base: str, poll: Poll) -> Any:
    """A fresh voter's API vote for the poll's first choice."""
    return Browser(base).vote_api(poll.slug, poll.choices.order_by("position")[0].pk)


@pytest.fixture
def live(worker: processes.Worker) -> LiveSession:
    owner = User.objects.create_user(f"p-{uuid.uuid4().hex[:6]}", password="pw-presenter-1")
    session = live_sessions.create_session(
        title="Integrity", owner=owner, polls=[new_poll(n) for n in (1, 2, 3)]
    )
    return live_sessions.go_live(session)


def stored(vote_ids: set[str]) -> set[str]:
    return {
        str(v) for v in Vote.objects.filter(vote_id__in=vote_ids).values_list("vote_id", flat=True)
    }


def test_a_vote_after_a_close_and_a_quiet_spell_is_refused_at_once_on_every_web_process(
    worker: processes.Worker, voting: processes.WebServer
) -> None:
    poll = new_poll()
    # Every web process holds a copy of the open poll (the voting role runs several).
    assert {vote(voting.url, poll).status_code for _ in range(8)} == {202}
    processes.manage("close_poll", poll.slug, check=True)
    time.sleep(settings.POLL_CACHE_SECONDS * 2 + 1)  # no request: every copy grows stale
    answers = [vote(voting.url, poll) for _ in range(8)]
    print("after close:", [a.status_code for a in answers])
    assert [a.status_code for a in answers] == [409] * 8
    assert {a.json()["code"] for a in answers} == {"poll_not_open"}
    assert REFUSED_AFTER_202 not in worker.output()


def test_after_a_sessions_end_and_a_quiet_spell_no_poll_of_it_takes_a_vote(
    live: LiveSession, worker: processes.Worker, voting: processes.WebServer
) -> None:
    polls = live_sessions.ordered_polls(live)
    assert vote(voting.url, polls[0]).status_code == 202
    assert {vote(voting.url, p).status_code for p in polls[1:]} == {409}
    live_sessions.end(live)
    time.sleep(settings.POLL_CACHE_SECONDS * 2 + 1)
    codes = [vote(voting.url, p).status_code for p in polls for _ in range(3)]
    print("after end:", codes)
    assert codes == [409] * 9
    assert REFUSED_AFTER_202 not in worker.output()


def test_a_presenter_action_that_rolls_back_after_closing_in_redis_is_mended_within_seconds(
    live: LiveSession, worker: processes.Worker, voting: processes.WebServer
) -> None:
    """`next` closes the current poll in Redis, then stalls on a Postgres lock past the
    deadline and rolls back: the reconciler restores what Postgres says (the first poll
    open) within its bound, and a vote then is counted."""
    first = live_sessions.ordered_polls(live)[0]
    blocker = psycopg2.connect(processes.database_url())
    try:
        with blocker.cursor() as cur:  # hold the open voting window that `next` closes
            cur.execute("BEGIN; SELECT 1 FROM polls_votingwindow FOR UPDATE")
        with pytest.raises(OperationalError):
            live_sessions.move(live, step=1)
    finally:
        blocker.rollback()
        blocker.close()
    connection.close()
    live.refresh_from_db()
    assert live.current_poll_id == first.pk  # the action did not happen

    began = time.monotonic()
    processes.wait_for(
        lambda: vote(voting.url, first).status_code == 202,
        timeout=15,
        what="a vote on the current poll taken again",
    )
    mended = time.monotonic() - began
    print(f"Redis's copy mended {mended:.1f} s after the failed action")
    assert mended <= settings.ADMISSION_RECONCILE_SECONDS + 5
    assert openness.disagreements() == []
    assert REFUSED_AFTER_202 not in worker.output()


def test_presenter_actions_racing_while_phones_vote_count_every_202_and_no_other(
    live: LiveSession, worker: processes.Worker, voting: processes.WebServer
) -> None:
    polls = live_sessions.ordered_polls(live)
    stop = threading.Event()
    accepted: list[str] = []
    errors: list[str] = []

    def presenter(step: int) -> None:
        try:
            while not stop.is_set():
                try:
                    live_sessions.move(live, step=step)
                except live_sessions.SessionError:
                    step = -step  # at either end: turn round
        finally:
            connection.close()

    def phone(n: int) -> None:
        session_poll = polls[n % len(polls)]
        answer = vote(voting.url, session_poll)
        if answer.status_code == 202:
            accepted.append(answer.json()["vote_id"])
        elif answer.status_code != 409:
            errors.append(f"{answer.status_code} {answer.text[:80]}")

    presenters = [threading.Thread(target=presenter, args=(1 if i % 2 else -1,)) for i in range(8)]
    for thread in presenters:
        thread.start()
    try:
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(phone, range(200)))
    finally:
        stop.set()
        for thread in presenters:
            thread.join(30)
    versions = AdmissionChange.objects.filter(poll__in=polls).count()
    print(f"{len(accepted)} of 200 votes accepted, {versions} admission versions")
    assert not errors
    assert accepted, "some phones voted on the current poll"
    processes.wait_for(
        lambda: stored(set(accepted)) == set(accepted), timeout=60, what="every 202 stored"
    )
    # Each was admitted under a version that had its poll open in the session.
    assert REFUSED_AFTER_202 not in worker.output()
    live.refresh_from_db()
    copies = gates.read([p.pk for p in polls])
    open_now = [pk for pk, copy in copies.items() if copy and copy.state == gates.SESSION_OPEN]
    assert open_now == [live.current_poll_id]  # one poll open: the current one
