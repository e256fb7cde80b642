"""Join codes cannot be guessed: wrong codes (misses) are counted per address, per IPv6 /64
and for the whole site, across the audience's page, /join, the embed and the audience's
socket; past a budget every lookup from there answers 429 with Retry-After (the socket
closes 4429), a right code too. A right code never counts, and a browser that reached its
session before (its join pass) is never refused. Real Postgres and Redis."""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.test import Client, override_settings

from polls import live_sessions, organising
from polls.models import LiveSession
from tests.support.live import run_async
from votingsite.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)

SITE_KEY = "rl:join-miss:site"


@pytest.fixture
def live(redis_client: Any) -> Iterator[LiveSession]:
    owner = User.objects.create_user(f"o-{uuid.uuid4().hex[:8]}", password="pw-o-12345")
    poll = organising.create_poll(
        slug=f"g-{uuid.uuid4().hex[:6]}", question="Guess?", labels=["A", "B"], open_now=True
    )
    session = live_sessions.create_session(title="Guessing", owner=owner, polls=[poll])
    redis_client.delete(SITE_KEY)
    yield live_sessions.go_live(session)
    redis_client.delete(SITE_KEY)


def an_address() -> str:
    return f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"


def wrong(session: LiveSession) -> str:
    while True:
        code = f"{random.randrange(10**6):06d}"
        if code != session.code and not LiveSession.objects.filter(code=code).exists():
            return code


def client_from(address: str) -> Client:
    return Client(HTTP_X_FORWARDED_FOR=address)


def socket_from(address: str, code: str, **cookies: str) -> WebsocketCommunicator:
    headers = [(b"origin", b"http://127.0.0.1:8000"), (b"x-forwarded-for", address.encode())]
    if cookies:
        headers.append((b"cookie", "; ".join(f"{k}={v}" for k, v in cookies.items()).encode()))
    return WebsocketCommunicator(application, f"/ws/s/{code}/", headers=headers)


async def close_code(ws: WebsocketCommunicator) -> int | None:
    """The code the socket is closed with at once, or None when it is kept (a session's state
    arrives)."""
    await ws.connect(timeout=15)
    message = await ws.receive_output(timeout=15)
    await ws.disconnect()
    return message.get("code") if message["type"] == "websocket.close" else None


PER_ADDRESS = {
    "TRUSTED_PROXY_HOPS": 1,
    "JOIN_MISS_RATE_PER_ADDRESS": "6/m",
    "JOIN_MISS_RATE_PER_NETWORK": "1000/m",
    "JOIN_MISS_RATE_SITE": "1000/m",
}


@override_settings(**PER_ADDRESS)
@run_async
async def test_misses_from_one_address_on_every_door_are_counted_and_then_refused_with_429(
    live: LiveSession, caplog: pytest.LogCaptureFixture
) -> None:
    guesser, neighbour = an_address(), an_address()
    browser = client_from(guesser)
    get = sync_to_async(browser.get)
    post = sync_to_async(browser.post)
    for _ in range(10):  # a right code never counts
        assert (await get(f"/s/{live.code}/")).status_code == 200
    assert (await get(f"/s/{await sync_to_async(wrong)(live)}/")).status_code == 404
    assert (await get(f"/s/{await sync_to_async(wrong)(live)}/")).status_code == 404
    assert (await post("/join", {"code": await sync_to_async(wrong)(live)})).status_code == 404
    assert (await get("/join", {"code": await sync_to_async(wrong)(live)})).status_code == 404
    assert (await get(f"/embed/s/{await sync_to_async(wrong)(live)}/")).status_code == 404
    assert await close_code(socket_from(guesser, await sync_to_async(wrong)(live))) == 4404
    # Six misses: every lookup from there is refused now, the right code too.
    with caplog.at_level(logging.WARNING, logger="polls.ratelimits"):
        fresh = client_from(guesser)  # no join pass: a guesser keeps none
        for response in [
            await sync_to_async(fresh.get)(f"/s/{live.code}/"),
            await sync_to_async(fresh.post)("/join", {"code": live.code}),
            await sync_to_async(fresh.get)(f"/embed/s/{live.code}/"),
            await sync_to_async(fresh.get)(f"/s/{await sync_to_async(wrong)(live)}/"),
        ]:
            assert response.status_code == 429
            assert 1 <= int(response["Retry-After"]) <= 60
        assert await close_code(socket_from(guesser, live.code)) == 4429
    assert any(guesser in r.getMessage() for r in caplog.records)
    # Another address is not held up; the guesser's own browser kept its join pass.
    assert (await sync_to_async(client_from(neighbour).get)(f"/s/{live.code}/")).status_code == 200
    assert (await get(f"/s/{live.code}/")).status_code == 200
    join_pass = browser.cookies["join_pass"].value
    assert await close_code(socket_from(guesser, live.code, join_pass=join_pass)) is None


@override_settings(
    TRUSTED_PROXY_HOPS=1,
    JOIN_MISS_RATE_PER_ADDRESS="1000/m",
    JOIN_MISS_RATE_PER_NETWORK="4/m",
    JOIN_MISS_RATE_SITE="1000/m",
)
def test_ipv6_addresses_of_one_64_share_a_budget(live: LiveSession) -> None:
    net = f"2001:db8:{random.randrange(65536):x}:{random.randrange(65536):x}"
    for n in range(4):
        assert client_from(f"{net}::{n + 1}").get(f"/s/{wrong(live)}/").status_code == 404
    assert client_from(f"{net}::99").get(f"/s/{live.code}/").status_code == 429
    other = f"2001:db8:{random.randrange(65536):x}:ffff::1"
    assert client_from(other).get(f"/s/{live.code}/").status_code == 200


@override_settings(
    TRUSTED_PROXY_HOPS=1,
    JOIN_MISS_RATE_PER_ADDRESS="1000/m",
    JOIN_MISS_RATE_PER_NETWORK="1000/m",
    JOIN_MISS_RATE_SITE="5/m",
)
@run_async
async def test_a_distributed_guesser_spends_the_sites_budget_and_the_room_keeps_going(
    live: LiveSession,
) -> None:
    in_the_room = client_from(an_address())
    assert (await sync_to_async(in_the_room.get)(f"/s/{live.code}/")).status_code == 200
    for _ in range(5):  # five guessers, one miss each
        guess = await sync_to_async(wrong)(live)
        response = await sync_to_async(client_from(an_address()).get)(f"/s/{guess}/")
        assert response.status_code == 404
    late = await sync_to_async(client_from(an_address()).get)(f"/s/{live.code}/")
    assert late.status_code == 429
    # A phone that joined before reloads and reconnects as ever.
    assert (await sync_to_async(in_the_room.get)(f"/s/{live.code}/")).status_code == 200
    join_pass = in_the_room.cookies["join_pass"].value
    assert await close_code(socket_from(an_address(), live.code, join_pass=join_pass)) is None
    assert await close_code(socket_from(an_address(), live.code)) == 4429
