"""A room joining at once (issue 42): a phone that holds the session's join pass (its page
gave it) and connects while its results process already follows the session is sent the
state that process holds, with no read per phone (results.sessions: _Codes, _States);
the state stays the newest (an event replaces it), and once nobody follows the session
the next socket reads it again. A visitor without the pass is looked up every time."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User

from polls import live_sessions, organising, ratelimits
from polls.models import LiveSession
from results import sessions
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
    real_session, real_state = sessions._session, sessions._state

    async def session_lookup(*args: Any) -> Any:
        counted["session"] += 1
        return await real_session(*args)

    async def state_read(*args: Any) -> Any:
        counted["state"] += 1
        return await real_state(*args)

    monkeypatch.setattr(sessions._Codes, "SECONDS", 60)  # a slow machine's test is one "moment"
    monkeypatch.setattr(sessions, "_session", session_lookup)
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
        await ws.disconnect()

    # Nobody follows the session here any more: what was held may be old, so it is read.
    again = phone(session.code)
    assert (await again.connect(timeout=15))[0]
    assert (await state_of(again))["position"] == 2
    assert reads["state"] == 2
    await again.disconnect()


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
    room = [phone(session.code) for _ in range(8)]
    for ws in room:
        assert (await ws.connect(timeout=15))[0]
        await state_of(ws)
    await sync_to_async(live_sessions.reveal)(session)
    for ws in room:
        assert (await state_of(ws))["reveal"] is True
        results = json.loads(await ws.receive_from(timeout=15))
        assert (results["type"], results["question"]) == ("results", "Question 1?")
    current = session.current_poll
    assert current is not None
    assert lookups == [current.slug]
    for ws in room:
        await ws.disconnect()


@run_async
async def test_a_phone_back_just_after_the_end_hears_the_session_is_over(
    session: LiveSession, reads: dict[str, int]
) -> None:
    """Its code was looked up a moment ago (kept), but the session has ended since: the
    socket closes with 4404, as for an unknown code, and the page says "ended"."""
    first = phone(session.code)
    assert (await first.connect(timeout=15))[0]
    await state_of(first)
    await first.disconnect()
    await sync_to_async(live_sessions.end)(session)
    back = phone(session.code)
    await back.connect(timeout=15)
    assert reads["session"] == 1, "the kept code was used"
    closed = await back.receive_output(timeout=15)
    assert (closed["type"], closed["code"]) == ("websocket.close", 4404)
