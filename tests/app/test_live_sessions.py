"""Live sessions: the rules as a table of cases (current poll, lock, reveal, codes,
permissions), enforced where the vote is admitted and again by the worker, and the
session's socket following the presenter. Real Postgres and Redis throughout."""

from __future__ import annotations

import datetime
import json
import uuid
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Group, User
from django.test import Client, override_settings
from django.utils import timezone

from polls import gates, live_sessions, organising
from polls.models import LiveSession, Poll, Vote
from polls.pipeline.message import QueuedVote
from polls.pipeline.store import REJECT_SESSION_CLOSED, record_votes
from tests.support.live import run_async
from votingsite.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def owner() -> User:
    return User.objects.create_user("olga", password="pw-olga-1234")


@pytest.fixture
def session(owner: User) -> LiveSession:
    polls = [
        organising.create_poll(
            slug=f"s{n}-{uuid.uuid4().hex[:6]}", question=f"Question {n}?",
            labels=["Yes", "No"], open_now=True,
        )
        for n in (1, 2, 3)
    ]  # fmt: skip
    return live_sessions.create_session(title="All hands", owner=owner, polls=polls)


def polls_of(session: LiveSession) -> list[Poll]:
    return live_sessions.ordered_polls(session)


def vote(poll: Poll, client: Client | None = None, label: str = "Yes") -> Any:
    client = client or Client()
    choice = poll.choices.get(label=label).pk
    return client.post(
        f"/api/polls/{poll.slug}/vote", {"choice": choice}, content_type="application/json"
    )


_STATES = {gates.OPEN: "open", gates.SESSION_OPEN: "open", gates.WAITING: "waiting"}
_STATES |= {gates.LOCKED: "locked", gates.CLOSED: "closed"}


def gate_of(redis_client: Any, poll: Poll) -> str | None:
    """What Redis's copy says of the poll: open, waiting, locked or closed."""
    raw = redis_client.get(gates.key(poll.pk))
    return _STATES[gates.Gate.decode(raw).state] if raw else None


# --- The presenter's moves, and what a vote gets ------------------------------------------


@pytest.mark.usefixtures("own_queue")
@override_settings(RATELIMIT_ENABLE=False)
def test_only_the_current_unlocked_poll_takes_votes_and_the_refusal_says_why(
    session, redis_client
) -> None:
    first, second, third = polls_of(session)
    session = live_sessions.go_live(session)
    assert len(session.code) == 6
    assert session.code.isdigit()
    assert session.current_poll == first
    assert [gate_of(redis_client, p) for p in (first, second, third)] == [
        "open", "waiting", "waiting"
    ]  # fmt: skip

    assert vote(first).status_code == 202
    refused = vote(second)
    assert refused.status_code == 409
    assert "The presenter has moved on" in refused.json()["error"]

    live_sessions.lock(session)
    locked = vote(first)
    assert locked.status_code == 409
    assert "closed for now" in locked.json()["error"]
    live_sessions.lock(session, locked=False)
    assert vote(first).status_code == 202

    live_sessions.move(session, step=1)
    assert vote(first).status_code == 409
    assert vote(second).status_code == 202
    with pytest.raises(live_sessions.SessionError, match="first poll"):
        live_sessions.move(session, step=-2)


def test_the_worker_counts_a_sessions_vote_only_if_cast_while_its_poll_was_open(
    session, redis_client
) -> None:
    first, second, _ = polls_of(session)
    before = timezone.now() - datetime.timedelta(minutes=5)
    session = live_sessions.go_live(session)
    yes = first.choices.get(label="Yes").pk
    open_vote = QueuedVote(uuid.uuid4(), first.pk, yes, "anon:a", timezone.now())
    early_vote = QueuedVote(uuid.uuid4(), first.pk, yes, "anon:b", before)  # before live
    assert record_votes([open_vote, early_vote]).created == 2

    live_sessions.lock(session)
    late = timezone.now() + datetime.timedelta(seconds=30)  # beyond the clock margin
    outcome = record_votes([QueuedVote(uuid.uuid4(), first.pk, yes, "anon:c", late)])
    assert outcome.rejected == {REJECT_SESSION_CLOSED: 1}
    no = second.choices.get(label="No").pk
    outcome = record_votes([QueuedVote(uuid.uuid4(), second.pk, no, "anon:d", timezone.now())])
    assert outcome.rejected == {REJECT_SESSION_CLOSED: 1}  # never current yet
    assert Vote.objects.filter(poll=first).count() == 2


