"""A room joining (issue 42): the audience's page a new visitor gets is kept per (join
code, language, session seq) and served with the visitor's own CSRF token, reading no
Postgres (polls.live.audience); a phone whose voter cookie came from the join page gets
it after a look at its ballot; anyone with something of theirs on the page (a ballot, a
receipt, a message, a log-in) gets the page drawn for them; a presenter's change, a new
code and the end of the session are never hidden by a kept page. Real Postgres and Redis."""

from __future__ import annotations

import re
import uuid

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from polls import live_sessions, organising
from polls.live import audience
from polls.models import LiveSession, Poll

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("own_queue")]

_TOKEN = re.compile(r'id="session-csrf" value="([^"]*)"')
_FORM_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]*)"')


@pytest.fixture
def session() -> LiveSession:
    owner = User.objects.create_user(f"olga-{uuid.uuid4().hex[:6]}")
    polls = [
        organising.create_poll(slug=f"c{n}-{uuid.uuid4().hex[:6]}", question=f"Question {n}?",
                               labels=["Yes", "No"], open_now=True)
        for n in (1, 2)
    ]  # fmt: skip
    made = live_sessions.create_session(title="Room", owner=owner, polls=polls)
    return live_sessions.go_live(made)


def polls_of(session: LiveSession) -> list[Poll]:
    return live_sessions.ordered_polls(session)


def join(
    session: LiveSession, client: Client | None = None, language: str = "en"
) -> tuple[Client, str]:
    """A phone loads the audience page (a new one unless a client is given)."""
    client = client or Client(enforce_csrf_checks=True)
    response = client.get(f"/s/{session.code}/", headers={"accept-language": language})
    assert response.status_code == 200
    return client, response.content.decode()


def token_of(page: str) -> str:
    found = _TOKEN.search(page)
    assert found is not None
    return found.group(1)


def vote(client: Client, page: str, poll: Poll, label: str, code: str) -> int:
    choice = poll.choices.get(label=label).pk
    data = {"csrfmiddlewaretoken": token_of(page), "choice": choice, "next": f"/s/{code}/"}
    return client.post(f"/polls/{poll.slug}/vote/", data).status_code


def test_a_new_phone_joining_a_kept_page_reads_no_postgres(session: LiveSession) -> None:
    join(session)  # the first phone's join draws the page and keeps it
    with CaptureQueriesContext(connection) as queries:
        client, page = join(session)
    assert [q["sql"] for q in queries.captured_queries] == []
    assert "Question 1?" in page
    assert audience.CSRF_PLACEHOLDER not in page  # every token is this phone's own
    # Its cookies as any page's: the voter, the CSRF token, and the code's join pass (its
    # socket's join then reads nothing either: tests/app/test_room_joins.py).
    assert {"voter", "csrftoken", "join_pass"} <= set(client.cookies)


def test_each_phone_gets_its_own_token_and_only_its_own_works(session: LiveSession) -> None:
    first = polls_of(session)[0]
    join(session)
    alice, alices_page = join(session)
    bob, bobs_page = join(session)
    assert token_of(alices_page) != token_of(bobs_page)
    # Every form on the page carries the phone's own token.
    assert set(_FORM_TOKEN.findall(alices_page)) == {token_of(alices_page)}
    # Bob's cookie with Alice's token: refused (403), as Django's CSRF check does.
    stolen = {
        "csrfmiddlewaretoken": token_of(alices_page),
        "choice": first.choices.get(label="Yes").pk,
    }
    assert bob.post(f"/polls/{first.slug}/vote/", stolen).status_code == 403
    assert vote(alice, alices_page, first, "Yes", session.code) == 303
    assert vote(bob, bobs_page, first, "No", session.code) == 303


