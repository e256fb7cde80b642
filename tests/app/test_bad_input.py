"""Bad input on every endpoint gets a clear status and message, never a 500 (Django's test
client against the real test Postgres and Redis; the vote is queued in real Redis)."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client, override_settings

from polls.models import Poll

# Votes these tests get accepted go to a queue of their own (no worker takes them).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("own_queue")]


@pytest.fixture
def other_choice(make_poll) -> int:
    return make_poll(slug="tea-or-coffee", labels=("Tea", "Coffee")).choices.first().pk


def api_vote(client: Client, slug: str, body: object, content_type: str = "application/json"):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(f"/api/polls/{slug}/vote", data=data, content_type=content_type)


def assert_json_error(response, status: int, says: str) -> None:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    assert says in response.json()["error"]
    # Beside the message (in the request's language), a stable code for programs.
    assert re.fullmatch(r"[a-z][a-z_]*", response.json()["code"]), response.json()


def test_a_valid_api_vote_is_queued(client, poll) -> None:
    response = api_vote(client, poll.slug, {"choice": poll.choices.first().pk})
    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    assert len(response.json()["vote_id"]) == 36


@pytest.mark.parametrize(
    ("body", "content_type", "status", "says"),
    [
        ({}, "application/json", 400, '{"choice"'),
        ({"choice": "cats"}, "application/json", 400, "Pick one of the poll's choices"),
        ({"choice": None}, "application/json", 400, "Pick one of the poll's choices"),
        ({"choice": [1]}, "application/json", 400, "Pick one of the poll's choices"),
        ({"choice": 1.5}, "application/json", 400, "Pick one of the poll's choices"),
        ({"choice": True}, "application/json", 400, "Pick one of the poll's choices"),
        ({"choice": 999_999}, "application/json", 400, "not part of this poll"),
        ([1, 2], "application/json", 400, '{"choice"'),
        ("{not json", "application/json", 400, "not valid JSON"),
        (b"\xff\xfe\x00", "application/json", 400, "not valid JSON"),
        # Past Python's int limit (4,300 digits) and its recursion limit: a 400, never a 500.
        ('{"choice": "' + "9" * 5000 + '"}', "application/json", 400, "Pick one of the poll's"),
        ('{"choice": ' + "9" * 5000 + "}", "application/json", 400, "not valid JSON"),
        ("[" * 30_000 + "]" * 30_000, "application/json", 400, "not valid JSON"),
        ('{"choice": ' * 5_000 + "1" + "}" * 5_000, "application/json", 400, "not valid JSON"),
        ("choice=1", "application/x-www-form-urlencoded", 415, "Content-Type: application/json"),
        ("choice=1", "text/plain", 415, "Content-Type: application/json"),
    ],
)
def test_api_vote_rejects_bad_bodies(client, poll, body, content_type, status, says) -> None:
    assert_json_error(api_vote(client, poll.slug, body, content_type), status, says)


def test_api_vote_for_another_polls_choice_is_400(client, poll, other_choice) -> None:
    assert_json_error(api_vote(client, poll.slug, {"choice": other_choice}), 400, "not part")


def test_api_vote_on_unknown_poll_is_404(client) -> None:
    assert_json_error(api_vote(client, "no-such-poll", {"choice": 1}), 404, "No poll")


def test_api_vote_on_closed_poll_is_409(client, make_poll) -> None:
    closed = make_poll(slug="closed", status=Poll.Status.CLOSED)
    assert_json_error(
        api_vote(client, closed.slug, {"choice": closed.choices.first().pk}), 409, "closed"
    )


def test_api_vote_with_huge_body_is_413(client, poll) -> None:
    huge = json.dumps({"choice": poll.choices.first().pk, "pad": "x" * 1_000_000})
    assert_json_error(api_vote(client, poll.slug, huge), 413, "larger than")


def test_api_vote_without_csrf_is_403(poll) -> None:
    client = Client(enforce_csrf_checks=True)
    assert_json_error(api_vote(client, poll.slug, {"choice": poll.choices.first().pk}), 403, "CSRF")


def test_api_vote_with_csrf_cookie_and_header_is_accepted(poll) -> None:
    client = Client(enforce_csrf_checks=True)
    client.get(f"/api/polls/{poll.slug}")
    token = client.cookies["csrftoken"].value
    response = client.post(
        f"/api/polls/{poll.slug}/vote",
        data=json.dumps({"choice": poll.choices.first().pk}),
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 202


def test_api_vote_answers_only_post(client, poll) -> None:
    assert client.get(f"/api/polls/{poll.slug}/vote").status_code == 405


def test_api_poll_and_results_of_unknown_poll_are_404_json(client) -> None:
    assert_json_error(client.get("/api/polls/nope"), 404, "No poll")
    assert_json_error(client.get("/api/polls/nope/results"), 404, "No poll")
    assert_json_error(client.get("/api/nothing-here"), 404, "Not found")


@pytest.mark.parametrize(
    ("data", "status", "says"),
    [
        ({}, 400, "Pick one of the poll"),
        ({"choice": "cats"}, 400, "Pick one of the poll"),
        ({"choice": "999999"}, 400, "not part of this poll"),
        ({"choice": "9" * 5000}, 400, "Pick one of the poll"),  # past Python's int limit
    ],
)
def test_form_vote_rejects_bad_fields_with_a_form_error(client, poll, data, status, says) -> None:
    response = client.post(f"/polls/{poll.slug}/vote/", data=data)
    assert response.status_code == status
    assert says in response.content.decode()
    assert '<form method="post"' in response.content.decode()  # the form again, to fix it


def test_form_vote_for_another_polls_choice_is_400(client, poll, other_choice) -> None:
    response = client.post(f"/polls/{poll.slug}/vote/", data={"choice": other_choice})
    assert response.status_code == 400


def test_form_vote_on_closed_poll_is_409(client, make_poll) -> None:
    closed = make_poll(slug="closed", status=Poll.Status.CLOSED)
    response = client.post(
        f"/polls/{closed.slug}/vote/", data={"choice": closed.choices.first().pk}
    )
    assert response.status_code == 409
    assert "does not take votes" in response.content.decode()


def test_form_vote_on_unknown_poll_is_404(client) -> None:
    assert client.post("/polls/nope/vote/", data={"choice": 1}).status_code == 404


def test_form_vote_without_csrf_is_403_with_a_message(poll) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post(f"/polls/{poll.slug}/vote/", data={"choice": poll.choices.first().pk})
    assert response.status_code == 403
    assert "CSRF check failed" in response.content.decode()


def test_form_vote_with_huge_body_is_413(client, poll) -> None:
    response = client.post(
        f"/polls/{poll.slug}/vote/", data={"choice": "1", "pad": "x" * 1_000_000}
    )
    assert response.status_code == 413


def test_draft_poll_is_not_found(client, make_poll) -> None:
    draft = make_poll(slug="draft", status=Poll.Status.DRAFT)
    assert client.get(f"/polls/{draft.slug}/").status_code == 404
    assert api_vote(client, draft.slug, {"choice": draft.choices.first().pk}).status_code == 404


@override_settings(DEBUG=False)
def test_unknown_pages_are_plain_404_pages(client) -> None:
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert "Not found" in response.content.decode()


@pytest.mark.parametrize("choice", ["²", "٣", "1_000", " ", "+1", "-1"])
def test_choice_ids_are_plain_ascii_digits(client, poll, choice) -> None:
    """Found by the property tests: "²".isdigit() is true, but int("²") raises."""
    response = client.post(f"/polls/{poll.slug}/vote/", data={"choice": choice})
    assert response.status_code == 400
