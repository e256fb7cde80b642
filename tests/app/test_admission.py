"""Admitting votes (polls.pipeline.admission) on real Redis: one round trip counts each vote
against its limits, enters the admitted ones in the ledger and queues them as one Celery
message, built by polls.pipeline.message exactly as `apply_async` would have sent it."""

from __future__ import annotations

import base64
import datetime
import functools
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone
from kombu.utils.json import dumps as json_dumps

from polls import gates, ratelimits
from polls.pipeline import admission, ballots, ledger
from polls.pipeline import message as task_message
from polls.pipeline.message import QueuedVote
from polls.tasks import record_votes


def a_vote(voter: str) -> QueuedVote:
    return QueuedVote(uuid.uuid4(), 1, 2, f"anon:{voter}", timezone.now())


def body_of(envelope: dict[str, Any]) -> Any:
    """A queue message's task body, decoded as the worker decodes it."""
    body = envelope["body"]
    if envelope["properties"].get("body_encoding") == "base64":
        body = base64.b64decode(body)
    return json.loads(body)


def queued_messages(redis_client: Any, queue: str) -> list[list[dict[str, Any]]]:
    """The votes of each message on the queue, oldest first."""
    return [body_of(json.loads(raw))[0][0] for raw in reversed(redis_client.lrange(queue, 0, -1))]


def queued_votes(redis_client: Any, queue: str) -> list[list[str]]:
    """The voter keys of each message on the queue, oldest first."""
    return [[vote["voter_key"] for vote in m] for m in queued_messages(redis_client, queue)]


@pytest.fixture(autouse=True)
def _clean(redis_client: Any, own_queue: str) -> Iterator[None]:
    redis_client.delete(ledger.PENDING_KEY, *redis_client.keys("rl:*"))
    # Poll 1 of these tests is open, in Redis's copy (as version 1).
    held = redis_client.get(gates.key(1))
    redis_client.set(gates.key(1), gates.Gate(1, gates.OPEN).encode())
    yield
    redis_client.delete(gates.key(1))
    if held is not None:
        redis_client.set(gates.key(1), held)