def test_ending_closes_the_polls_in_postgres_and_redis_and_frees_the_code(
    session, owner, redis_client
) -> None:
    session = live_sessions.go_live(session)
    code = session.code
    live_sessions.end(session)
    session.refresh_from_db()
    assert (session.state, session.code) == ("ended", "")
    assert all(p.state == "closed" for p in polls_of(session))
    assert all(gate_of(redis_client, p) == "closed" for p in polls_of(session))
    assert live_sessions.by_code(code) is None
    with pytest.raises(live_sessions.SessionError, match="not live"):
        live_sessions.move(session, step=1)


def test_a_new_code_replaces_the_old_and_codes_are_read_leniently(session) -> None:
    session = live_sessions.go_live(session)
    old = session.code
    spaced = f"{old[:3]} {old[3:]}"
    assert live_sessions.by_code(spaced) == session
    assert live_sessions.by_code(f"{old[:3]}-{old[3:]}") == session
    session = live_sessions.new_code(session)
    assert session.code != old
    assert live_sessions.by_code(old) is None
    assert live_sessions.by_code("12345") is None  # five digits: no code


def test_a_public_events_session_has_a_nine_digit_code_typed_in_groups_of_three(
    session, owner
) -> None:
    session.code_digits = LiveSession.CodeDigits.PUBLIC
    session.save()
    session = live_sessions.go_live(session)
    assert len(session.code) == 9
    assert session.code.isdigit()
    grouped = " ".join(session.code[i : i + 3] for i in (0, 3, 6))
    assert live_sessions.by_code(grouped) == session
    client = Client()
    joined = client.post("/join", {"code": grouped})
    assert joined["Location"] == f"/s/{session.code}/"
    client.force_login(owner)
    page = client.get(f"/present/{session.code}/").content.decode()
    assert f">{grouped}</strong>" in page  # the projector shows it in three groups
    assert len(live_sessions.new_code(session).code) == 9


def test_a_poll_takes_part_in_one_live_session_at_a_time(session, owner) -> None:
    live_sessions.go_live(session)
    other = live_sessions.create_session(title="Other", owner=owner, polls=polls_of(session)[:1])
    with pytest.raises(live_sessions.SessionError, match="another live session"):
        live_sessions.go_live(other)


# --- Joining and presenting -------------------------------------------------------------


def test_join_takes_the_code_and_says_clearly_when_it_is_wrong(session) -> None:
    session = live_sessions.go_live(session)
    client = Client()
    wrong = client.post("/join", {"code": "000000" if session.code != "000000" else "111111"})
    assert wrong.status_code == 404
    assert "No live session has that code" in wrong.content.decode()
    right = client.post("/join", {"code": session.code})
    assert right.status_code == 302
    assert right["Location"] == f"/s/{session.code}/"
    page = client.get(right["Location"])
    assert page.status_code == 200
    assert "Question 1?" in page.content.decode()


@pytest.mark.parametrize(
    ("who", "status"),
    [("anonymous", 302), ("stranger", 403), ("owner", 200), ("presenter", 200), ("staff", 200)],
)
def test_only_the_owner_staff_and_presenters_may_present(session, owner, who, status) -> None:
    session = live_sessions.go_live(session)
    client = Client()
    if who != "anonymous":
        user = owner if who == "owner" else User.objects.create_user(who, password="pw-x-12345")
        if who == "presenter":
            user.groups.add(Group.objects.get(name="Presenters"))
        if who == "staff":
            user.is_staff = True
            user.save()
        client.force_login(user)
    page = client.get(f"/present/{session.code}/")
    assert page.status_code == status
    control = client.post(f"/present/{session.code}/control", {"action": "next"})
    if status == 200:
        assert control.status_code == 302
        session.refresh_from_db()
        assert session.current_poll == polls_of(session)[1]
    else:
        assert control.status_code == status


def test_the_presenters_controls_answer_json_for_the_views_script(session, owner) -> None:
    session = live_sessions.go_live(session)
    client = Client()
    client.force_login(owner)
    url = f"/present/{session.code}/control"
    answer = client.post(url, {"action": "lock"}, HTTP_ACCEPT="application/json")
    assert answer.status_code == 200
    assert answer.json()["locked"] is True
    refused = client.post(url, {"action": "previous"}, HTTP_ACCEPT="application/json")
    assert refused.status_code == 409
    assert refused.json()["error"] == "This is the first poll."
    assert client.post(url, {"action": "dance"}).status_code == 400


