"""The admin as an organiser's tool: branded with the product's name in the four languages,
and a session's page that builds the whole session (its questions, written there or
picked, in order), previews each question as a phone shows it, and leads to the
presenter's view, the audience's page and the embed, and goes live."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from django.test import Client

from polls import live_sessions
from polls.models import LiveSession, Poll

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("language", "header", "title"),
    [
        ("en", "Live votes", "Your polls and live sessions"),
        ("de", "Live-Abstimmungen", "Ihre Umfragen und Live-Sitzungen"),
        ("fr", "Votes en direct", "Vos sondages et sessions en direct"),
        ("es", "Votaciones en directo", "Tus encuestas y sesiones en directo"),
    ],
)
def test_the_admin_wears_the_products_name_in_each_language(
    admin_user, language: str, header: str, title: str
) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(admin_user)
    page = client.get("/admin/").content.decode()
    assert f'<a href="/admin/">{header}</a>' in page
    assert f"<h1>{title}</h1>" in page
    assert "Django administration" not in page
    assert "Django-Administration" not in page
    login = Client(HTTP_ACCEPT_LANGUAGE=language).get("/admin/login/").content.decode()
    assert header in login


# --- A session's page builds the session ----------------------------------------------

ADD = "/admin/polls/livesession/add/"


def management(prefix: str, total: int, initial: int = 0) -> dict[str, str]:
    return {f"{prefix}-TOTAL_FORMS": str(total), f"{prefix}-INITIAL_FORMS": str(initial),
            f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000"}  # fmt: skip


def session_form(owner: Any, questions: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    """The add page's POST: a title and new questions written in the "Add questions" rows."""
    # The code's length is a select whose default (a room's 6 digits) the browser posts.
    data: dict[str, Any] = {"title": "Team day", "owner": owner.pk, "code_digits": 6, **fields}
    data |= management("entries", 0) | management("entries-2", len(questions))
    for n, question in enumerate(questions):
        data |= {f"entries-2-{n}-{key}": value for key, value in question.items()}
    return data


THREE = [
    {"question": "Which room next time?", "question_kind": "single",
     "choices": "The big hall\r\nThe garden"},
    {"question": "Which talks did you enjoy?", "question_kind": "multiple",
     "choices": "Keynote\r\nWorkshop\r\nPanel", "max_picks": "2"},
    {"question": "How likely are you to come again?", "question_kind": "scale",
     "scale_min": "0", "scale_max": "10"},
]  # fmt: skip


def test_a_session_of_three_kinds_of_question_is_built_on_one_page(admin_client, admin_user):
    answer = admin_client.post(ADD, session_form(admin_user, THREE))
    assert answer.status_code == 302, answer.content.decode()[-3000:]
    session = LiveSession.objects.get(title="Team day")
    polls = live_sessions.ordered_polls(session)
    assert [p.question for p in polls] == [q["question"] for q in THREE]
    assert [p.kind for p in polls] == ["single", "multiple", "scale"]
    assert [c.label for c in polls[1].choices.all()] == ["Keynote", "Workshop", "Panel"]
    assert polls[1].max_picks == 2
    assert (polls[2].scale_min, polls[2].scale_max) == (0, 10)
    assert all(p.status == Poll.Status.DRAFT for p in polls)  # going live opens them
    # The change page lists them in order, each with its edit and preview links.
    page = admin_client.get(answer["Location"]).content.decode()
    assert page.index("Which room next time?") < page.index("How likely are you to come again?")
    assert f"/admin/polls/poll/{polls[1].pk}/preview/" in page
    assert "Go live" in page


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ({"question": "Pick?", "question_kind": "multiple", "choices": "A\r\nB\r\nC",
          "max_picks": "5"},
         ("max_picks: 5 is more than the 3 choices. A voter cannot pick more choices than there "
         "are: lower the most picks, or add choices.")),
        ({"question": "One?", "question_kind": "single", "choices": "Only"},
         "A poll needs at least two choices."),
        ({"question": "Rate?", "question_kind": "scale", "choices": "A\r\nB"},
         "A rating scale has values, not choices"),
        ({"question": "", "question_kind": "single", "choices": "A\r\nB"},
         "Write the question, or clear this form."),
    ],
)  # fmt: skip
def test_a_question_that_cannot_work_is_refused_with_a_clear_message(
    admin_client, admin_user, question: dict[str, Any], message: str
) -> None:
    answer = admin_client.post(ADD, session_form(admin_user, [question]))
    assert answer.status_code == 200
    assert html.escape(message) in answer.content.decode() or message in answer.content.decode()
    assert not LiveSession.objects.exists()
    assert not Poll.objects.exists()


