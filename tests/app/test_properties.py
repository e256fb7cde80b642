"""Property-based: whatever arrives at the vote endpoints or the worker task, the answer is a
clear 4xx (or the vote is queued), never a 500; the worker counts exactly the valid votes
(each voter's vote cast last) and nothing else. Runs on the real test Postgres and Redis."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.test import Client, override_settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from polls.models import Poll, PollCounter, Tally, Vote
from polls.pipeline.message import QueuedVote
from polls.tasks import record_votes

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("redis_client")]

EXAMPLES = hsettings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(st.sampled_from(["choice", "Choice", "vote", ""]), json_values, max_size=3).map(
        lambda v: json.dumps(v).encode()
    ),
)
content_types = st.sampled_from(
    [
        "application/json",
        "text/plain",
        "application/x-www-form-urlencoded",
        "",
        "application/json; charset=utf-8",
    ]
)


@override_settings(RATELIMIT_ENABLE=False)
@EXAMPLES
@given(body=bodies, content_type=content_types)
def test_api_vote_never_fails_and_queues_only_valid_votes(
    poll, redis_client, own_queue, body, content_type
) -> None:
    client = Client()
    before = redis_client.llen(own_queue)
    response = client.post(f"/api/polls/{poll.slug}/vote", data=body, content_type=content_type)
    queued = redis_client.llen(own_queue) - before
    if response.status_code == 202:
        assert queued == 1
        assert json.loads(body)["choice"] in {str(c.pk) for c in poll.choices.all()} | {
            c.pk for c in poll.choices.all()
        }
    else:
        assert 400 <= response.status_code < 500, response.content
        assert "error" in response.json()
        assert queued == 0


@override_settings(RATELIMIT_ENABLE=False)
@EXAMPLES
@given(
    fields=st.dictionaries(
        st.sampled_from(["choice", "csrfmiddlewaretoken", "x"]),
        st.text(max_size=30) | st.integers().map(str),
        max_size=3,
    )
)
def test_form_vote_never_fails_and_queues_only_valid_votes(
    poll, redis_client, own_queue, fields
) -> None:
    client = Client()
    before = redis_client.llen(own_queue)
    response = client.post(f"/polls/{poll.slug}/vote/", data=fields)
    queued = redis_client.llen(own_queue) - before
    if response.status_code == 303:
        assert queued == 1
    else:
        assert response.status_code == 400, response.content
        assert queued == 0


# --- The worker's task ------------------------------------------------------------------

VOTERS = 4  # few, so that voters vote more than once (changes, duplicates, ties)
OPENS_AT = datetime(2030, 1, 1, tzinfo=UTC)
FIELDS = ["vote_id", "poll_id", "choice_id", "voter_key", "cast_at"]
MISSING = object()


def fresh_poll(make_poll) -> Poll:
    """A poll of its own for each example (the database is not reset between examples)."""
    return make_poll(slug=f"p-{uuid.uuid4().hex[:12]}", labels=("Cats", "Dogs"), opens_at=OPENS_AT)


@dataclass(frozen=True)
class Cast:
    """A valid vote, in terms of the poll the example makes."""

    voter: int
    choice: int  # index into the poll's choices
    seconds: int  # after the poll opened
    vote_id: uuid.UUID

    def message(self, poll: Poll, choice_ids: list[int]) -> dict[str, Any]:
        cast_at = OPENS_AT + timedelta(seconds=self.seconds)
        vote = QueuedVote(self.vote_id, poll.pk, choice_ids[self.choice], f"anon:v{self.voter}",
                          cast_at)  # fmt: skip
        return vote.to_message()


casts = st.builds(
    Cast,
    voter=st.integers(0, VOTERS - 1),
    choice=st.integers(0, 1),
    seconds=st.integers(0, 20),
    vote_id=st.uuids(),
)
# A vote with one field wrong: (the vote, the field, which wrong value).
broken_votes = st.tuples(casts, st.sampled_from(FIELDS), st.integers(0, 4))
# Each item of a batch: a valid vote, the same vote again (a redelivery), a vote with
# one wrong field, or any JSON value at all.
items = st.one_of(
    casts.map(lambda c: ("valid", c)),
    st.integers(0, 50).map(lambda i: ("again", i)),
    broken_votes.map(lambda b: ("broken", b)),
    json_values.map(lambda v: ("any", v)),
)


def broken(message: dict[str, Any], field: str, which: int, other: Poll) -> dict[str, Any]:
    """The vote's message with one field made wrong (or missing): the `which`-th way."""
    other_choice = other.choices.values_list("pk", flat=True)[0]
    naive = message["cast_at"].removesuffix("+00:00")
    before_it_opened = (OPENS_AT - timedelta(seconds=1)).isoformat()
    wrong = {
        "vote_id": ["not-a-uuid", 7],
        "poll_id": [str(message["poll_id"]), float(message["poll_id"]), 2**31 - 1],
        "choice_id": [str(message["choice_id"]), 2**31 - 1, other_choice],
        "voter_key": ["", "x" * 65, 5],
        "cast_at": [naive, "yesterday", 1_900_000_000, before_it_opened],
    }[field] + [MISSING]
    value = wrong[which % len(wrong)]
    if value is MISSING:
        del message[field]
    else:
        message[field] = value
    return message


