"""Property-based: whatever arrives at the vote endpoints or the worker task, the answer is a
clear 4xx (or the vote is queued), never a 500, and no tally moves for anything but a
well-formed vote. Runs on the real test Postgres and Redis."""

from __future__ import annotations

import json
import uuid
from types import SimpleNamespace
from typing import Any

import pytest
from django.test import Client, override_settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from polls.models import Poll, PollCounter, Tally, Vote
from polls.services import QueuedVote
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


@pytest.fixture
def poll(make_poll) -> Poll:
    return make_poll(labels=("Cats", "Dogs"))


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


@EXAMPLES
@given(message=json_values)
def test_worker_task_survives_any_message_and_moves_no_tally(poll, message) -> None:
    before = list(Tally.objects.filter(poll=poll).values_list("votes", flat=True))
    # The task receives each message's positional arguments, as Celery delivers them.
    record_votes([SimpleNamespace(id="m", args=(message,)), SimpleNamespace(id="n", args=message)])
    assert list(Tally.objects.filter(poll=poll).values_list("votes", flat=True)) == before


@EXAMPLES
@given(
    field=st.sampled_from(["vote_id", "poll_id", "choice_id", "voter_key", "cast_at"]),
    value=json_values,
)
def test_worker_task_with_one_corrupted_field_changes_nothing_or_counts_a_valid_vote(
    poll, field, value
) -> None:
    choice = poll.choices.first()
    message: dict[str, Any] = QueuedVote(
        uuid.uuid4(), poll.pk, choice.pk, "anon:prop", poll.created_at
    ).to_message()
    message[field] = value
    try:
        QueuedVote.from_message(message)
        well_formed = True
    except ValueError:
        well_formed = False
    total_before = PollCounter.objects.get(poll=poll).total
    record_votes([SimpleNamespace(id="m", args=([message],))])
    if not well_formed:
        assert PollCounter.objects.get(poll=poll).total == total_before
    # Whatever happened, the tallies still equal the stored votes.
    for tally in Tally.objects.filter(poll=poll):
        assert tally.votes == Vote.objects.filter(choice_id=tally.choice_id).count()