def test_the_message_speaks_the_organisers_language(admin_user) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="de")
    client.force_login(admin_user)
    bad = {"question": "Pick?", "question_kind": "multiple", "choices": "A\r\nB", "max_picks": "3"}
    page = client.post(ADD, session_form(admin_user, [bad])).content.decode()
    assert "max_picks: 3 ist mehr als die 2 Optionen" in html.unescape(page)


def test_a_picked_poll_that_cannot_work_is_refused_on_the_session_page(
    admin_client, admin_user, make_poll
) -> None:
    lonely = make_poll(slug="lonely", question="Lonely?", labels=("Only one",))
    data = session_form(admin_user, []) | management("entries", 1)
    data |= {"entries-0-poll": lonely.pk, "entries-0-position": "0"}
    page = admin_client.post(ADD, data).content.decode()
    assert "has 1 choice(s): a question needs at least two." in html.unescape(page)


def made_session(admin_client: Client, admin_user: Any) -> LiveSession:
    assert admin_client.post(ADD, session_form(admin_user, THREE)).status_code == 302
    return LiveSession.objects.get(title="Team day")


@pytest.mark.django_db(transaction=True)
def test_go_live_from_the_sessions_page_then_its_pages_are_one_click_away(
    admin_client, admin_user
) -> None:
    session = made_session(admin_client, admin_user)
    change = f"/admin/polls/livesession/{session.pk}/change/"
    assert admin_client.get(f"/admin/polls/livesession/{session.pk}/go-live/").status_code == 403
    answer = admin_client.post(f"/admin/polls/livesession/{session.pk}/go-live/", follow=True)
    session.refresh_from_db()
    assert session.state == LiveSession.State.LIVE
    assert answer.redirect_chain[-1][0] == change
    page = answer.content.decode()
    assert f"is live: the join code is {session.code}" in html.unescape(page)
    for label, url in [("Open the presenter view", f"/present/{session.code}/"),
                       ("Open the audience page", f"/s/{session.code}/"),
                       ("Open the embed", f"/embed/s/{session.code}/")]:  # fmt: skip
        assert re.search(rf'href="[^"]*{re.escape(url)}"[^>]*>{label}</a>', page), label
    assert "Go live" not in page.split('id="content-main"')[0].split("object-tools")[-1]
    assert all(p.status == Poll.Status.OPEN for p in live_sessions.ordered_polls(session))


def test_duplicate_makes_a_draft_with_copies_of_the_questions(admin_client, admin_user) -> None:
    session = made_session(admin_client, admin_user)
    answer = admin_client.post(
        "/admin/polls/livesession/", {"action": "duplicate", "_selected_action": [session.pk]}
    )
    assert answer.status_code == 302
    copy = LiveSession.objects.get(title="Team day (copy)")
    originals, copies = live_sessions.ordered_polls(session), live_sessions.ordered_polls(copy)
    assert [p.question for p in copies] == [p.question for p in originals]
    assert not {p.pk for p in copies} & {p.pk for p in originals}  # each room's own votes
    assert [c.label for c in copies[1].choices.all()] == ["Keynote", "Workshop", "Panel"]
    assert (copies[1].max_picks, copies[2].scale_max) == (2, 10)
    assert copy.state == LiveSession.State.DRAFT
    button = admin_client.post(f"/admin/polls/livesession/{session.pk}/duplicate/")
    assert button.status_code == 302
    assert LiveSession.objects.filter(title="Team day (copy)").count() == 2


def test_the_preview_shows_the_phones_ballot_and_takes_no_vote(admin_client, admin_user) -> None:
    session = made_session(admin_client, admin_user)
    for poll, inputs in zip(live_sessions.ordered_polls(session),
                            ['type="radio" name="choice"', 'type="checkbox" name="choices"',
                             'type="radio" name="value"'], strict=True):  # fmt: skip
        page = admin_client.get(f"/admin/polls/poll/{poll.pk}/preview/").content.decode()
        assert poll.question in page
        assert inputs in page  # the voting page's own partial for the kind
        assert "Votes are not taken here." in page
        assert f'action="/polls/{poll.slug}/vote/"' not in page
    assert Client().get(f"/admin/polls/poll/{poll.pk}/preview/").status_code == 302  # log in