def test_a_built_message_is_what_apply_async_sends(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()  # the real queue's name, but nothing reaches Redis:
    sent: list[tuple[str, str]] = []
    monkeypatch.setattr(
        "kombu.transport.redis.Channel._put",
        lambda channel, queue, message, **kw: sent.append((queue, json_dumps(message))),
    )
    votes = [a_vote("a").to_message(), a_vote("b").to_message()]
    record_votes.apply_async(args=(votes,), retry=True, argsrepr="", kwargsrepr="")
    [(queue, sent_text)] = sent
    assert queue == task_message.queue_name()
    theirs = json.loads(sent_text)
    ours = json.loads(task_message.build(votes))
    for message in (theirs, ours):  # ids are fresh per message
        for key in ("id", "root_id"):
            del message["headers"][key]
        for key in ("correlation_id", "delivery_tag"):
            del message["properties"][key]
    # apply_async also copies its argsrepr/kwargsrepr options into the properties; unread.
    for key in ("argsrepr", "kwargsrepr"):
        del theirs["properties"][key]
    assert ours == theirs
    assert body_of(ours)[0] == [votes]


def test_a_group_within_its_limits_goes_as_one_message_and_into_the_ledger(
    redis_client, own_queue
) -> None:
    votes = [a_vote(v) for v in ("a", "b", "c")]
    entries = [admission.Entry(v, [ratelimits.Limit("voter", v.voter_key, "1/h")]) for v in votes]
    assert admission.admit_and_queue(entries) == [0, 0, 0]
    assert queued_votes(redis_client, own_queue) == [["anon:a", "anon:b", "anon:c"]]
    assert redis_client.zcard(ledger.PENDING_KEY) == 3


def test_a_vote_over_its_limit_stays_out_and_the_rest_of_its_group_goes(
    redis_client, own_queue
) -> None:
    def entry(voter: str) -> admission.Entry:
        return admission.Entry(a_vote(voter), [ratelimits.Limit("voter", f"anon:{voter}", "1/h")])

    assert admission.admit_and_queue([entry("a")]) == [0]
    waits = admission.admit_and_queue([entry("b"), entry("a"), entry("c")])
    assert waits[0] == waits[2] == 0
    assert 0 < waits[1] <= 3600
    assert queued_votes(redis_client, own_queue) == [["anon:a"], ["anon:b", "anon:c"]]
    in_ledger = [json.loads(m)["voter_key"] for m in redis_client.zrange(ledger.PENDING_KEY, 0, -1)]
    assert sorted(in_ledger) == ["anon:a", "anon:b", "anon:c"]


def test_a_group_all_over_its_limits_queues_nothing(redis_client, own_queue) -> None:
    over = admission.Entry(a_vote("a"), [ratelimits.Limit("ip", "10.0.0.1", "0/h")])
    assert admission.admit_and_queue([over])[0] > 0
    assert redis_client.llen(own_queue) == 0
    assert redis_client.zcard(ledger.PENDING_KEY) == 0


@override_settings(RATELIMIT_ENABLE=False)
def test_with_rate_limits_off_nothing_is_counted(redis_client, own_queue) -> None:
    over = admission.Entry(a_vote("a"), [ratelimits.Limit("ip", "10.0.0.1", "0/h")])
    assert admission.admit_and_queue([over]) == [0]
    assert queued_votes(redis_client, own_queue) == [["anon:a"]]
    assert not redis_client.keys("rl:*")


# --- The pending ballot and the deadline -------------------------------------------------


def a_ballot(voter: str, choice: int, *, poll: int = 1, seconds_ago: float = 0) -> QueuedVote:
    cast_at = timezone.now() - datetime.timedelta(seconds=seconds_ago)
    return QueuedVote(uuid.uuid4(), poll, choice, f"anon:{voter}", cast_at)


def held_ballot(redis_client: Any, vote: QueuedVote) -> str:
    """The voter's ballot record, "" when there is none."""
    raw = redis_client.get(ballots.key(vote.poll_id, vote.voter_key))
    return raw.decode() if raw else ""


@pytest.fixture
def _no_ballots(redis_client: Any) -> None:
    redis_client.delete(*redis_client.keys("ballot:*") or ["ballot:none"])


@pytest.mark.usefixtures("_no_ballots")
def test_on_a_no_change_poll_a_different_ballot_is_refused_while_the_first_is_pending(
    redis_client, own_queue
) -> None:
    first, other, same = a_ballot("a", 2), a_ballot("a", 3), a_ballot("a", 2)
    entry = functools.partial(admission.Entry, allow_change=False, limits=[])
    assert admission.admit_and_queue([entry(first)]) == [0]
    assert admission.admit_and_queue([entry(other)]) == [admission.REFUSED_CHANGE]
    assert admission.admit_and_queue([entry(same)]) == [0]  # the same ballot again is fine
    # The refused ballot was written nowhere: not queued, not in the ledger, not held.
    assert queued_votes(redis_client, own_queue) == [["anon:a"], ["anon:a"]]
    in_ledger = {json.loads(m)["vote_id"] for m in redis_client.zrange(ledger.PENDING_KEY, 0, -1)}
    assert in_ledger == {str(first.vote_id), str(same.vote_id)}
    assert held_ballot(redis_client, first).startswith(f"p|{first.vote_id}|")


@pytest.mark.usefixtures("_no_ballots")
def test_a_stored_ballot_still_refuses_a_different_one_for_a_while(
    redis_client, own_queue, settings
) -> None:
    first, other = a_ballot("b", 2), a_ballot("b", 3)
    entry = functools.partial(admission.Entry, allow_change=False, limits=[])
    assert admission.admit_and_queue([entry(first)]) == [0]
    ballots.settle([first], refused={})
    assert held_ballot(redis_client, first).startswith("s|")
    # A web process that read "no stored vote" just before the commit is still caught...
    assert admission.admit_and_queue([entry(other)]) == [admission.REFUSED_CHANGE]
    key = ballots.key(first.poll_id, first.voter_key)
    assert 0 < redis_client.ttl(key) <= settings.VOTE_BALLOT_SETTLED_SECONDS
    # ...and a refused ballot holds nothing back.
    ballots.settle([first], refused={str(first.vote_id): "poll not open when cast"})
    assert held_ballot(redis_client, first).startswith("r|")
    assert admission.admit_and_queue([entry(other)]) == [0]


@pytest.mark.usefixtures("_no_ballots")
def test_where_changes_are_allowed_the_ballot_cast_last_is_held_whatever_the_order(
    redis_client, own_queue
) -> None:
    older, newer = a_ballot("c", 2, seconds_ago=5), a_ballot("c", 3)
    assert admission.admit_and_queue([admission.Entry(newer, [])]) == [0]
    assert admission.admit_and_queue([admission.Entry(older, [])]) == [0]
    assert held_ballot(redis_client, newer).startswith(f"p|{newer.vote_id}|")
    # Settling the older vote leaves the newer one pending.
    ballots.settle([older], refused={})
    assert held_ballot(redis_client, newer).startswith(f"p|{newer.vote_id}|")


@pytest.mark.usefixtures("_no_ballots")
def test_a_vote_whose_deadline_passed_before_redis_ran_the_script_is_refused_unwritten(
    redis_client, own_queue
) -> None:
    late = a_ballot("d", 2)
    on_time = a_ballot("e", 2)
    entries = [
        admission.Entry(late, [ratelimits.Limit("voter", late.voter_key, "5/h")],
                        deadline=time.time() - 0.001),
        admission.Entry(on_time, [], deadline=time.time() + 5),
    ]  # fmt: skip
    assert admission.admit_and_queue(entries) == [admission.REFUSED_LATE, 0]
    assert queued_votes(redis_client, own_queue) == [["anon:e"]]
    assert held_ballot(redis_client, late) == ""
    assert not redis_client.keys("rl:*")  # not even counted
    in_ledger = [json.loads(m)["voter_key"] for m in redis_client.zrange(ledger.PENDING_KEY, 0, -1)]
    assert in_ledger == ["anon:e"]


# --- What is open: Redis's copy, its versions, and what an admitted vote carries -------


def test_an_admitted_votes_message_carries_redis_time_and_the_poll_version(
    redis_client, own_queue
) -> None:
    redis_client.set(gates.key(1), gates.Gate(41, gates.OPEN).encode())
    vote = a_vote("stamped")
    before = time.time() * 1000
    assert admission.admit_and_queue([admission.Entry(vote, [])]) == [0]
    [[message]] = queued_messages(redis_client, own_queue)
    arrived = QueuedVote.from_message(message)
    assert (message["v"], arrived.poll_version) == (2, 41)
    assert arrived.admitted_ms is not None
    assert before - 1000 <= arrived.admitted_ms <= time.time() * 1000 + 1000
    # The ledger holds the same stamped vote, so the worker can strike it off.
    [member] = redis_client.zrange(ledger.PENDING_KEY, 0, -1)
    assert member.decode() == ledger.member(arrived)


def test_a_poll_redis_holds_no_state_of_refuses_the_vote_writing_nothing(
    redis_client, own_queue
) -> None:
    redis_client.delete(gates.key(1))
    vote = a_vote("unknown-state")
    assert admission.admit_and_queue([admission.Entry(vote, [])]) == [
        admission.REFUSED_UNKNOWN_STATE
    ]
    assert redis_client.llen(own_queue) == 0
    assert redis_client.zcard(ledger.PENDING_KEY) == 0


@pytest.mark.parametrize(
    ("copy", "code"),
    [
        (gates.Gate(5, gates.CLOSED), admission.REFUSED_CLOSED),
        (gates.Gate(5, gates.OPEN, closes_ms=1000), admission.REFUSED_CLOSED),  # in 1970
        (gates.Gate(5, gates.OPEN, opens_ms=2**52), admission.REFUSED_SCHEDULED),
        (gates.Gate(5, gates.OPEN, opens_ms=1000, closes_ms=2**52), 0),
    ],
)
def test_redis_clock_and_the_polls_copy_decide_whether_it_is_open(
    redis_client, own_queue, copy, code
) -> None:
    redis_client.set(gates.key(1), copy.encode())
    assert admission.admit_and_queue([admission.Entry(a_vote("clock"), [])]) == [code]


def test_a_late_write_of_an_older_version_leaves_the_newer_state_in_place(redis_client) -> None:
    gates.write({1: gates.Gate(10, gates.WAITING)})
    gates.write({1: gates.Gate(9, gates.SESSION_OPEN)})  # a superseded change's late open
    assert gates.read([1]) == {1: gates.Gate(10, gates.WAITING)}
    gates.write({1: gates.Gate(11, gates.SESSION_OPEN)})
    assert gates.read([1]) == {1: gates.Gate(11, gates.SESSION_OPEN)}
