"""The vote just cast, as the voter sees it: the page after voting shows that vote (read
from its pending ballot), marked as being stored until the worker has stored it, never the
vote stored before; an API client asks after its vote by vote_id (queued, stored, refused
with why)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from polls.models import Choice, Poll
from polls.pipeline import ballots
from polls.pipeline.message import QueuedVote
from polls.pipeline.store import record_votes
from polls.voters import signed_voter_cookie


def voter(name: str) -> Client:
    client = Client()
    client.cookies[settings.VOTER_COOKIE_NAME] = signed_voter_cookie(name)
    return client


def worker_stores(poll: Poll, name: str, vote_id: str, choice: int) -> None:
    """What the worker does with the voter's queued vote: store it, then settle its ballot."""
    vote = QueuedVote(uuid.UUID(vote_id), poll.pk, choice, f"anon:{name}", timezone.now())
    outcome = record_votes([vote])
    ballots.settle([vote], outcome.refused)


def form_vote(client: Client, poll: Poll, label: str) -> str:
    """Votes with the form, follows the 303 and returns the page the voter then sees."""
    choice = poll.choices.get(label=label).pk
    response = client.post(f"/polls/{poll.slug}/vote/", {"choice": choice}, follow=True)
    assert response.status_code == 200
    return response.content.decode()


def pending_vote_id(poll: Poll, name: str) -> str:
    held = ballots.read(poll.pk, f"anon:{name}")
    assert held is not None
    return held.vote_id


def marked(page: str, label: str) -> bool:
    """Whether the page marks the choice as the voter's vote."""
    return f'{label} <em class="current">(your vote' in " ".join(page.split())


@pytest.mark.django_db
@pytest.mark.usefixtures("own_queue")
def test_after_changing_cats_to_dogs_the_page_shows_dogs_being_stored_never_cats(
    make_poll: Callable[..., Poll],
) -> None:
    poll = make_poll(labels=("Cats", "Dogs"))
    alice = voter("alice")
    form_vote(alice, poll, "Cats")
    worker_stores(poll, "alice", pending_vote_id(poll, "alice"), poll.choices.get(label="Cats").pk)

    page = form_vote(alice, poll, "Dogs")  # the worker has not stored this one yet
    assert "Vote received" in page
    assert marked(page, "Dogs")
    assert not marked(page, "Cats")
    assert "being stored" in page
    assert "Your vote is stored." not in page
    dogs = poll.choices.get(label="Dogs").pk
    assert f'value="{dogs}" required checked' in page

    worker_stores(poll, "alice", pending_vote_id(poll, "alice"), dogs)
    page = alice.get(f"/polls/{poll.slug}/").content.decode()
    assert marked(page, "Dogs")
    assert "Your vote is stored." in page
    assert "being stored" not in page


@pytest.mark.django_db
@pytest.mark.usefixtures("own_queue")
def test_the_status_endpoint_says_queued_then_stored(make_poll: Callable[..., Poll]) -> None:
    poll = make_poll(labels=("Cats", "Dogs"))
    alice = voter("alice")
    cats = poll.choices.get(label="Cats").pk
    answer = alice.post(
        f"/api/polls/{poll.slug}/vote", {"choice": cats}, content_type="application/json"
    )
    assert answer.status_code == 202
    vote_id = answer.json()["vote_id"]
    url = f"/api/polls/{poll.slug}/votes/{vote_id}"

    assert alice.get(url).json() == {"vote_id": vote_id, "status": "queued"}
    worker_stores(poll, "alice", vote_id, cats)
    assert alice.get(url).json() == {"vote_id": vote_id, "status": "stored"}
    # Another voter cannot look it up.
    assert voter("mallory").get(url).status_code == 404


@pytest.mark.django_db
@pytest.mark.usefixtures("own_queue")
def test_a_vote_the_worker_refuses_is_refused_with_why_on_the_api_and_the_page(
    make_poll: Callable[..., Poll],
) -> None:
    poll = make_poll(labels=("Cats", "Dogs", "Fish"))
    alice = voter("alice")
    fish = poll.choices.get(label="Fish")
    answer = alice.post(
        f"/api/polls/{poll.slug}/vote", {"choice": fish.pk}, content_type="application/json"
    )
    vote_id = answer.json()["vote_id"]
    Choice.objects.filter(pk=fish.pk).delete()  # the organiser removed it meanwhile

    worker_stores(poll, "alice", vote_id, fish.pk)
    status = alice.get(f"/api/polls/{poll.slug}/votes/{vote_id}")
    assert status.json() == {"vote_id": vote_id, "status": "refused", "reason": "unknown choice"}
    page = alice.get(f"/polls/{poll.slug}/").content.decode()
    assert "Your last vote was not counted (unknown choice)." in page
    assert "being stored" not in page


@pytest.mark.django_db
def test_an_unknown_vote_id_is_a_404_that_says_why(make_poll: Callable[..., Poll]) -> None:
    poll = make_poll()
    answer = Client().get(f"/api/polls/{poll.slug}/votes/{uuid.uuid4()}")
    assert answer.status_code == 404
    assert "No vote of yours with this id" in answer.json()["error"]
    not_an_id = Client().get(f"/api/polls/{poll.slug}/votes/not-a-uuid")
    assert not_an_id.status_code == 404
    assert not_an_id.json() == {"error": "Not found.", "code": "not_found"}
    no_poll = Client().get(f"/api/polls/nope/votes/{uuid.uuid4()}")
    assert no_poll.json() == {"error": "No poll with slug 'nope'.", "code": "poll_not_found"}


@pytest.mark.django_db
@pytest.mark.usefixtures("own_queue")
def test_a_live_sessions_page_says_being_stored_until_the_worker_has_stored_it(
    make_poll: Callable[..., Poll],
) -> None:
    """The audience's page after a vote: "being stored", as its "vote received" message
    says, never "stored" beside it; "stored" once the worker has stored it."""
    from django.contrib.auth.models import User

    from polls import live_sessions

    poll = make_poll(labels=("Cats", "Dogs"))
    owner = User.objects.create_user("host", password="pw-host-1234")
    session = live_sessions.go_live(
        live_sessions.create_session(title="Pets", owner=owner, polls=[poll])
    )
    alice = voter("alice")
    cats = poll.choices.get(label="Cats").pk
    answer = alice.post(
        f"/polls/{poll.slug}/vote/", {"choice": cats, "next": f"/s/{session.code}/"}, follow=True
    )
    page = " ".join(answer.content.decode().split())
    assert "Vote received" in page
    assert "Your vote is being stored" in page
    assert "Your vote is stored." not in page

    worker_stores(poll, "alice", pending_vote_id(poll, "alice"), cats)
    page = alice.get(f"/s/{session.code}/").content.decode()
    assert "Your vote is stored." in page
    assert "being stored" not in page
