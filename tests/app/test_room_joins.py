"""A room joining at once (issue 42): a phone that holds the session's join pass (its page
gave it) and connects while its results process already follows the session is sent the
state that process holds, with no read per phone (results.sessions: _Codes, _States);
the state stays the newest (an event replaces it), and once nobody follows the session
the next socket reads it again. Phones connecting together before anything is held share
one lookup of the code and one read of the state. A kept code stays kept while the
session's events say it is still the code; an end or a new code closes the next socket
with 4404 at once. A visitor without the pass is looked up every time."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels import consumer
from channels.generic import websocket as channels_websocket
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client

from polls import live_sessions, organising, ratelimits
from polls.live import events
from polls.models import LiveSession
from results import fanout, guard, sessions
from tests.support.live import run_async
from votingsite.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def session() -> LiveSession:
    owner = User.objects.create_user(f"olga-{uuid.uuid4().hex[:6]}")
    polls = [
        organising.create_poll(slug=f"j{n}-{uuid.uuid4().hex[:6]}", question=f"Question {n}?",
                               labels=["Yes", "No"], open_now=True)
        for n in (1, 2)
    ]  # fmt: skip
    made = live_sessions.create_session(title="Room", owner=owner, polls=polls)
    return live_sessions.go_live(made)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How many times the sockets looked the session up and read its state."""
    counted = {"session": 0, "state": 0}
    real_session, real_by_code, real_state = sessions._session, sessions._by_code, sessions._state

    async def session_lookup(*args: Any) -> Any:
        counted["session"] += 1
        return await real_session(*args)

    async def pass_holder_lookup(*args: Any) -> Any:
        counted["session"] += 1
        await asyncio.sleep(0.2)  # long enough for the phones connecting with it to ask too
        return await real_by_code(*args)

    async def state_read(*args: Any) -> Any:
        counted["state"] += 1
        await asyncio.sleep(0.2)
        return await real_state(*args)

    monkeypatch.setattr(sessions._Codes, "SECONDS", 60)  # a slow machine's test is one "moment"
    monkeypatch.setattr(sessions, "_session", session_lookup)
    monkeypatch.setattr(sessions, "_by_code", pass_holder_lookup)
    monkeypatch.setattr(sessions, "_state", state_read)
    return counted


def phone(code: str, with_pass: bool = True) -> WebsocketCommunicator:
    headers = [(b"origin", b"http://127.0.0.1:8000")]
    if with_pass:
        cookie = f"{ratelimits.JOIN_PASS_COOKIE}={ratelimits.join_pass(code)}"
        headers.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(application, f"/ws/s/{code}/", headers=headers)


async def state_of(ws: WebsocketCommunicator) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await ws.receive_from(timeout=15))
    assert message["type"] == "session"
    return message


async def close_code(ws: WebsocketCommunicator) -> int:
    """The code the socket is closed with. The end's own event may reach a socket that
    has just subscribed before its close (when the end was published is not ours to
    time): the page is then told "ended" twice, never that the session is live."""
    while True:
        output = await ws.receive_output(timeout=15)
        if output["type"] == "websocket.close":
            return int(output["code"])
        assert json.loads(output["text"])["state"] == LiveSession.State.ENDED


@run_async
async def test_phones_joining_a_followed_session_cost_no_read_each(
    session: LiveSession, reads: dict[str, int]
) -> None:
    first = phone(session.code)
    assert (await first.connect(timeout=15))[0]
    assert (await state_of(first))["position"] == 1
    assert reads == {"session": 1, "state": 1}

    room = [phone(session.code) for _ in range(5)]
    for ws in room:
        assert (await ws.connect(timeout=15))[0]
        assert (await state_of(ws))["position"] == 1
    assert reads == {"session": 1, "state": 1}, "the room's phones were sent what was held"

    # A move: everyone has it, and a phone that comes after it is sent it, still no read.
    await sync_to_async(live_sessions.move)(session, step=1)
    for ws in [first, *room]:
        assert (await state_of(ws))["position"] == 2
    late = phone(session.code)
    assert (await late.connect(timeout=15))[0]
    assert (await state_of(late))["position"] == 2
    assert reads == {"session": 1, "state": 1}

    # A visitor without the pass is looked up (and counted against its address) as ever.
    stranger = phone(session.code, with_pass=False)
    assert (await stranger.connect(timeout=15))[0]
    assert (await state_of(stranger))["position"] == 2
    assert reads["session"] == 2

    for ws in [first, *room, late, stranger]:
        await ws.disconnect(timeout=15)

    # Nobody follows the session here any more: what was held may be old, so it is read.
    again = phone(session.code)
    assert (await again.connect(timeout=15))[0]
    assert (await state_of(again))["position"] == 2
    assert reads["state"] == 2
    await again.disconnect(timeout=15)