def test_a_phone_that_voted_sees_its_ballot_and_the_next_phone_does_not(
    session: LiveSession,
) -> None:
    first = polls_of(session)[0]
    alice, page = join(session)
    assert vote(alice, page, first, "No", session.code) == 303
    _same, alices = join(session, alice)  # her cookies now: drawn for her
    assert "Change my vote" in alices
    assert 'class="your-vote' in alices
    assert f'value="{first.choices.get(label="No").pk}" required checked' in alices
    _bob, bobs = join(session)  # a new phone: the kept page, nothing of Alice's
    assert "Change my vote" not in bobs
    assert 'class="your-vote' not in bobs
    assert "checked" not in bobs
    assert token_of(alices) not in bobs


def test_the_kept_page_is_the_page_drawn_for_a_voter_with_nothing_yet(
    session: LiveSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    join(session)
    _new, kept = join(session)
    monkeypatch.setattr(audience, "kept", lambda code, language: None)  # nothing kept
    returning = Client()
    returning.get("/join")  # a voter cookie from the join page: drawn for this voter
    _again, drawn = join(session, returning)

    def tokens_out(html: str) -> list[str]:
        return re.sub(r'value="[A-Za-z0-9]{64}"', 'value="token"', html).split()

    assert tokens_out(kept) == tokens_out(drawn)


def test_a_phone_from_the_join_page_gets_the_kept_page_after_a_look_at_its_ballot(
    session: LiveSession,
) -> None:
    join(session)
    phone = Client(enforce_csrf_checks=True)
    phone.get("/join")  # typed the code: its voter cookie comes from there
    with CaptureQueriesContext(connection) as queries:
        _same, page = join(session, phone)
    read = [q["sql"] for q in queries.captured_queries]
    assert read  # its ballot, and nothing else
    assert all('FROM "polls_vote"' in sql for sql in read), read
    assert "Question 1?" in page
    assert 'class="your-vote' not in page


def test_a_phone_that_voted_sees_its_ballot_after_its_receipt_cookie_has_gone(
    session: LiveSession,
) -> None:
    first = polls_of(session)[0]
    join(session)
    alice, page = join(session)
    assert vote(alice, page, first, "Yes", session.code) == 303
    for name in ("receipt", "messages"):  # expired, or shown already
        alice.cookies.pop(name, None)
    _same, again = join(session, alice)
    assert "Change my vote" in again
    assert f'value="{first.choices.get(label="Yes").pk}" required checked' in again


def test_each_language_has_its_page(session: LiveSession) -> None:
    _en, english = join(session, language="en")
    _de, german = join(session, language="de")
    assert '<html lang="de">' in german
    assert "Frage 1 von 2" in german
    assert '<html lang="en">' in english
    assert "Question 1 of 2" in english
    with CaptureQueriesContext(connection) as queries:
        _de_again, german_again = join(session, language="de")
    assert queries.captured_queries == []
    assert "Frage 1 von 2" in german_again
    _en_again, english_again = join(session, language="en")
    assert "Question 1 of 2" in english_again


def test_a_presenters_move_lock_and_reveal_are_on_the_next_phones_page(
    session: LiveSession,
) -> None:
    join(session)
    session = live_sessions.move(session, step=1)
    _phone, page = join(session)
    assert "Question 2?" in page
    assert "Question 1?" not in page
    session = live_sessions.lock(session, locked=True)
    _phone, page = join(session)
    assert 'data-locked="1"' in page
    session = live_sessions.reveal(session, shown=True)
    _phone, page = join(session)
    assert 'id="results"' in page


def test_a_page_kept_from_a_read_before_a_change_is_not_served(session: LiveSession) -> None:
    join(session)
    before = audience.kept(session.code, "en")
    assert before is not None
    session = live_sessions.move(session, step=1)
    # A phone that read the session before the move keeps its page after it.
    audience.keep(session.pk, "en", before)
    _phone, page = join(session)
    assert "Question 2?" in page


def test_a_new_code_and_the_end_stop_the_old_codes_page(session: LiveSession) -> None:
    old = session.code
    join(session)
    session = live_sessions.new_code(session)
    assert Client().get(f"/s/{old}/").status_code == 404
    join(session)
    live_sessions.end(session)
    assert Client().get(f"/s/{session.code}/").status_code == 404
