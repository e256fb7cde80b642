"""The ledger of queued votes (polls.pipeline.ledger): a vote the worker handled leaves it,
the ones the queue passed by more than the grace are passed over and queued again by the
sweep, the handled mark only moves forward. Each test here is a specification a surviving
mutant broke (docs/testing.md, "Mutation testing").

The tests run on the test Redis with a queue name of their own and times far in the
future, so a session's worker (its sweeper keeps running) never takes their entries.
"""

from __future__ import annotations

import datetime
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings

from polls.pipeline import ledger
from polls.pipeline.message import QueuedVote

GRACE = settings.VOTE_LEDGER_GRACE_SECONDS
# Later than any real vote of this run: the session's sweeper leaves these alone.
FUTURE = time.time() + 100 * GRACE


def a_vote(voter: str, at: float) -> QueuedVote:
    cast_at = datetime.datetime.fromtimestamp(at, tz=datetime.UTC)
    return QueuedVote(uuid.uuid4(), 1, 2, f"anon:{voter}", cast_at)


@pytest.fixture
def queue(redis_client: Any, settings: Any) -> Iterator[str]:
    """The vote queue the ledger looks at, one of these tests' own (empty at the start)."""
    settings.CELERY_TASK_DEFAULT_QUEUE = "votes-ledger-tests"
    redis_client.delete("votes-ledger-tests")
    yield "votes-ledger-tests"
    redis_client.delete("votes-ledger-tests")


@pytest.fixture
def pending(redis_client: Any, queue: str) -> Iterator[Any]:
    """Enter votes in the ledger at given times. The handled mark starts unset (it only
    moves forward, and an earlier test may have left it anywhere); it and the ledger are
    put back as they were afterwards."""
    mark = redis_client.zscore(ledger.HANDLED_UPTO_KEY, "upto")
    redis_client.delete(ledger.HANDLED_UPTO_KEY)
    entered: list[str] = []

    def enter(*votes_at: tuple[QueuedVote, float]) -> None:
        for vote, at in votes_at:
            entered.append(ledger.member(vote))
            redis_client.zadd(ledger.PENDING_KEY, {ledger.member(vote): at})

    yield enter
    if entered:
        redis_client.zrem(ledger.PENDING_KEY, *entered)
    redis_client.delete(ledger.HANDLED_UPTO_KEY)
    if mark is not None:
        redis_client.zadd(ledger.HANDLED_UPTO_KEY, {"upto": mark})


def in_ledger(redis_client: Any, vote: QueuedVote) -> bool:
    return redis_client.zscore(ledger.PENDING_KEY, ledger.member(vote)) is not None


def test_a_vote_the_worker_handled_leaves_the_ledger_and_the_others_stay(
    redis_client, pending
) -> None:
    handled, waiting = a_vote("a", FUTURE), a_vote("b", FUTURE)
    pending((handled, FUTURE), (waiting, FUTURE))
    ledger.mark_handled([handled])
    assert not in_ledger(redis_client, handled)
    assert in_ledger(redis_client, waiting)


def test_a_ledger_entry_is_the_same_text_whatever_order_the_message_has(pending) -> None:
    # The web side writes the entry, the worker strikes it off from the message it got:
    # the two must be equal strings.
    vote = a_vote("a", FUTURE)
    message = vote.to_message()
    reordered = dict(reversed(list(message.items())))
    assert ledger.message_member(reordered) == ledger.member(vote)
    assert " " not in ledger.member(vote)  # compact: the ledger holds thousands


def test_when_votes_are_queued_only_those_the_queue_passed_by_more_than_the_grace_count(
    redis_client, queue, pending
) -> None:
    # The worker has handled a vote cast at T; the queue still holds messages (busy).
    t = FUTURE
    ledger.mark_handled([a_vote("handled", t)])
    redis_client.rpush(queue, "a message still waiting")
    long_passed, recent = a_vote("old", t - GRACE - 1), a_vote("recent", t - GRACE + 1)
    pending((long_passed, t - GRACE - 1), (recent, t - GRACE + 1))
    # Long after T by the clock: a busy queue goes by how far it got, not by the time.
    assert ledger.passed_over(now=t + 50 * GRACE) == [ledger.member(long_passed)]


def test_with_the_queue_idle_every_vote_older_than_the_grace_is_passed_over(
    redis_client, queue, pending
) -> None:
    t = FUTURE
    old, recent = a_vote("old", t - GRACE - 1), a_vote("recent", t - GRACE + 1)
    pending((old, t - GRACE - 1), (recent, t - GRACE + 1))
    # No handled mark at all: an idle queue needs none.
    redis_client.delete(ledger.HANDLED_UPTO_KEY)
    assert ledger.passed_over(now=t) == [ledger.member(old)]