async def a_room(session: LiveSession, size: int) -> list[WebsocketCommunicator]:
    """`size` phones of the session, connected, each past its first state."""
    room = [phone(session.code) for _ in range(size)]
    for ws in room:
        assert (await ws.connect(timeout=15))[0]
        await state_of(ws)
    return room


async def revealed(session: LiveSession, room: list[WebsocketCommunicator]) -> None:
    """The presenter reveals: each phone gets the state, then the question's results."""
    await sync_to_async(live_sessions.reveal)(session)
    for ws in room:
        assert (await state_of(ws))["reveal"] is True
        results = json.loads(await ws.receive_from(timeout=15))
        assert (results["type"], results["question"]) == ("results", "Question 1?")


@run_async
async def test_a_reveal_to_a_room_reads_the_poll_once_for_all_its_phones(
    session: LiveSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every phone starts following the poll's results at the reveal: they share one
    lookup of the poll (results.sessions._poll_id), then get the results."""
    lookups: list[str] = []
    real = sessions._read_poll_id

    async def counted(slug: str) -> int | None:
        lookups.append(slug)
        return await real(slug)

    monkeypatch.setattr(sessions, "_read_poll_id", counted)
    sessions._poll_ids.clear()
    room = await a_room(session, 8)
    await revealed(session, room)
    current = session.current_poll
    assert current is not None
    assert lookups == [current.slug]
    for ws in room:
        await ws.disconnect(timeout=15)


@run_async
async def test_a_room_connecting_at_once_looks_its_code_up_once_and_reads_the_state_once(
    session: LiveSession, reads: dict[str, int]
) -> None:
    """Nothing held yet (the process has just started, or the code lapsed): the phones
    that connect while the code is being looked up wait for that lookup, and those that
    need the state while it is being read wait for that read."""
    room = [phone(session.code) for _ in range(12)]
    connected = await asyncio.gather(*(ws.connect(timeout=15) for ws in room))
    assert all(ok for ok, _ in connected)
    for ws in room:
        assert (await state_of(ws))["position"] == 1
    assert reads == {"session": 1, "state": 1}
    for ws in room:
        await ws.disconnect(timeout=15)


@run_async
async def test_a_kept_code_lasts_while_the_session_is_followed_and_not_past_a_new_code(
    session: LiveSession, reads: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a phone follows the session here, its events keep the kept code true, however
    long ago it was looked up; a new code closes the next socket with the old one at once
    (4404: the page says the session is over), and the new code is looked up."""
    monkeypatch.setattr(sessions._Codes, "SECONDS", 0)  # no grace: only the events keep it
    follower = phone(session.code)
    assert (await follower.connect(timeout=15))[0]
    await state_of(follower)
    later = phone(session.code)
    assert (await later.connect(timeout=15))[0]
    assert (await state_of(later))["position"] == 1
    assert reads["session"] == 1, "the code followed through its events was kept"

    old = session.code
    session = await sync_to_async(live_sessions.new_code)(session)
    assert (await state_of(follower))["code"] == session.code  # the process heard it
    stale = phone(old)
    await stale.connect(timeout=15)
    assert await close_code(stale) == 4404
    renewed = phone(session.code)
    assert (await renewed.connect(timeout=15))[0]
    assert (await state_of(renewed))["code"] == session.code
    for ws in (follower, later, renewed):
        await ws.disconnect(timeout=15)


@run_async
async def test_a_phone_back_just_after_the_end_hears_the_session_is_over(
    session: LiveSession, reads: dict[str, int]
) -> None:
    """Its code was looked up a moment ago (kept), but the session has ended since: the
    socket closes with 4404, as for an unknown code, and the page says "ended". Nobody
    follows the session here, so the kept code is used and the state read says so."""
    first = phone(session.code)
    assert (await first.connect(timeout=15))[0]
    await state_of(first)
    await first.disconnect(timeout=15)
    await sync_to_async(live_sessions.end)(session)
    back = phone(session.code)
    await back.connect(timeout=15)
    assert await close_code(back) == 4404
    assert reads["session"] == 1, "the kept code was used"


@run_async
async def test_a_phone_back_after_the_end_of_a_followed_session_hears_it_is_over(
    session: LiveSession, reads: dict[str, int]
) -> None:
    """Another phone still follows the session here and has heard the end: the kept
    code is dropped with it, and the next socket is closed with 4404."""
    staying = phone(session.code)
    assert (await staying.connect(timeout=15))[0]
    await state_of(staying)
    await sync_to_async(live_sessions.end)(session)
    assert (await state_of(staying))["state"] == LiveSession.State.ENDED
    back = phone(session.code)
    await back.connect(timeout=15)
    assert await close_code(back) == 4404
    await staying.disconnect(timeout=15)


@run_async
async def test_who_a_phone_is_costs_no_database_turn_without_a_session_cookie(
    session: LiveSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A room's phones carry no log-in: who they are (anonymous) is known from their
    cookies alone, not asked of the one database thread they would all queue on, and
    their connect takes no turn there to clean up connections (Channels' dispatch does
    for every message). A page with a session cookie (the presenter's) is looked up."""
    asked: list[Any] = []
    real = guard.get_user

    async def counted(scope: Any) -> Any:
        asked.append(scope)
        return await real(scope)

    async def cleaned_up() -> None:
        asked.append("aclose_old_connections")

    monkeypatch.setattr(guard, "get_user", counted)
    monkeypatch.setattr(consumer, "aclose_old_connections", cleaned_up)
    room = [phone(session.code) for _ in range(3)]
    for ws in room:
        assert (await ws.connect(timeout=15))[0]
        await state_of(ws)
    assert asked == []

    owner = await sync_to_async(User.objects.get)(pk=session.owner_id)
    browser = Client()
    await sync_to_async(browser.force_login)(owner)
    cookie = f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}"
    presenter = WebsocketCommunicator(
        application,
        f"/ws/present/{session.code}/",
        headers=[(b"origin", b"http://127.0.0.1:8000"), (b"cookie", cookie.encode())],
    )
    assert (await presenter.connect(timeout=15))[0]
    assert (await state_of(presenter))["code"] == session.code  # not refused (4403)
    assert len(asked) == 1
    for ws in [*room, presenter]:
        await ws.disconnect(timeout=15)


@run_async
async def test_a_room_leaving_takes_no_database_turn_and_leaves_nothing_behind(
    session: LiveSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Channels' websocket_disconnect awaits a clean-up of database connections on the
    one database thread for every socket that closes: a room leaving at once queued there,
    every closed socket held in memory until its turn. A phone's close takes no turn, and
    once the room has left this process follows nothing of the session."""
    asked: list[str] = []

    async def cleaned_up() -> None:
        asked.append("aclose_old_connections")

    monkeypatch.setattr(consumer, "aclose_old_connections", cleaned_up)
    monkeypatch.setattr(channels_websocket, "aclose_old_connections", cleaned_up)
    room = [phone(session.code) for _ in range(4)]
    for ws in room:
        assert (await ws.connect(timeout=15))[0]
        await state_of(ws)
    await sync_to_async(live_sessions.reveal)(session)
    for ws in room:
        await state_of(ws)
        assert json.loads(await ws.receive_from(timeout=15))["type"] == "results"
    for ws in room:
        await ws.disconnect(timeout=15)
    assert asked == []
    poll = session.current_poll
    assert poll is not None
    assert events.session_group(session.pk) not in fanout._hubs
    assert events.group_name(poll.pk) not in fanout._hubs


@run_async
async def test_a_room_follows_the_revealed_poll_in_one_step_and_gets_its_results_once(
    session: LiveSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reveal moves every phone of the process to the poll's results together
    (results.sessions._Follows): one watch of the poll's group for the whole room, one
    read of its results serialised once, then one results message to each phone after its
    state. Hiding them takes the room out of the poll's hub in one step too, and a phone
    that leaves meanwhile is out of it once its socket has closed."""
    steps: list[tuple[str, str, int]] = []
    reads: list[str] = []
    real_watch_all, real_unwatch_all = fanout.watch_all, fanout.unwatch_all
    real_results = sessions._results

    async def watch_all(group: str, viewers: Any) -> None:
        viewers = list(viewers)
        steps.append(("watch", group, len(viewers)))
        await real_watch_all(group, viewers)

    async def unwatch_all(group: str, viewers: Any) -> None:
        viewers = list(viewers)
        steps.append(("unwatch", group, len(viewers)))
        await real_unwatch_all(group, viewers)

    async def results(slug: str) -> dict[str, Any] | None:
        reads.append(slug)
        return await real_results(slug)

    monkeypatch.setattr(fanout, "watch_all", watch_all)
    monkeypatch.setattr(fanout, "unwatch_all", unwatch_all)
    monkeypatch.setattr(sessions, "_results", results)
    poll = session.current_poll
    assert poll is not None
    group = events.group_name(poll.pk)
    room = await a_room(session, 8)

    await revealed(session, room)
    for ws in room:
        assert await ws.receive_nothing(timeout=0.2), "one results message each"
    assert [s for s in steps if s[1] == group] == [("watch", group, 8)]
    assert reads == [poll.slug]

    await room[0].disconnect(timeout=15)
    assert len(fanout._hubs[group].viewers) == 7, "the phone that left is out of the hub"

    await sync_to_async(live_sessions.reveal)(session, shown=False)
    for ws in room[1:]:
        assert (await state_of(ws))["reveal"] is False
    deadline = asyncio.get_running_loop().time() + 15
    while group in fanout._hubs and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.01)
    assert group not in fanout._hubs, "nobody follows the hidden results here"
    assert [s for s in steps if s[1] == group] == [
        ("watch", group, 8),
        ("unwatch", group, 1),
        ("unwatch", group, 7),
    ]
    for ws in room[1:]:
        await ws.disconnect(timeout=15)
