"""When Redis's answer to an admission is lost, the voter is told the truth: "nothing was
recorded" only when Redis was never reached or does not hold the vote; "accepted" when it
holds it (the script ran, the reply was lost: a primary killed just after replicating); and
"cannot tell", with the vote's id to ask after it, when Redis cannot be asked. Real Redis;
the lost answer is a connection error raised after (or instead of) running the real script."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import redis
from django.conf import settings
from django.test import Client

from polls.models import Poll
from polls.pipeline import admission, ballots
from polls.voters import signed_voter_cookie

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("own_queue")]


@pytest.fixture(autouse=True)
def _short_deadline(settings: Any) -> None:
    # The voter's answer waits for the deadline (plus the margin) before Redis is asked.
    settings.VOTE_ADMISSION_DEADLINE_SECONDS = 0.3
    settings.VOTE_ADMISSION_CLOCK_MARGIN_SECONDS = 0.1


def voter(name: str) -> Client:
    client = Client()
    client.cookies[settings.VOTER_COOKIE_NAME] = signed_voter_cookie(name)
    return client


def answer_lost(monkeypatch: pytest.MonkeyPatch, *, script_runs: bool) -> None:
    """The connection breaks after the script was sent; it ran in Redis, or it did not."""
    real = admission._script

    def lost(*, keys: Any, args: Any) -> Any:
        if script_runs:
            real()(keys=keys, args=args)
        raise redis.ConnectionError("Connection closed by server.")

    monkeypatch.setattr(admission, "_script", lambda: lost)


def vote(client: Client, poll: Poll, label: str) -> Any:
    choice = poll.choices.get(label=label).pk
    return client.post(
        f"/api/polls/{poll.slug}/vote", {"choice": choice}, content_type="application/json"
    )


def test_a_vote_redis_took_before_the_answer_was_lost_is_accepted(
    make_poll: Callable[..., Poll], monkeypatch: pytest.MonkeyPatch
) -> None:
    poll = make_poll(labels=("Cats", "Dogs"))
    answer_lost(monkeypatch, script_runs=True)

    answer = vote(voter("alice"), poll, "Cats")

    assert answer.status_code == 202, answer.content
    held = ballots.read(poll.pk, "anon:alice")
    assert held is not None
    assert held.vote_id == answer.json()["vote_id"]


def test_a_vote_redis_never_ran_is_not_recorded_and_says_so(
    make_poll: Callable[..., Poll], monkeypatch: pytest.MonkeyPatch
) -> None:
    poll = make_poll(labels=("Cats", "Dogs"))
    answer_lost(monkeypatch, script_runs=False)

    answer = vote(voter("alice"), poll, "Cats")

    assert answer.status_code == 503
    assert answer.json()["code"] == "votes_unavailable"
    assert "nothing was recorded" in answer.json()["error"]
    assert ballots.read(poll.pk, "anon:alice") is None


def test_when_redis_cannot_be_asked_the_voter_is_told_it_cannot_be_told_with_the_vote_id(
    make_poll: Callable[..., Poll], monkeypatch: pytest.MonkeyPatch
) -> None:
    poll = make_poll(labels=("Cats", "Dogs"))
    answer_lost(monkeypatch, script_runs=True)

    def unreachable(*_: Any) -> None:
        raise redis.ConnectionError("Error 111 connecting")

    monkeypatch.setattr(ballots, "read", unreachable)
    alice = voter("alice")

    answer = vote(alice, poll, "Cats")

    assert answer.status_code == 503
    body = answer.json()
    assert body["code"] == "vote_outcome_unknown"
    assert "nothing was recorded" not in body["error"]
    assert body["vote_id"] in body["error"]
    monkeypatch.undo()  # Redis answers again: the id finds the vote, which Redis took
    status = alice.get(f"/api/polls/{poll.slug}/votes/{body['vote_id']}")
    assert status.json() == {"vote_id": body["vote_id"], "status": "queued"}


def test_a_redis_that_cannot_be_reached_records_nothing_and_says_so_at_once(
    make_poll: Callable[..., Poll], monkeypatch: pytest.MonkeyPatch
) -> None:
    poll = make_poll(labels=("Cats", "Dogs"))
    ran: list[bool] = []
    monkeypatch.setattr(admission, "_script", lambda: lambda **_: ran.append(True))
    monkeypatch.setattr(
        admission, "_client", lambda: redis.Redis(host="127.0.0.1", port=1, socket_timeout=1)
    )

    answer = vote(voter("alice"), poll, "Cats")

    assert answer.status_code == 503
    assert answer.json()["code"] == "votes_unavailable"
    assert ran == [], "the script is never sent to a Redis that was not reached"


def test_a_process_whose_first_vote_cannot_reach_the_broker_records_nothing_and_says_so(
    make_poll: Callable[..., Poll], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A web process builds its first queue message on a channel it connects then: a Redis
    that is down is "nothing was recorded" (it was a 500 for a Q&A upvote), at once (one
    refused connection: kombu's default retries held the answer about 6 s)."""
    import time

    from kombu import Connection

    from polls.pipeline import message

    poll = make_poll(labels=("Cats", "Dogs"))
    ran: list[bool] = []
    monkeypatch.setattr(admission, "_script", lambda: lambda **_: ran.append(True))
    monkeypatch.setattr(
        message.current_app,
        "connection_for_write",
        lambda **options: Connection("redis://127.0.0.1:1//", **options),
    )
    looked: list[Any] = []
    monkeypatch.setattr(ballots, "read", lambda *key: looked.append(key))
    message._channel.cache_clear()
    started = time.monotonic()
    try:
        answer = vote(voter("alice"), poll, "Cats")
    finally:
        message._channel.cache_clear()
    took = time.monotonic() - started
    print(f"a refused broker answered in {took:.2f} s")

    assert answer.status_code == 503
    assert answer.json()["code"] == "votes_unavailable"
    assert ran == []
    assert looked == [], "known not sent: nothing to look for"
    assert took < 3  # generous: one refused loopback connect, not kombu's retries
