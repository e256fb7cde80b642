"""A session's Q&A questions on the moderator's page (issues 34 and 35): waiting, shown and
hidden questions with their counts, approve / hide / restore / correct by a plain form and
by the script's JSON (through polls.qna), and the same rule of who may as for audience
text."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.utils import timezone

from polls import live_sessions, qna_reads
from polls.models import LiveSession, QnaBoard, Question
from polls.pipeline import qna_store
from polls.pipeline.qna_message import ASK, QnaAction
from tests.support.kinds import kind_poll

pytestmark = pytest.mark.django_db

JSON = {"Accept": "application/json"}


@pytest.fixture
def owner(django_user_model: Any) -> User:
    return django_user_model.objects.create_user("owner")


@pytest.fixture
def moderator(django_user_model: Any) -> User:
    user = django_user_model.objects.create_user("moderator")
    user.groups.add(Group.objects.get(name="Moderators"))
    return user


@pytest.fixture
def session(owner: User) -> LiveSession:
    made = live_sessions.create_session(
        title="Talk", owner=owner, polls=[kind_poll("wordcloud")], qna=True
    )
    return live_sessions.go_live(made)


@pytest.fixture
def board(session: LiveSession) -> QnaBoard:
    found = qna_reads.board_of(session)
    assert found is not None
    return found


def asked(board: QnaBoard, text: str, state: str = "shown", flagged: bool = False) -> Question:
    """A question as the worker stores it, then in the state the board's moderation gave."""
    action = QnaAction(ASK, uuid.uuid4(), board.pk, f"anon:{text}", timezone.now(),
                       admitted_ms=1, text=text)  # fmt: skip
    qna_store.record([action])
    Question.objects.filter(uuid=action.id).update(state=state, flagged=flagged)
    return Question.objects.get(uuid=action.id)


def client_of(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def act(client: Client, session: LiveSession, action: str, q: Question, **more: Any) -> Any:
    data = {"action": action, "question": str(q.uuid), **more}
    return client.post(f"/moderate/s/{session.code}/qna", data, headers=JSON)


def test_the_session_page_shows_waiting_shown_and_hidden_questions_with_counts(
    moderator, session, board
) -> None:
    asked(board, "Is this caught?", state="pending", flagged=True)
    asked(board, "Waiting one", state="pending")
    asked(board, "Shown one")
    asked(board, "Hidden one", state="hidden")
    html = client_of(moderator).get(f"/moderate/s/{session.code}/").content.decode()
    section = html[html.index('id="mod-qna"') :]
    assert "2 waiting · 1 hidden · 1 shown" in section
    waiting, shown, hidden = section.split('class="mod-rows"')[1:4]
    assert "Is this caught?" in waiting
    assert "caught by the filter" in waiting
    assert "Waiting one" in waiting
    assert 'value="approve"' in waiting
    assert "Shown one" in shown
    assert 'value="approve"' not in shown
    assert "Hidden one" in hidden
    assert 'value="restore"' in hidden
    # The section alone, for the script's live refresh.
    part = client_of(moderator).get(f"/moderate/s/{session.code}/?part=qna").content.decode()
    assert part.lstrip().startswith("<section")
    assert "2 waiting" in part


def test_approve_hide_restore_and_correct_by_json_keep_counts_and_the_original(
    moderator, session, board
) -> None:
    client = client_of(moderator)
    q = asked(board, "Wat next?", state="pending")
    done = act(client, session, "approve", q).json()
    assert (done["pending"], done["hidden"]) == (0, 0)
    assert [x["text"] for x in qna_reads.snapshot(board)["newest"]] == ["Wat next?"]
    assert act(client, session, "hide", q).json()["hidden"] == 1
    assert qna_reads.snapshot(board)["newest"] == []
    assert act(client, session, "restore", q).json()["hidden"] == 0
    assert act(client, session, "correct", q, text="  What next? ").status_code == 200
    q.refresh_from_db()
    assert (q.state, q.text, q.original) == ("shown", "What next?", "Wat next?")
    html = client.get(f"/moderate/s/{session.code}/?part=qna").content.decode()
    assert "as asked: Wat next?" in html


def test_a_plain_form_acts_and_comes_back_to_the_page_with_a_message(
    moderator, session, board
) -> None:
    q = asked(board, "Held", state="pending")
    client = client_of(moderator)
    response = client.post(
        f"/moderate/s/{session.code}/qna", {"action": "approve", "question": str(q.uuid)}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/moderate/s/{session.code}/"
    page = client.get(response["Location"]).content.decode()
    assert "Approved: the question is shown." in page


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        ({"action": "shout"}, 400, "bad_action"),
        ({"action": "correct", "text": "   "}, 400, "question_empty"),
        ({"action": "hide", "question": "not-an-id"}, 404, "unknown_question"),
        ({"action": "hide", "question": str(uuid.uuid4())}, 404, "unknown_question"),
    ],
)
def test_a_refused_action_is_an_error_with_its_code_and_changes_nothing(
    moderator, session, board, data, status, code
) -> None:
    q = asked(board, "Stays as it is")
    sent = {"question": str(q.uuid), **data}
    response = client_of(moderator).post(f"/moderate/s/{session.code}/qna", sent, headers=JSON)
    assert (response.status_code, response.json()["code"]) == (status, code)
    q.refresh_from_db()
    assert (q.state, q.text, q.original) == ("shown", "Stays as it is", "")


def test_only_moderators_presenters_and_staff_act_on_questions(
    django_user_model, owner, moderator, session, board
) -> None:
    q = asked(board, "Who may hide me?")
    url = f"/moderate/s/{session.code}/qna"
    data = {"action": "hide", "question": str(q.uuid)}
    assert Client().post(url, data, headers=JSON).json()["code"] == "login_required"
    assert Client().post(url, data).status_code == 302  # to the login page
    other = client_of(django_user_model.objects.create_user("other"))
    refused = other.post(url, data, headers=JSON)
    assert (refused.status_code, refused.json()["code"]) == (403, "not_moderator")
    assert other.get(f"/moderate/s/{session.code}/?part=qna").status_code == 403
    q.refresh_from_db()
    assert q.state == "shown"
    assert client_of(owner).post(url, data, headers=JSON).status_code == 200
    staff = django_user_model.objects.create_user("staff", is_staff=True)
    assert (
        client_of(staff).post(url, {**data, "action": "restore"}, headers=JSON).status_code == 200
    )
    assert client_of(moderator).post(url, data, headers=JSON).status_code == 200


def test_a_session_without_a_board_has_no_questions_section(moderator, owner) -> None:
    session = live_sessions.go_live(
        live_sessions.create_session(title="Plain", owner=owner, polls=[kind_poll("wordcloud")])
    )
    client = client_of(moderator)
    assert 'id="mod-qna"' not in client.get(f"/moderate/s/{session.code}/").content.decode()
    assert client.get(f"/moderate/s/{session.code}/?part=qna").status_code == 204
    posted = client.post(f"/moderate/s/{session.code}/qna", {"action": "hide"}, headers=JSON)
    assert posted.status_code == 404