@pytest.mark.usefixtures("own_queue")
@override_settings(VOTE_RATE_PER_IP="2/h", VOTE_RATE_PER_IP_IN_SESSION="1000/h")
def test_a_room_behind_one_address_is_not_refused_in_a_live_session(session, redis_client) -> None:
    redis_client.delete(*redis_client.keys("rl:*") or ["rl:none"])  # counts of earlier runs
    session = live_sessions.go_live(session)
    current = session.current_poll
    statuses = {vote(current, Client()).status_code for _ in range(6)}  # six phones
    assert statuses == {202}
    alone = organising.create_poll(slug="alone", question="?", labels=["Yes", "No"], open_now=True)
    assert [vote(alone, Client()).status_code for _ in range(3)] == [202, 202, 429]


# --- Embedding --------------------------------------------------------------------------


@override_settings(EMBED_FRAME_ANCESTORS=["https://slides.example.org"])
def test_embeds_are_framable_only_by_the_configured_sites(session) -> None:
    session = live_sessions.go_live(session)
    for url in (f"/embed/polls/{session.current_poll.slug}/", f"/embed/s/{session.code}/"):
        page = Client().get(url)
        assert page.status_code == 200
        assert "frame-ancestors https://slides.example.org" in page["Content-Security-Policy"]
        assert "X-Frame-Options" not in page
    other = Client().get(f"/polls/{session.current_poll.slug}/")
    assert other["X-Frame-Options"] == "DENY"


def test_by_default_no_site_may_frame_an_embed(session) -> None:
    session = live_sessions.go_live(session)
    page = Client().get(f"/embed/s/{session.code}/")
    assert "frame-ancestors 'none'" in page["Content-Security-Policy"]


# --- The session's socket ---------------------------------------------------------------


def session_socket(code: str, path: str = "s", **cookies: str) -> WebsocketCommunicator:
    headers = [(b"origin", b"http://127.0.0.1:8000")]
    if cookies:
        cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
        headers.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(application, f"/ws/{path}/{code}/", headers=headers)


async def receive(ws: WebsocketCommunicator) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await ws.receive_from(timeout=15))
    return message


@run_async
async def test_the_audience_socket_follows_the_presenter_and_shows_revealed_results(
    session: LiveSession, owner: User
) -> None:
    session = await sync_to_async(live_sessions.go_live)(session)
    ws = session_socket(session.code)
    assert (await ws.connect(timeout=15))[0]
    first = await receive(ws)
    assert (first["type"], first["position"], first["poll"]["question"]) == (
        "session", 1, "Question 1?"
    )  # fmt: skip

    await sync_to_async(live_sessions.move)(session, step=1)
    moved = await receive(ws)
    assert (moved["position"], moved["poll"]["question"], moved["locked"]) == (
        2, "Question 2?", False
    )  # fmt: skip

    await sync_to_async(live_sessions.reveal)(session)
    revealed = await receive(ws)
    assert revealed["reveal"] is True
    results = await receive(ws)  # the current poll's results follow once revealed
    assert (results["type"], results["question"]) == ("results", "Question 2?")
    await ws.disconnect()


@run_async
async def test_the_presenter_socket_refuses_others_and_counts_the_audience(
    session: LiveSession, owner: User
) -> None:
    session = await sync_to_async(live_sessions.go_live)(session)
    stranger = session_socket(session.code, path="present")
    await stranger.connect(timeout=15)
    closed = await stranger.receive_output(timeout=15)
    assert (closed["type"], closed["code"]) == ("websocket.close", 4403)

    client = Client()
    await sync_to_async(client.force_login)(owner)
    presenter = session_socket(
        session.code, path="present", sessionid=client.cookies["sessionid"].value
    )
    assert (await presenter.connect(timeout=15))[0]
    phones = [session_socket(session.code) for _ in range(3)]
    for phone in phones:
        await phone.connect(timeout=15)
    seen: list[int] = []
    while not seen or seen[-1] < 3:
        message = await receive(presenter)
        if message["type"] == "audience":
            seen.append(message["devices"])
    assert seen[-1] == 3
    for ws in [presenter, *phones]:
        await ws.disconnect()