@EXAMPLES
@given(batches=st.lists(st.lists(items, max_size=12), min_size=1, max_size=3))
def test_worker_task_survives_any_message_and_counts_only_the_valid_votes_last_cast_wins(
    make_poll, batches
) -> None:
    """Batches mixing valid votes, repeats, votes with a wrong field and any JSON at all,
    each message also wrapped in arguments of any shape: the task never fails, and the
    stored tallies are those of the valid votes, each voter's vote cast last winning."""
    poll, other = fresh_poll(make_poll), fresh_poll(make_poll)
    choice_ids = [c.pk for c in poll.choices.all()]
    valid: list[Cast] = []
    for n, batch in enumerate(batches):
        messages: list[Any] = []
        for kind, item in batch:
            if kind == "valid":
                valid.append(item)
                messages.append(item.message(poll, choice_ids))
            elif kind == "again" and valid:
                messages.append(valid[item % len(valid)].message(poll, choice_ids))
            elif kind == "broken":
                cast, field, which = item
                messages.append(broken(cast.message(poll, choice_ids), field, which, other))
            elif kind == "any":
                messages.append(item)
        # The task receives each message's positional arguments, as Celery delivers them:
        # the vote messages in one list, and arguments of a wrong shape besides.
        record_votes([
            SimpleNamespace(id=f"m{n}", args=(messages,)),
            SimpleNamespace(id=f"n{n}", args=messages),
            SimpleNamespace(id=f"o{n}", args=(messages[:1], messages[1:])),
        ])  # fmt: skip

    last: dict[int, Cast] = {}
    for cast in valid:  # cast last: the latest cast_at, the vote_id breaking a tie
        held = last.get(cast.voter)
        if held is None or (cast.seconds, str(cast.vote_id)) > (held.seconds, str(held.vote_id)):
            last[cast.voter] = cast
    expected = Counter(choice_ids[c.choice] for c in last.values())
    assert tallies_of(poll) == {cid: expected.get(cid, 0) for cid in choice_ids}
    assert dict(Vote.objects.filter(poll=poll).values_list("voter_key", "choice_id")) == {
        f"anon:v{voter}": choice_ids[c.choice] for voter, c in last.items()
    }
    assert PollCounter.objects.get(poll=poll).total == len(last)
    assert tallies_of(other) == dict.fromkeys(tallies_of(other), 0)


@EXAMPLES
@given(field=st.sampled_from(FIELDS), data=st.data())
def test_worker_task_with_one_corrupted_field_changes_nothing_or_counts_a_valid_vote(
    make_poll, field, data
) -> None:
    poll = fresh_poll(make_poll)
    choice_ids = [c.pk for c in poll.choices.all()]
    message: dict[str, Any] = QueuedVote(
        uuid.uuid4(), poll.pk, choice_ids[0], "anon:prop", OPENS_AT
    ).to_message()
    # Any JSON value, or one that may well be right for the field.
    plausible = {
        "vote_id": st.uuids().map(str),
        "poll_id": st.sampled_from([poll.pk, poll.pk + 1_000_000]),
        "choice_id": st.sampled_from([*choice_ids, 2**31 - 1]),
        "voter_key": st.text(min_size=1, max_size=70),
        "cast_at": st.datetimes(timezones=st.none() | st.just(UTC)).map(datetime.isoformat),
    }[field]
    message[field] = data.draw(json_values | plausible, label="value")
    try:
        vote: QueuedVote | None = QueuedVote.from_message(message)
    except ValueError:
        vote = None
    votes_before = Vote.objects.count()

    record_votes([SimpleNamespace(id="m", args=([message],))])

    counts = (
        vote is not None
        and vote.poll_id == poll.pk
        and vote.choice_id in choice_ids
        and poll.is_open_at(vote.cast_at)
    )
    if counts:
        assert vote is not None
        assert tallies_of(poll) == {cid: int(cid == vote.choice_id) for cid in choice_ids}
        assert Vote.objects.get(poll=poll).voter_key == vote.voter_key
        assert PollCounter.objects.get(poll=poll).total == 1
    else:
        assert tallies_of(poll) == dict.fromkeys(choice_ids, 0)
        assert PollCounter.objects.get(poll=poll).total == 0
    assert Vote.objects.count() == votes_before + int(counts)


def test_a_vote_message_with_a_nul_in_its_voter_key_is_dropped_and_its_batch_stored(
    make_poll,
) -> None:
    poll = fresh_poll(make_poll)
    cats, dogs = poll.choices.all()
    fine = QueuedVote(uuid.uuid4(), poll.pk, cats.pk, "anon:fine", OPENS_AT).to_message()
    bad = QueuedVote(uuid.uuid4(), poll.pk, dogs.pk, "anon:a\x00b", OPENS_AT).to_message()
    record_votes([SimpleNamespace(id="m", args=([fine, bad],))])
    assert tallies_of(poll) == {cats.pk: 1, dogs.pk: 0}


def tallies_of(poll: Poll) -> dict[int, int]:
    return dict(Tally.objects.filter(poll=poll).values_list("choice_id", "votes"))
