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
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone
from kombu.utils.json import dumps as json_dumps

from polls import ratelimits
from polls.pipeline import admission, ballots, ledger
from polls.pipeline import message as task_message
from polls.pipeline.message import QueuedVote
from polls.tasks import record_votes


def a_vote(voter: str) -> QueuedVote:
    return QueuedVote(uuid.uuid4(), 1, 2, f"anon:{voter}", timezone.now())


def queued_votes(redis_client: Any, queue: str) -> list[list[str]]:
    """The voter keys of each message on the queue, oldest first."""
    found = []
    for raw in reversed(redis_client.lrange(queue, 0, -1)):
        body = json.loads(base64.b64decode(json.loads(raw)["body"]))
        found.append([vote["voter_key"] for vote in body[0][0]])
    return found


@pytest.fixture(autouse=True)
def _clean(redis_client: Any, own_queue: str) -> None:
    redis_client.delete(ledger.PENDING_KEY, *redis_client.keys("rl:*"))


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
    assert json.loads(base64.b64decode(ours["body"]))[0] == [votes]


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