@run_async
async def test_a_move_brings_each_phone_the_new_ballot_in_its_pages_language_and_no_other(
    session: LiveSession, owner: User
) -> None:
    """The session event carries the current question's part rendered once per language
    (polls.live.parts); each audience socket is sent its page's (results.sessions picks
    it: no request per phone, no read per socket); never a question still to come."""
    session = await sync_to_async(live_sessions.go_live)(session)
    headers = [(b"origin", b"http://127.0.0.1:8000")]
    german = WebsocketCommunicator(
        application, f"/ws/s/{session.code}/", headers=[*headers, (b"accept-language", b"de")]
    )
    french = WebsocketCommunicator(
        application, f"/ws/s/{session.code}/",
        headers=[*headers, (b"cookie", b"django_language=fr"), (b"accept-language", b"de")],
    )  # fmt: skip
    for ws in (german, french):
        assert (await ws.connect(timeout=15))[0]
        await receive(ws)

    await sync_to_async(live_sessions.move)(session, step=1)
    for ws, legend in ((german, "Ihre Stimme"), (french, "Votre vote")):
        moved = await receive(ws)
        assert moved["poll"]["question"] == "Question 2?"
        assert f"<legend>{legend}</legend>" in moved["ballot"]
        assert "Question 2?" in moved["ballot"]
        assert "Question 3?" not in json.dumps(moved)  # the next one stays on the server
        await ws.disconnect()


def test_the_ballot_a_phone_is_sent_is_the_part_the_server_draws_for_a_new_voter(
    session: LiveSession,
) -> None:
    from polls.live import parts
    from polls.selectors import session_state

    session = live_sessions.go_live(session)
    drawn = {
        language: part["ballot"]
        for language, part in parts.session_parts(session, session_state(session=session)).items()
    }
    assert set(drawn) == {"en", "de", "fr", "es"}
    page = Client().get(f"/s/{session.code}/?part=poll").content.decode()
    token = 'name="csrfmiddlewaretoken" value="'

    def without_token(html: str) -> str:
        start = html.index(token) + len(token)
        return html[:start] + html[html.index('"', start) :]

    assert without_token(drawn["en"]).split() == without_token(page).split()


@run_async
async def test_a_phone_that_connects_after_a_move_gets_the_ballot_its_process_holds(
    session: LiveSession,
) -> None:
    """A phone back from a lost connection (or a sync) on the state its results process
    was last sent: the ballot comes with it, in its language, picked from what the process
    holds (no fetch per phone); the presenter's socket carries none."""
    session = await sync_to_async(live_sessions.go_live)(session)
    origin = (b"origin", b"http://127.0.0.1:8000")
    watching = WebsocketCommunicator(application, f"/ws/s/{session.code}/", headers=[origin])
    assert (await watching.connect(timeout=15))[0]
    await receive(watching)
    await sync_to_async(live_sessions.move)(session, step=1)
    assert "ballot" in await receive(watching)  # this process has had the event

    spanish = WebsocketCommunicator(
        application, f"/ws/s/{session.code}/", headers=[origin, (b"accept-language", b"es")]
    )
    assert (await spanish.connect(timeout=15))[0]
    first = await receive(spanish)
    assert first["poll"]["question"] == "Question 2?"
    assert "<legend>Tu voto</legend>" in first["ballot"]
    for ws in (watching, spanish):
        await ws.disconnect()


@run_async
async def test_a_reveal_brings_each_phone_the_results_section_in_its_pages_language(
    session: LiveSession,
) -> None:
    """The presenter shows the results: the session event carries the results section per
    language, so phones swap it in without fetching their part; then the results follow."""
    session = await sync_to_async(live_sessions.go_live)(session)
    german = WebsocketCommunicator(
        application, f"/ws/s/{session.code}/",
        headers=[(b"origin", b"http://127.0.0.1:8000"), (b"accept-language", b"de")],
    )  # fmt: skip
    assert (await german.connect(timeout=15))[0]
    await receive(german)
    await sync_to_async(live_sessions.reveal)(session)
    revealed = await receive(german)
    assert revealed["reveal"] is True
    assert 'id="results"' in revealed["results_part"]
    assert "Ergebnisse" in revealed["results_part"]  # "Results", in the page's language
    assert "ballot" not in revealed
    assert (await receive(german))["type"] == "results"
    await german.disconnect()
