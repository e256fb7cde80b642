"""Each per-poll setting, enforced where the vote is taken (view) and where it is stored
(worker: polls.pipeline.store.record_votes), and results visibility on the page, the API and
the WebSocket."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.utils import timezone

from polls import voters
from polls.models import Poll, Vote
from polls.pipeline.message import QueuedVote
from polls.pipeline.store import REJECT_LOGIN_REQUIRED, REJECT_VOTE_CHANGE, record_votes
from tests.support.votes import api_vote, tallies

V = Poll.ResultsVisibility


def queued(poll: Poll, label: str, voter: str, seconds_ago: float = 1) -> QueuedVote:
    choice = poll.choices.get(label=label)
    cast_at = timezone.now() - timedelta(seconds=seconds_ago)
    return QueuedVote(uuid.uuid4(), poll.pk, choice.pk, voter, cast_at)


def form_vote(client, poll: Poll, label: str):
    return client.post(f"/polls/{poll.slug}/vote/", {"choice": poll.choices.get(label=label).pk})


# --- Login required ----------------------------------------------------------------------


@pytest.mark.django_db
def test_login_required_poll_refuses_anonymous_api_vote_with_403(client, make_poll) -> None:
    poll = make_poll(labels=("Cats", "Dogs"), login_required=True)
    response = api_vote(client, poll, "Cats")
    assert response.status_code == 403
    assert "log in" in response.json()["error"].lower()


@pytest.mark.django_db
def test_login_required_poll_shows_anonymous_form_voter_a_login_prompt(client, make_poll) -> None:
    poll = make_poll(labels=("Cats", "Dogs"), login_required=True)
    response = form_vote(client, poll, "Cats")
    assert response.status_code == 403
    page = response.content.decode()
    # The voters' log-in (the admin's refuses non-staff), coming back to the poll's page.
    assert f"/accounts/login/?next=%2Fpolls%2F{poll.slug}%2F" in page
    detail = client.get(f"/polls/{poll.slug}/").content.decode()
    assert "Log in to vote" in detail


@pytest.mark.django_db
def test_login_required_poll_takes_a_logged_in_users_vote(
    client, make_poll, django_user_model, own_queue
) -> None:
    poll = make_poll(labels=("Cats", "Dogs"), login_required=True)
    client.force_login(django_user_model.objects.create_user("ann", password="pw-ann-123"))
    assert api_vote(client, poll, "Cats").status_code == 202


@pytest.mark.django_db
def test_worker_rejects_anonymous_votes_for_login_required_poll(make_poll) -> None:
    poll = make_poll(labels=("Cats", "Dogs"), login_required=True)
    outcome = record_votes([queued(poll, "Cats", "anon:x"), queued(poll, "Dogs", "user:7")])
    assert outcome.rejected == {REJECT_LOGIN_REQUIRED: 1}
    assert tallies(poll) == {"Cats": 0, "Dogs": 1}


# --- Vote change -------------------------------------------------------------------------


@pytest.mark.django_db
def test_no_change_poll_refuses_a_different_second_vote_with_409(
    client, make_poll, django_user_model, own_queue
) -> None:
    poll = make_poll(labels=("Cats", "Dogs"), allow_vote_change=False)
    user = django_user_model.objects.create_user("bob", password="pw-bob-123")
    client.force_login(user)
    record_votes([queued(poll, "Cats", f"user:{user.pk}")])  # the first vote, stored

    refused = api_vote(client, poll, "Dogs")
    assert refused.status_code == 409
    assert "does not allow changing" in refused.json()["error"]
    assert form_vote(client, poll, "Dogs").status_code == 409
    assert api_vote(client, poll, "Cats").status_code == 202  # the same vote again is fine


@pytest.mark.django_db
def test_anonymous_voter_is_recognised_by_cookie_for_the_change_rule(client, make_poll) -> None:
    poll = make_poll(labels=("Cats", "Dogs"), allow_vote_change=False)
    client.get(f"/api/polls/{poll.slug}")  # the first visit gives the voter cookie
    voter_key = voters.voter_key_from_cookie(
        signed_cookie=client.cookies[settings.VOTER_COOKIE_NAME].value, user_id=None
    )
    assert voter_key is not None
    assert voter_key.startswith("anon:")
    record_votes([queued(poll, "Cats", voter_key)])
    assert api_vote(client, poll, "Dogs").status_code == 409


@pytest.mark.django_db
def test_changeable_poll_takes_a_second_vote(
    client, make_poll, django_user_model, own_queue
) -> None:
    poll = make_poll(labels=("Cats", "Dogs"))
    user = django_user_model.objects.create_user("cy", password="pw-cy-1234")
    client.force_login(user)
    record_votes([queued(poll, "Cats", f"user:{user.pk}")])
    assert api_vote(client, poll, "Dogs").status_code == 202


@pytest.mark.django_db
def test_worker_ignores_a_changed_vote_when_changes_are_not_allowed(make_poll) -> None:
    poll = make_poll(labels=("Cats", "Dogs"), allow_vote_change=False)
    record_votes([queued(poll, "Cats", "anon:a", seconds_ago=2)])
    outcome = record_votes([queued(poll, "Dogs", "anon:a", seconds_ago=1)])
    assert outcome.rejected == {REJECT_VOTE_CHANGE: 1}
    assert tallies(poll) == {"Cats": 1, "Dogs": 0}
    assert Vote.objects.get(poll=poll).choice.label == "Cats"  # type: ignore[union-attr]


@pytest.mark.django_db
def test_worker_keeps_the_first_vote_of_one_batch_when_changes_are_not_allowed(make_poll):
    poll = make_poll(labels=("Cats", "Dogs"), allow_vote_change=False)
    later, earlier = queued(poll, "Dogs", "anon:a", 1), queued(poll, "Cats", "anon:a", 2)
    record_votes([later, earlier])
    assert tallies(poll) == {"Cats": 1, "Dogs": 0}


@pytest.mark.django_db
def test_worker_still_moves_the_tally_when_changes_are_allowed(make_poll) -> None:
    poll = make_poll(labels=("Cats", "Dogs"))
    record_votes([queued(poll, "Cats", "anon:a", seconds_ago=2)])
    record_votes([queued(poll, "Dogs", "anon:a", seconds_ago=1)])
    assert tallies(poll) == {"Cats": 0, "Dogs": 1}


# --- Results visibility ------------------------------------------------------------------

# (visibility, poll closed?, viewer has voted?, viewer is staff?, may see results)
VISIBILITY = [
    (V.ALWAYS, False, False, False, True),
    (V.AFTER_VOTE, False, False, False, False),
    (V.AFTER_VOTE, False, True, False, True),
    (V.AFTER_CLOSE, False, True, False, False),
    (V.AFTER_CLOSE, True, False, False, True),
    (V.HIDDEN, True, True, False, False),
    (V.HIDDEN, False, False, True, True),
    (V.AFTER_VOTE, False, False, True, True),
]


@pytest.mark.django_db
@pytest.mark.parametrize("case", VISIBILITY, ids=lambda c: "-".join(map(str, c)))
def test_results_page_and_api_obey_visibility(client, make_poll, django_user_model, case) -> None:
    visibility, closed, voted, staff, visible = case
    poll = make_poll(labels=("Cats", "Dogs"), results_visibility=visibility)
    user = django_user_model.objects.create_user("dee", password="pw-dee-123", is_staff=staff)
    client.force_login(user)
    if voted:
        record_votes([queued(poll, "Cats", f"user:{user.pk}")])
    if closed:
        poll.status = Poll.Status.CLOSED
        poll.save()

    api = client.get(f"/api/polls/{poll.slug}/results")
    page = client.get(f"/polls/{poll.slug}/results/")
    assert (api.status_code, page.status_code) == ((200, 200) if visible else (403, 403))
    if visible:
        assert api.json()["total"] == (1 if voted else 0)
    else:
        assert "results" in api.json()["error"]
        assert 'id="results"' not in page.content.decode()  # no numbers, no live script


@pytest.mark.django_db
def test_new_polls_and_the_demo_poll_show_results_to_everyone(client) -> None:
    from polls.organising import seed_demo_poll

    poll, _ = seed_demo_poll()
    assert poll.results_visibility == V.ALWAYS
    assert client.get(f"/api/polls/{poll.slug}/results").status_code == 200


def ws_connect(slug: str, cookie: str = "") -> tuple[bool, int | None, dict | None]:
    """Open the results WebSocket; (accepted, close code, first message)."""
    from votingsite.asgi import application

    async def run() -> tuple[bool, int | None, dict | None]:
        headers = [(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000")]
        if cookie:
            headers.append((b"cookie", cookie.encode()))
        communicator = WebsocketCommunicator(application, f"/ws/polls/{slug}/", headers=headers)
        connected, _ = await communicator.connect(timeout=5)
        output = await communicator.receive_output(timeout=5)
        await communicator.disconnect()
        if output["type"] == "websocket.close":
            return connected, output.get("code"), None
        return connected, None, json.loads(output["text"])

    return async_to_sync(run)()


@pytest.mark.django_db(transaction=True)
def test_websocket_refuses_hidden_results_with_4403(make_poll) -> None:
    hidden = make_poll(slug="secret", labels=("Cats", "Dogs"), results_visibility=V.HIDDEN)
    public = make_poll(slug="public", labels=("Cats", "Dogs"))
    assert ws_connect(hidden.slug)[1] == 4403
    _, code, snapshot = ws_connect(public.slug)
    assert code is None
    assert snapshot is not None
    assert snapshot["poll"] == "public"


@pytest.mark.django_db(transaction=True)
def test_websocket_shows_after_vote_results_to_a_voter_by_their_cookie(client, make_poll):
    poll = make_poll(labels=("Cats", "Dogs"), results_visibility=V.AFTER_VOTE)
    client.get(f"/api/polls/{poll.slug}")
    cookie = client.cookies[settings.VOTER_COOKIE_NAME].value
    header = f"{settings.VOTER_COOKIE_NAME}={cookie}"
    assert ws_connect(poll.slug, header)[1] == 4403  # not voted yet
    voter_key = voters.voter_key_from_cookie(signed_cookie=cookie, user_id=None)
    assert voter_key is not None
    record_votes([queued(poll, "Cats", voter_key)])
    _, code, snapshot = ws_connect(poll.slug, header)
    assert code is None
    assert snapshot is not None
    assert snapshot["total"] == 1
    assert ws_connect(poll.slug, f"{settings.VOTER_COOKIE_NAME}=forged:value")[1] == 4403