def test_a_worker_that_handled_votes_moments_ago_keeps_an_empty_queue_busy(
    redis_client, queue, pending
) -> None:
    """Nothing waits in Redis, but a worker handled a batch just now: it may hold many
    more messages it has taken. Only votes the handled mark passed by the grace count,
    not every vote older than the grace by the clock."""
    t = time.time()
    ledger.mark_handled([a_vote("handled", t - 3 * GRACE)])
    in_the_workers_hands = a_vote("held", t - 2 * GRACE - 1)
    long_passed = a_vote("lost", t - 4 * GRACE - 1)
    pending((in_the_workers_hands, t - 2 * GRACE - 1), (long_passed, t - 4 * GRACE - 1))
    assert ledger.queued_messages(redis_client) == 0
    assert ledger.passed_over(now=t) == [ledger.member(long_passed)]
    # Once no worker has handled anything for a grace period, the queue is idle.
    assert set(ledger.passed_over(now=t + 2 * GRACE)) == {
        ledger.member(long_passed),
        ledger.member(in_the_workers_hands),
    }


def test_the_handled_mark_only_moves_forward_whatever_order_batches_finish_in(
    redis_client, queue, pending
) -> None:
    t = FUTURE
    # One batch with votes cast at t-20 and t, then a slower one from before.
    ledger.mark_handled([a_vote("a", t - 20), a_vote("b", t)])
    ledger.mark_handled([a_vote("c", t - 30)])
    redis_client.rpush(queue, "a message still waiting")
    just_passed = a_vote("d", t - GRACE - 1)
    pending((just_passed, t - GRACE - 1))
    # Passed over as seen from t (the newest handled), not from t-20 or t-30.
    assert ledger.passed_over(now=t + 50 * GRACE) == [ledger.member(just_passed)]


def test_a_message_a_worker_holds_unacknowledged_keeps_the_queue_busy(redis_client, queue) -> None:
    redis_client.rpush(queue, "waiting")
    redis_client.hset("unacked", "a-test-delivery-tag", "held")  # not in unacked_index:
    try:  # kombu's restore never looks at it
        assert ledger.queued_messages(redis_client) == 2
    finally:
        redis_client.hdel("unacked", "a-test-delivery-tag")


def test_a_sweep_queues_the_passed_over_votes_again_and_gives_them_a_fresh_place_in_line(
    redis_client, queue, pending
) -> None:
    t = FUTURE
    lost, recent = a_vote("lost", t - GRACE - 1), a_vote("recent", t)
    pending((lost, t - GRACE - 1), (recent, t))
    requeued: list[list[dict[str, Any]]] = []
    assert ledger.sweep(requeued.append, now=t) == 1
    assert requeued == [[lost.to_message()]]
    # Still in the ledger (not stored yet), but as of now: the next sweep leaves it be.
    assert redis_client.zscore(ledger.PENDING_KEY, ledger.member(lost)) == t
    assert ledger.sweep(requeued.append, now=t) == 0
    assert len(requeued) == 1


def test_a_vote_stored_while_the_sweep_requeued_it_is_not_entered_again(
    redis_client, queue, pending
) -> None:
    t = FUTURE
    lost = a_vote("lost", t - GRACE - 1)
    pending((lost, t - GRACE - 1))

    def requeue_and_the_worker_stores_it(messages: list[dict[str, Any]]) -> None:
        ledger.mark_handled([QueuedVote.from_message(m) for m in messages])

    assert ledger.sweep(requeue_and_the_worker_stores_it, now=t) == 1
    assert not in_ledger(redis_client, lost)


def test_without_a_clock_given_the_ledger_goes_by_the_time_now(
    redis_client, queue, pending, monkeypatch
) -> None:
    monkeypatch.setattr(time, "time", lambda: FUTURE)  # "now", for this test
    old, recent = a_vote("old", FUTURE - GRACE - 1), a_vote("recent", FUTURE - GRACE + 1)
    pending((old, FUTURE - GRACE - 1), (recent, FUTURE - GRACE + 1))
    redis_client.delete(ledger.HANDLED_UPTO_KEY)
    assert ledger.passed_over() == [ledger.member(old)]
    assert ledger.sweep(lambda messages: None) == 1
    assert redis_client.zscore(ledger.PENDING_KEY, ledger.member(old)) == FUTURE
